package redisstore

import "sync"

// maxOpened bounds openedCookies; when full, an arbitrary half is dropped.
const maxOpened = 10000

// openedCookies remembers the handles of cookie values that opened, so
// that a signed-in user's every request does not pay for base64, AES and
// HMAC again. Only values that verified are stored, so a client sending
// random cookies cannot fill it; whether the session exists and is live
// is still asked of Redis (or of the local cache, which Redis
// invalidates) on every Get.
type openedCookies struct {
	mu sync.RWMutex
	m  map[string]handle
}

func newOpenedCookies() *openedCookies {
	return &openedCookies{m: make(map[string]handle)}
}

func (o *openedCookies) get(cookie string) (handle, bool) {
	o.mu.RLock()
	h, ok := o.m[cookie]
	o.mu.RUnlock()
	return h, ok
}

func (o *openedCookies) put(cookie string, h handle) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.m) >= maxOpened {
		n := 0
		for k := range o.m { // map order is unspecified: an arbitrary half goes
			delete(o.m, k)
			if n++; n >= maxOpened/2 {
				break
			}
		}
	}
	o.m[cookie] = h
}
