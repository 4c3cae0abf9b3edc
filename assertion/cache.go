package assertion

import (
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// cacheKey identifies whose assertion an entry holds. The group list is
// represented by its hash so the key stays comparable; entries keep the
// list itself and get compares it, so two lists that share a hash never
// share an assertion. Looking a key up allocates nothing.
type cacheKey struct {
	subject, email string
	groups         uint64
}

type cacheEntry struct {
	groups []string
	token  string
	iat    time.Time // the token is not handed out before this
	until  time.Time // nor from this time on
}

// cache is a size-bounded LRU of signed assertions with per-entry expiry.
// Stale entries are dropped when found; the size bound keeps the rest in
// check. It is golang-lru's simplelru under one mutex, as in package rezi:
// the staleness check and the removal happen under the same lock, and the
// expirable LRU would start a goroutine per cache and read the wall clock
// instead of the Signer's clock.
type cache struct {
	mu  sync.Mutex
	lru *simplelru.LRU[cacheKey, cacheEntry]
}

// newCache returns a cache of at most size entries; size must be positive.
func newCache(size int) *cache {
	l, err := simplelru.NewLRU[cacheKey, cacheEntry](size, nil)
	if err != nil {
		panic("assertion: cache: " + err.Error()) // size is a constant
	}
	return &cache{lru: l}
}

// get returns the assertion cached for k and groups if it may still be
// handed out at now.
func (c *cache) get(k cacheKey, groups []string, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(k)
	if !ok || !slices.Equal(e.groups, groups) {
		return "", false
	}
	if !now.Before(e.until) || now.Before(e.iat) {
		// Stale, or the clock went back: sign afresh.
		c.lru.Remove(k)
		return "", false
	}
	return e.token, true
}

// put stores an assertion for k, usable from iat until until, evicting the
// least recently used entries beyond the size bound. groups must not be
// modified afterwards.
func (c *cache) put(k cacheKey, groups []string, token string, iat, until time.Time) {
	if !iat.Before(until) {
		return // never reusable (Lifetime of a minute or less)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Add(k, cacheEntry{groups: groups, token: token, iat: iat, until: until})
}

// len reports the number of entries, stale or not.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
