package middleware

import (
	"time"

	"github.com/rezigate/rezigate/internal/lru"
)

// sessionCache remembers cookie values that were already opened and
// verified, so a signed-in user's every request does not pay for base64,
// AES and HMAC again. Only values that verified are stored, so a client
// sending random cookies cannot fill it; each entry's own expiry is
// checked on every hit, and an expired entry is dropped when found. It
// holds at most its size: when full, the least recently used value goes.
// It is an lru.Cache, whose doc says why not golang-lru's own caches.
// Entries are never changed once put.
type sessionCache struct {
	lru *lru.Cache[string, *cachedSession]
}

type cachedSession struct {
	user    *User
	expires time.Time
}

const sessionCacheSize = 10000

// newSessionCache returns a cache of at most max entries; max must be
// positive.
func newSessionCache(max int) *sessionCache {
	return &sessionCache{lru: lru.New[string, *cachedSession](max)}
}

// get returns the user of a cookie value verified before, if its session
// is still live at now; an expired entry is dropped.
func (c *sessionCache) get(value string, now time.Time) (*User, bool) {
	s, ok := c.lru.GetIf(value, func(s *cachedSession) bool { return now.Before(s.expires) })
	if !ok {
		return nil, false
	}
	return s.user, true
}

// put remembers that value verified as u's session until expires. In a
// full cache the least recently used entry makes room.
func (c *sessionCache) put(value string, u *User, expires time.Time) {
	c.lru.Add(value, &cachedSession{user: u, expires: expires})
}

// len reports the number of entries, expired or not.
func (c *sessionCache) len() int { return c.lru.Len() }
