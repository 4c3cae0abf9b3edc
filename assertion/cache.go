package assertion

import (
	"slices"
	"time"

	"github.com/rezigate/rezigate/internal/lru"
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
// check. It is an lru.Cache, whose doc says why not golang-lru's own
// caches; here also because the expirable LRU would read the wall clock
// instead of the Signer's clock.
type cache struct {
	lru *lru.Cache[cacheKey, cacheEntry]
}

// newCache returns a cache of at most size entries; size must be positive.
func newCache(size int) *cache {
	return &cache{lru: lru.New[cacheKey, cacheEntry](size)}
}

// get returns the assertion cached for k and groups if it may still be
// handed out at now. A stale entry, or one from before now (the clock
// went back), is dropped: the caller signs afresh.
func (c *cache) get(k cacheKey, groups []string, now time.Time) (string, bool) {
	e, ok := c.lru.GetIf(k, func(e cacheEntry) bool { return now.Before(e.until) && !now.Before(e.iat) })
	if !ok || !slices.Equal(e.groups, groups) {
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
	c.lru.Add(k, cacheEntry{groups: groups, token: token, iat: iat, until: until})
}

// len reports the number of entries, stale or not.
func (c *cache) len() int { return c.lru.Len() }
