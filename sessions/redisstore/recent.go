package redisstore

import (
	"sync"
	"sync/atomic"
	"time"
)

// maxRecent bounds recentWrites; past it, every key counts as recent
// until the local cache's TTL has passed, which is slower but never stale.
// This is why recentWrites is not an lru.Cache: an LRU would forget a
// write still within the TTL, and a Get could then read a stale copy.
const maxRecent = 4096

// recentWrites remembers the session keys this store changed or deleted
// within the local cache's TTL, so that its own Get reads them from Redis
// instead of from a local copy. Redis does invalidate that copy, but its
// message may travel on another connection and arrive a moment after the
// write returned; without this, a Get right after a Delete on the same
// replica could still find the session.
type recentWrites struct {
	ttl time.Duration
	// until is the latest moment any entry (or the overflow) lasts, in
	// Unix nanoseconds: once past, has answers without the lock.
	until atomic.Int64

	mu       sync.RWMutex
	m        map[string]time.Time
	overflow time.Time
}

func newRecentWrites(ttl time.Duration) *recentWrites {
	return &recentWrites{ttl: ttl, m: make(map[string]time.Time)}
}

// add marks keys as written at now.
func (r *recentWrites) add(now time.Time, keys ...string) {
	if r.ttl <= 0 || len(keys) == 0 {
		return
	}
	until := now.Add(r.ttl)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		if len(r.m) >= maxRecent {
			for k, u := range r.m {
				if !now.Before(u) {
					delete(r.m, k)
				}
			}
		}
		if len(r.m) >= maxRecent {
			r.overflow = until
			clear(r.m)
			break
		}
		r.m[k] = until
	}
	r.until.Store(until.UnixNano())
}

// has reports whether key was written within the TTL before now.
func (r *recentWrites) has(key string, now time.Time) bool {
	if now.UnixNano() >= r.until.Load() {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if now.Before(r.overflow) {
		return true
	}
	u, ok := r.m[key]
	return ok && now.Before(u)
}
