package rezi

import (
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
