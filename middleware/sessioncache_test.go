package middleware

import (
	"strconv"
	"testing"
	"time"
)

func TestSessionCacheGet(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	u := &User{Email: "a@example.com", UID: "u"}
	tests := []struct {
		name     string
		put      bool
		expires  time.Time
		wantHit  bool
		wantLeft int // entries after the get
	}{
		{name: "live", put: true, expires: now.Add(time.Minute), wantHit: true, wantLeft: 1},
		{name: "at expiry", put: true, expires: now, wantLeft: 0},
		{name: "expired", put: true, expires: now.Add(-time.Second), wantLeft: 0},
		{name: "unknown", wantLeft: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newSessionCache(4)
			if tc.put {
				c.put("v", u, tc.expires)
			}
			got, ok := c.get("v", now)
			if ok != tc.wantHit || (ok && got != u) {
				t.Errorf("get(v) = %v, %v; want hit %v", got, ok, tc.wantHit)
			}
			if n := c.len(); n != tc.wantLeft {
				t.Errorf("len() after get = %d; want %d (an expired entry is dropped)", n, tc.wantLeft)
			}
		})
	}
}

// TestSessionCacheEvictsLeastRecentlyUsed: a full cache drops only the
// value used longest ago, not a batch of arbitrary ones, so signed-in
// users in use keep their cached sessions.
func TestSessionCacheEvictsLeastRecentlyUsed(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	u := &User{Email: "a@example.com", UID: "u"}
	c := newSessionCache(4)
	for _, v := range []string{"a", "b", "c", "d"} {
		c.put(v, u, now.Add(time.Minute))
	}
	if _, ok := c.get("a", now); !ok {
		t.Fatalf("get(a) = miss; want a hit")
	}
	c.put("e", u, now.Add(time.Minute)) // b is now the least recently used
	for _, tc := range []struct {
		value string
		want  bool
	}{{"a", true}, {"b", false}, {"c", true}, {"d", true}, {"e", true}} {
		if _, ok := c.get(tc.value, now); ok != tc.want {
			t.Errorf("get(%s) after a put into a full cache = %v; want %v", tc.value, ok, tc.want)
		}
	}
}

func TestSessionCacheBound(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	u := &User{Email: "a@example.com", UID: "u"}
	c := newSessionCache(4)
	for i := range 100 {
		c.put(strconv.Itoa(i), u, now.Add(time.Minute))
		if n := c.len(); n > 4 {
			t.Fatalf("after %d puts the cache holds %d entries; want at most 4", i+1, n)
		}
	}
	for i := 96; i < 100; i++ {
		if _, ok := c.get(strconv.Itoa(i), now); !ok {
			t.Errorf("get(%d) = miss; want the last 4 values kept", i)
		}
	}
}

func TestSessionCacheHitAllocs(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newSessionCache(sessionCacheSize)
	u := &User{Email: "a@example.com", UID: "u"}
	c.put("v", u, now.Add(time.Minute))
	if n := testing.AllocsPerRun(100, func() {
		if _, ok := c.get("v", now); !ok {
			t.Fatal("get(v) = miss")
		}
	}); n != 0 {
		t.Errorf("a cache hit allocates %v times; want 0", n)
	}
}

// BenchmarkSessionCheckParallel is BenchmarkSessionCheck from every core
// at once: all requests share the cache's lock.
func BenchmarkSessionCheckParallel(b *testing.B) {
	a := benchAuth(b)
	r := benchRequest(b, a)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok, _ := a.sessionUser(r); !ok {
				b.Error("not signed in")
				return
			}
		}
	})
}

// BenchmarkSessionCachePut is the cache's share of a cold session check:
// remembering a newly verified value in a full cache.
func BenchmarkSessionCachePut(b *testing.B) {
	c := newSessionCache(sessionCacheSize)
	u := &User{Email: "a@example.com", UID: "u"}
	values := make([]string, 2*sessionCacheSize)
	for i := range values {
		values[i] = "value-" + strconv.Itoa(i)
	}
	until := time.Now().Add(time.Hour)
	for _, v := range values[:sessionCacheSize] {
		c.put(v, u, until)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.put(values[i%len(values)], u, until)
		i++
	}
}
