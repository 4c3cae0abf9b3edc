// Package rezi is a client for Rezi's "Custom Token" API: given a user's
// email and uid it returns a short-lived user token that signs the user in
// to the Rezi RMS at login_url?token=TOKEN.
//
// # Walkthrough
//
// Build one Client at start-up and share it:
//
//	c, err := rezi.New(rezi.Options{
//		PrivateKey: os.Getenv("REZIGATE_REZI_PRIVATE_KEY"),
//		Timeout:    10 * time.Second,
//	})
//
// New validates the options (Options.Validate lists every problem) and does
// no network I/O. Then, per request:
//
//	tok, err := c.UserToken(r.Context(), email, uid)
//	switch {
//	case errors.Is(err, rezi.ErrTimeout):
//		// answer 504
//	case err != nil:
//		// answer 502; log err (it is safe to log)
//	}
//
// UserToken sends
//
//	POST {APIURL}/user/token
//	Content-Type: application/json
//	Authorization: Bearer PRIVATE_KEY
//
//	{"email":"…","uid":"…"}
//
// and accepts only a 2xx answer of the form
// {"status":"success","token":"…"}. The vendor's header table names the
// header "Authentication", but its own curl example and the HTTP standard
// use Authorization, which is what is sent.
//
// # Failures
//
// A non-2xx answer, or a 2xx whose status is not "success", is an
// *APIError carrying the status code. A malformed, oversized (over 64 KiB)
// or tokenless answer, a refused or reset connection, and a timeout are
// plain errors; timeouts, whether of Options.Timeout or of the caller's
// context, match ErrTimeout. No error text contains the private key, a
// token or any part of a response body, so errors can be logged as they
// are but must still not be shown to end users.
//
// One retry is made, after a random pause of 100–300 ms, when the
// connection was refused or dropped or Rezi answered 502, 503 or 504, and
// only if enough of Options.Timeout is left for it. A 4xx is never retried:
// it would fail the same way, and a rejected key should not be hammered.
//
// # Cache and concurrency
//
// Tokens are cached in memory per (email, uid) in a least-recently-used
// cache of Options.CacheSize entries, until Options.CacheMargin before the
// exp claim of the token's JWT payload, and never longer than the vendor's
// one hour (ten minutes when exp cannot be read). The token's signature is
// not checked: it arrived from Rezi over TLS and exp only sets the cache
// lifetime. A returning user therefore gets the same token again without a
// call to Rezi.
//
// Concurrent UserToken calls for one user share a single API request
// (golang.org/x/sync/singleflight): ten simultaneous clicks by a new user,
// whose first token takes Rezi about two seconds, make one call. The shared
// request runs under its own Timeout, detached from the cancellation of the
// caller that started it, so one caller giving up does not fail the others;
// each caller still returns as soon as its own context is done.
//
// # Secrets
//
// Options and Client print and log the private key as REDACTED. Options
// rejects plain-http API URLs except on loopback, and the Client never
// follows redirects, so the key only ever travels over TLS to the
// configured host. Tokens are secrets too: the package never logs them.
package rezi
