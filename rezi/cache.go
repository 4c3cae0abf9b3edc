package rezi

import (
	"container/list"
	"strconv"
	"sync"
	"time"
)

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
	key   userKey
	token string
	until time.Time
}

// tokenCache is a size-bounded LRU of user tokens with per-entry expiry.
// Expired entries are dropped when found; the size bound keeps the rest in
// check.
type tokenCache struct {
	mu    sync.Mutex
	size  int
	order *list.List // front is most recently used; values are *cacheEntry
	items map[userKey]*list.Element
}

func newTokenCache(size int) *tokenCache {
	return &tokenCache{size: size, order: list.New(), items: make(map[userKey]*list.Element)}
}

// get returns k's token if it is cached and still usable at now.
func (c *tokenCache) get(k userKey, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return "", false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.until) {
		c.order.Remove(el)
		delete(c.items, k)
		return "", false
	}
	c.order.MoveToFront(el)
	return e.token, true
}

// put stores k's token until the given time, evicting the least recently
// used entries beyond the size bound.
func (c *tokenCache) put(k userKey, token string, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		e := el.Value.(*cacheEntry)
		e.token, e.until = token, until
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&cacheEntry{key: k, token: token, until: until})
	for c.order.Len() > c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*cacheEntry).key)
	}
}

// len reports the number of entries, expired or not.
func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
