package middleware

import (
	"fmt"
	"testing"
	"time"
)

func TestSessionCache(t *testing.T) {
	now := time.Now()
	c := newSessionCache(4)
	u := &User{Email: "a@example.com", UID: "u"}
	c.put("live", u, now.Add(time.Minute))
	c.put("expired", u, now.Add(-time.Second))
	if got, ok := c.get("live", now); !ok || got != u {
		t.Errorf("get(live) = %v, %v; want the user", got, ok)
	}
	if _, ok := c.get("expired", now); ok {
		t.Errorf("get(expired) = ok; want a miss")
	}
	if _, ok := c.get("unknown", now); ok {
		t.Errorf("get(unknown) = ok; want a miss")
	}
	for i := 0; i < 100; i++ {
		c.put(fmt.Sprint(i), u, now.Add(time.Minute))
		if len(c.m) > 4 {
			t.Fatalf("cache holds %d entries; want at most 4", len(c.m))
		}
	}
}
