package middleware

import (
	"sync"
	"time"
)

// sessionCache remembers cookie values that were already opened and
// verified, so a signed-in user's every request does not pay for base64,
// AES and HMAC again. Only values that verified are stored, so a client
// sending random cookies cannot fill it; expiry is still checked on every
// hit. It is bounded: when full, an arbitrary half is dropped.
type sessionCache struct {
	mu  sync.RWMutex
	max int
	m   map[string]cachedSession
}

type cachedSession struct {
	user    *User
	expires time.Time
}

const sessionCacheSize = 10000

func newSessionCache(max int) *sessionCache {
	return &sessionCache{max: max, m: make(map[string]cachedSession)}
}

func (c *sessionCache) get(value string, now time.Time) (*User, bool) {
	c.mu.RLock()
	s, ok := c.m[value]
	c.mu.RUnlock()
	if !ok || !now.Before(s.expires) {
		return nil, false
	}
	return s.user, true
}

func (c *sessionCache) put(value string, u *User, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		n := 0
		for k := range c.m { // map order is unspecified: an arbitrary half goes
			delete(c.m, k)
			if n++; n >= c.max/2 {
				break
			}
		}
	}
	c.m[value] = cachedSession{u, expires}
}
