package oidc

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// MinKeyRefetchInterval is the shortest time between two fetches of the
// provider's JWK Set (jwks_uri), whatever triggers them. go-oidc fetches
// the set again whenever a token names a key it does not hold, or one
// whose signature does not verify, and a logout token reaches
// VerifyLogoutToken from anyone: without this bound, every forged post to
// the back-channel endpoint would cost the provider a JWKS request (Okta,
// for one, rate-limits that endpoint, and real sign-ins would then fail).
// Tokens signed by a key already fetched keep verifying; a key the
// provider has just rotated in is picked up at most this long after the
// previous fetch.
const MinKeyRefetchInterval = 10 * time.Second

// maxJWKSBytes bounds one JWK Set response: a few keys, never megabytes.
const maxJWKSBytes = 1 << 20

// errKeysFetchedRecently is a key-set fetch refused by the interval.
var errKeysFetchedRecently = errors.New("oidc: provider keys fetched less than 10s ago; not again yet")

// keyFetchLimiter is the transport of the client that fetches the JWK
// Set: it passes at most one request per MinKeyRefetchInterval to base
// and refuses the others at once, without a network call. go-oidc keeps
// the keys it fetched before when a fetch fails, so a refused refetch
// leaves known keys verifying.
type keyFetchLimiter struct {
	attempts atomic.Int64 // fetches asked for, passed or refused
	base     http.RoundTripper
	lim      *rate.Limiter    // safe for concurrent use
	now      func() time.Time // tests set it before the first fetch
}

func newKeyFetchLimiter(base http.RoundTripper) *keyFetchLimiter {
	if base == nil {
		base = http.DefaultTransport
	}
	return &keyFetchLimiter{base: base, lim: rate.NewLimiter(rate.Every(MinKeyRefetchInterval), 1), now: time.Now}
}

// RoundTrip implements http.RoundTripper.
func (l *keyFetchLimiter) RoundTrip(req *http.Request) (*http.Response, error) {
	l.attempts.Add(1)
	if !l.lim.AllowN(l.now(), 1) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errKeysFetchedRecently
	}
	resp, err := l.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = limitedBody{io.LimitReader(resp.Body, maxJWKSBytes), resp.Body}
	return resp, nil
}

// limitedBody reads at most maxJWKSBytes of a response and closes it.
type limitedBody struct {
	io.Reader
	io.Closer
}

// keysClient returns a client for the JWK Set fetches that goes through
// l and keeps c's timeout and redirect policy.
func (l *keyFetchLimiter) client(c *http.Client) *http.Client {
	return &http.Client{Transport: l, Timeout: c.Timeout, CheckRedirect: c.CheckRedirect}
}
