package assertion

import (
	"slices"
	"time"

	"github.com/rezigate/rezigate/internal/lru"
)

// cacheEntry is one cached assertion and the claims it was signed for.
// The cache is keyed by a hash of those claims (Signer.hashClaims); get
// compares the claims themselves, so two identities that share a hash
// never share an assertion.
type cacheEntry struct {
	subject, email string
	groups         []string
	token          string
	iat            time.Time // the token is not handed out before this
	until          time.Time // nor from this time on
}

// cache is a size-bounded LRU of signed assertions with per-entry expiry.
// Stale entries are dropped when found; the size bound keeps the rest in
// check. It is an lru.Cache, whose doc says why not golang-lru's own
// caches; here also because the expirable LRU would read the wall clock
// instead of the Signer's clock.
type cache struct {
	lru *lru.Cache[uint64, *cacheEntry] // pointers: a hit copies one word out, not the entry
}

// newCache returns a cache of at most size entries; size must be positive.
func newCache(size int) *cache {
	return &cache{lru: lru.New[uint64, *cacheEntry](size)}
}

// get returns the assertion cached under hash h for c, if it may still
// be handed out at now. A stale entry, or one from before now (the clock
// went back), is dropped: the caller signs afresh. An entry for other
// claims under the same hash is a miss.
func (c *cache) get(h uint64, cl Claims, now time.Time) (string, bool) {
	e, ok := c.lru.GetIf(h, func(e *cacheEntry) bool { return now.Before(e.until) && !now.Before(e.iat) })
	if !ok || e.subject != cl.Subject || e.email != cl.Email || !slices.Equal(e.groups, cl.Groups) {
		return "", false
	}
	return e.token, true
}

// put stores under hash h an assertion for cl, whose Groups the caller
// no longer modifies, usable from iat until until, evicting the least
// recently used entries beyond the size bound.
func (c *cache) put(h uint64, cl Claims, token string, iat, until time.Time) {
	if !iat.Before(until) {
		return // never reusable (Lifetime of a minute or less)
	}
	c.lru.Add(h, &cacheEntry{subject: cl.Subject, email: cl.Email, groups: cl.Groups, token: token, iat: iat, until: until})
}

// len reports the number of entries, stale or not.
func (c *cache) len() int { return c.lru.Len() }
