package rezi

import (
	"context"
	"strconv"
	"time"

	"github.com/rezigate/rezigate/internal/lru"
)

// TokenCache keeps user tokens outside the Client, such as in a store
// that several replicas share. Implementations are safe for concurrent
// use. Tokens are secrets: an implementation must keep them as such.
type TokenCache interface {
	// Get returns the cached token of the user, if one is still usable.
	// An error means the cache could not answer; the Client then asks
	// Rezi as on a miss.
	Get(ctx context.Context, email, uid string) (token string, ok bool, err error)
	// Put caches the user's token until exp less the cache's own margin.
	// The exp given is already capped at the longest life the Client
	// trusts a token to have.
	Put(ctx context.Context, email, uid, token string, exp time.Time) error
}

// userKey identifies whose token an entry is. A struct key cannot be
// confused the way a joined string can ("a|b"+"c" vs "a"+"b|c"), and
// looking it up allocates nothing.
type userKey struct {
	email, uid string
}

// flightKey is the singleflight key for k: length-prefixed, so no two
// different users share one.
func (k userKey) flightKey() string {
	return strconv.Itoa(len(k.email)) + ":" + k.email + k.uid
}

type cacheEntry struct {
	token string
	until time.Time
}

// tokenCache is a size-bounded LRU of user tokens with per-entry expiry:
// an entry is handed out only before its own until, and an expired entry
// is dropped when found; the size bound keeps the rest in check.
//
// It is an lru.Cache, whose doc says why not golang-lru's own caches:
// the expiry check and the removal of an expired entry happen under one
// lock, so a fresh token put in between is never removed by mistake.
// Entries are never changed once put.
type tokenCache struct {
	size int // the bound, CacheSize or its default
	lru  *lru.Cache[userKey, *cacheEntry]
}

// newTokenCache returns a cache of at most size entries; size must be
// positive.
func newTokenCache(size int) *tokenCache {
	return &tokenCache{size: size, lru: lru.New[userKey, *cacheEntry](size)}
}

// get returns k's token if it is cached and still usable at now; an
// expired entry is dropped.
func (c *tokenCache) get(k userKey, now time.Time) (string, bool) {
	e, ok := c.lru.GetIf(k, func(e *cacheEntry) bool { return now.Before(e.until) })
	if !ok {
		return "", false
	}
	return e.token, true
}

// put stores k's token until the given time, evicting the least recently
// used entries beyond the size bound.
func (c *tokenCache) put(k userKey, token string, until time.Time) {
	c.lru.Add(k, &cacheEntry{token: token, until: until})
}

// len reports the number of entries, expired or not.
func (c *tokenCache) len() int { return c.lru.Len() }
