package redisstore

import "github.com/rezigate/rezigate/internal/lru"

// maxOpened bounds openedCookies; when full, the value used longest ago
// goes.
const maxOpened = 10000

// openedCookies remembers the handles of cookie values that opened, so
// that a signed-in user's every request does not pay for base64, AES and
// HMAC again. Only values that verified are stored, so a client sending
// random cookies cannot fill it; whether the session exists and is live
// is still asked of Redis (or of the local cache, which Redis
// invalidates) on every Get. It is an lru.Cache, as the middleware's
// cache of opened session cookies is: under churn it drops one cold value
// at a time, not an arbitrary half of them, hot ones included.
type openedCookies struct {
	lru *lru.Cache[string, handle]
}

func newOpenedCookies() *openedCookies {
	return &openedCookies{lru: lru.New[string, handle](maxOpened)}
}

func (o *openedCookies) get(cookie string) (handle, bool) { return o.lru.Get(cookie) }

func (o *openedCookies) put(cookie string, h handle) { o.lru.Add(cookie, h) }
