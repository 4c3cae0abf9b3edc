package rezi

import (
	"strconv"
	"testing"
	"time"
)

func TestTokenCache(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newTokenCache(2)
	a, b, d := userKey{"a", "1"}, userKey{"b", "1"}, userKey{"d", "1"}
	c.put(a, "ta", now.Add(time.Minute))
	c.put(b, "tb", now.Add(time.Minute))
	if got, ok := c.get(a, now); !ok || got != "ta" {
		t.Errorf("get(a) = %q, %v; want %q, true", got, ok, "ta")
	}
	c.put(d, "td", now.Add(time.Minute)) // evicts b: a was used more recently
	if got, ok := c.get(b, now); ok {
		t.Errorf("get(b) after eviction = %q, true; want a miss", got)
	}
	for k, want := range map[userKey]string{a: "ta", d: "td"} {
		if got, ok := c.get(k, now); !ok || got != want {
			t.Errorf("get(%v) = %q, %v; want %q, true", k, got, ok, want)
		}
	}
	c.put(a, "ta2", now.Add(2*time.Minute)) // replaces, does not grow
	if got, ok := c.get(a, now.Add(90*time.Second)); !ok || got != "ta2" {
		t.Errorf("get(a) after replace = %q, %v; want %q, true", got, ok, "ta2")
	}
	if got, ok := c.get(d, now.Add(time.Minute)); ok {
		t.Errorf("get(d) at its expiry = %q, true; want a miss", got)
	}
	if got := c.len(); got != 1 {
		t.Errorf("len() after an expired get = %d; want 1", got)
	}
}

func TestFlightKeyUnambiguous(t *testing.T) {
	pairs := [][2]userKey{
		{{"a|b", "c"}, {"a", "b|c"}},
		{{"ab", "c"}, {"a", "bc"}},
		{{"1:a", "b"}, {"1", ":ab"}},
	}
	for _, p := range pairs {
		if p[0].flightKey() == p[1].flightKey() {
			t.Errorf("flightKey(%v) = flightKey(%v) = %q; want different keys", p[0], p[1], p[0].flightKey())
		}
	}
}

// TestTokenCacheSize: CacheSize bounds the cache New builds, the least
// recently used token going first; zero means DefaultCacheSize and a
// negative size turns caching off.
func TestTokenCacheSize(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name      string
		cacheSize int
		wantSize  int // 0: no cache
	}{
		{"default", 0, DefaultCacheSize},
		{"one", 1, 1},
		{"three", 3, 3},
		{"off", -1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Options{PrivateKey: testKey, CacheSize: tc.cacheSize})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantSize == 0 {
				if c.cache != nil {
					t.Fatalf("New(CacheSize: %d) has a cache; want none", tc.cacheSize)
				}
				return
			}
			n := min(tc.wantSize, 10) + 5
			for i := range n {
				c.cache.put(userKey{"u@example.com", strconv.Itoa(i)}, "t", now.Add(time.Hour))
			}
			if got, want := c.cache.len(), min(n, tc.wantSize); got != want {
				t.Errorf("after %d puts len() = %d; want %d", n, got, want)
			}
			if _, ok := c.cache.get(userKey{"u@example.com", strconv.Itoa(n - 1)}, now); !ok {
				t.Errorf("get(last put) = miss; want a hit")
			}
			if tc.wantSize < n {
				if _, ok := c.cache.get(userKey{"u@example.com", strconv.Itoa(n - 1 - tc.wantSize)}, now); ok {
					t.Errorf("get(the put just beyond the bound) = hit; want it evicted")
				}
			}
		})
	}
}

func TestTokenCacheHitAllocs(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newTokenCache(DefaultCacheSize)
	k := userKey{"ada@example.com", "u1"}
	c.put(k, "t", now.Add(time.Hour))
	if n := testing.AllocsPerRun(100, func() {
		if _, ok := c.get(k, now); !ok {
			t.Fatal("get = miss")
		}
	}); n != 0 {
		t.Errorf("a cache hit allocates %v times; want 0", n)
	}
}
