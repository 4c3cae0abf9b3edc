// Package lru is the bounded map of rezigate's in-process caches: a
// least-recently-used map of at most a fixed number of entries, safe for
// concurrent use. It is golang-lru's simplelru under one mutex.
//
// Why not golang-lru's own thread-safe types: lru.Cache cannot check an
// entry and drop it under one lock, so a check that finds an entry stale
// could remove a fresh one put in between; the expirable LRU (v2.0.7)
// starts a goroutine per cache that cannot be stopped, adds bookkeeping
// to every put, and reads the wall clock instead of the caller's clock.
// A hit moves the entry to the front, so a read needs the lock
// exclusively anyway.
//
// Values are shared with every reader outside the lock: a caller must
// not change a value after Add, and puts a new one instead. Large values
// are best stored as pointers: copying a struct out of the generic LRU on
// every hit costs about half as much again as the lookup itself.
package lru

import (
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Cache is a least-recently-used map of at most its size entries. When
// full, an Add drops the entry used longest ago. The zero Cache is not
// usable: make one with New.
type Cache[K comparable, V any] struct {
	mu  sync.Mutex
	lru *simplelru.LRU[K, V] // used only under mu
}

// New returns an empty Cache of at most size entries. It panics if size
// is not positive: sizes are constants or validated options.
func New[K comparable, V any](size int) *Cache[K, V] {
	l, err := simplelru.NewLRU[K, V](size, nil)
	if err != nil {
		panic("lru: " + err.Error())
	}
	return &Cache[K, V]{lru: l}
}

// Get returns k's value and marks it as used.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Get(k)
}

// GetIf is Get for values that can go stale: when live(v) is false, it
// removes k and reports a miss, under the same lock, so a fresh value put
// meanwhile is never removed by mistake. live runs under the lock and
// must not use c.
func (c *Cache[K, V]) GetIf(k K, live func(V) bool) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.lru.Get(k)
	if ok && !live(v) {
		c.lru.Remove(k)
		var zero V
		return zero, false
	}
	return v, ok
}

// GetOrAdd returns k's value, adding newValue() first when there is
// none, so that concurrent callers for one key share one value. newValue
// runs under the lock and must not use c.
func (c *Cache[K, V]) GetOrAdd(k K, newValue func() V) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.lru.Get(k)
	if !ok {
		v = newValue()
		c.lru.Add(k, v)
	}
	return v
}

// Add sets k's value and marks it as used, dropping the least recently
// used entry when the cache is full.
func (c *Cache[K, V]) Add(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Add(k, v)
}

// Remove drops k, if present.
func (c *Cache[K, V]) Remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Remove(k)
}

// Len returns the number of entries, stale or not.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
