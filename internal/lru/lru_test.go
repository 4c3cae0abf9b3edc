package lru

import (
	"strconv"
	"sync"
	"testing"
)

// TestEvictsLeastRecentlyUsed: a full cache drops only the entry used
// longest ago, and a Get counts as a use.
func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := New[string, int](3)
	c.Add("a", 1)
	c.Add("b", 2)
	c.Add("c", 3)
	if _, ok := c.Get("a"); !ok {
		t.Fatal("Get(a) = miss; want a hit")
	}
	c.Add("d", 4) // b is the least recently used
	for _, tc := range []struct {
		k    string
		want bool
	}{{"a", true}, {"b", false}, {"c", true}, {"d", true}} {
		if _, ok := c.Get(tc.k); ok != tc.want {
			t.Errorf("Get(%s) after an Add into a full cache = %v; want %v", tc.k, ok, tc.want)
		}
	}
	if n := c.Len(); n != 3 {
		t.Errorf("Len() = %d; want 3", n)
	}
}

func TestGetIf(t *testing.T) {
	tests := []struct {
		name     string
		add      bool
		live     bool
		wantHit  bool
		wantLeft int
	}{
		{"live", true, true, true, 1},
		{"stale is removed", true, false, false, 0},
		{"absent", false, true, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New[string, int](2)
			if tc.add {
				c.Add("k", 7)
			}
			v, ok := c.GetIf("k", func(int) bool { return tc.live })
			if ok != tc.wantHit || (ok && v != 7) {
				t.Errorf("GetIf(k) = %d, %v; want hit %v", v, ok, tc.wantHit)
			}
			if n := c.Len(); n != tc.wantLeft {
				t.Errorf("Len() after GetIf = %d; want %d", n, tc.wantLeft)
			}
		})
	}
}

// TestGetOrAddShares: concurrent callers for one key get one value.
func TestGetOrAddShares(t *testing.T) {
	c := New[string, *int](4)
	var wg sync.WaitGroup
	got := make([]*int, 8)
	for i := range got {
		wg.Go(func() { got[i] = c.GetOrAdd("k", func() *int { return new(int) }) })
	}
	wg.Wait()
	for i, p := range got {
		if p != got[0] {
			t.Fatalf("GetOrAdd #%d returned another value than #0", i)
		}
	}
}

func TestRemove(t *testing.T) {
	c := New[int, string](2)
	c.Add(1, "x")
	c.Remove(1)
	c.Remove(2) // absent: nothing happens
	if _, ok := c.Get(1); ok || c.Len() != 0 {
		t.Errorf("after Remove: Get(1) = %v, Len() = %d; want a miss and 0", ok, c.Len())
	}
}

func TestBound(t *testing.T) {
	c := New[string, int](4)
	for i := range 100 {
		c.Add(strconv.Itoa(i), i)
		if n := c.Len(); n > 4 {
			t.Fatalf("after %d adds Len() = %d; want at most 4", i+1, n)
		}
	}
}

func TestNewPanicsOnNonPositiveSize(t *testing.T) {
	for _, size := range []int{0, -1} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%d) did not panic", size)
				}
			}()
			New[string, int](size)
		})
	}
}

func TestHitAllocs(t *testing.T) {
	c := New[string, *int](4)
	c.Add("k", new(int))
	limit := 5
	if n := testing.AllocsPerRun(100, func() {
		if _, ok := c.GetIf("k", func(*int) bool { return limit > 0 }); !ok {
			t.Fatal("GetIf(k) = miss")
		}
	}); n != 0 {
		t.Errorf("a hit allocates %v times; want 0", n)
	}
}
