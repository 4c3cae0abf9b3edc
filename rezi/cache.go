package rezi

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
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
// It is golang-lru's simplelru under one mutex rather than lru.Cache or
// the expirable LRU: the expiry check and the removal of an expired entry
// happen under the same lock, so a fresh token put in between is never
// removed by mistake; and the expirable LRU (v2.0.7) starts a goroutine
// per cache that cannot be stopped, adds bucket bookkeeping to every put,
// and reads the wall clock itself instead of the client's clock. Entries
// are pointers: copying a struct value out of the generic LRU on every
// hit costs about half as much again as the lookup itself.
type tokenCache struct {
	size int // the bound, CacheSize or its default
	mu   sync.Mutex
	lru  *simplelru.LRU[userKey, *cacheEntry] // entries change only under mu
}

// newTokenCache returns a cache of at most size entries; size must be
// positive.
func newTokenCache(size int) *tokenCache {
	l, err := simplelru.NewLRU[userKey, *cacheEntry](size, nil)
	if err != nil {
		panic("rezi: token cache: " + err.Error()) // size is checked by New
	}
	return &tokenCache{size: size, lru: l}
}

// get returns k's token if it is cached and still usable at now.
func (c *tokenCache) get(k userKey, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(k)
	if !ok {
		return "", false
	}
	if !now.Before(e.until) {
		c.lru.Remove(k)
		return "", false
	}
	return e.token, true
}

// put stores k's token until the given time, evicting the least recently
// used entries beyond the size bound.
func (c *tokenCache) put(k userKey, token string, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.lru.Get(k); ok {
		e.token, e.until = token, until
		return
	}
	c.lru.Add(k, &cacheEntry{token: token, until: until})
}

// len reports the number of entries, expired or not.
func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
