package middleware

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// sessionCache remembers cookie values that were already opened and
// verified, so a signed-in user's every request does not pay for base64,
// AES and HMAC again. Only values that verified are stored, so a client
// sending random cookies cannot fill it; each entry's own expiry is
// checked on every hit, and an expired entry is dropped when found. It
// holds at most its size: when full, the least recently used value goes.
//
// It is golang-lru's simplelru under one mutex: a hit moves the entry to
// the front, so a read needs the lock exclusively anyway, and the expiry
// check and removal happen under that one lock. The expirable LRU
// (v2.0.7) is not used: it starts a goroutine per cache that cannot be
// stopped and costs more per put, while the session's own expiry already
// bounds how long an entry is honoured. Entries are pointers: copying a
// struct value out of the generic LRU on every hit costs about half as
// much again as the lookup itself.
type sessionCache struct {
	max int
	mu  sync.Mutex
	lru *simplelru.LRU[string, *cachedSession] // entries change only under mu
}

type cachedSession struct {
	user    *User
	expires time.Time
}

const sessionCacheSize = 10000

// newSessionCache returns a cache of at most max entries; max must be
// positive.
func newSessionCache(max int) *sessionCache {
	l, err := simplelru.NewLRU[string, *cachedSession](max, nil)
	if err != nil {
		panic("middleware: session cache: " + err.Error()) // max is a constant
	}
	return &sessionCache{max: max, lru: l}
}

// get returns the user of a cookie value verified before, if its session
// is still live at now.
func (c *sessionCache) get(value string, now time.Time) (*User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.lru.Get(value)
	if !ok {
		return nil, false
	}
	if !now.Before(s.expires) {
		c.lru.Remove(value)
		return nil, false
	}
	return s.user, true
}

// put remembers that value verified as u's session until expires. In a
// full cache the least recently used entry makes room and its record is
// reused, which saves an allocation on every cold check; should value
// already be cached (two requests verified it at once), that costs one
// entry more than needed, no harm.
func (c *sessionCache) put(value string, u *User, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s *cachedSession
	if c.lru.Len() >= c.max {
		_, s, _ = c.lru.RemoveOldest()
	}
	if s == nil {
		s = new(cachedSession)
	}
	s.user, s.expires = u, expires
	c.lru.Add(value, s)
}

// len reports the number of entries, expired or not.
func (c *sessionCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
