package rezi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rezigate/rezigate/internal/httpurl"
	"github.com/rezigate/rezigate/optionerr"
)

// Defaults applied by New to zero-valued Options fields, and the limits
// Validate enforces.
const (
	// DefaultAPIURL is the Rezi Open API base URL used when
	// Options.APIURL is empty.
	DefaultAPIURL = "https://open-api.rezi.ai/v1"
	// DefaultTimeout bounds a UserToken call when Options.Timeout is zero.
	DefaultTimeout = 10 * time.Second
	// MaxTimeout is the longest Options.Timeout accepted: a browser waits
	// on /rezi for the whole call.
	MaxTimeout = 2 * time.Minute
	// DefaultCacheSize is the token cache size when Options.CacheSize is
	// zero.
	DefaultCacheSize = 10000
	// DefaultCacheMargin is Options.CacheMargin when it is zero.
	DefaultCacheMargin = 5 * time.Minute
)

// maxTokenLife is the longest a token is ever trusted to live: the vendor
// documents its tokens as "valid for less than 1 hour", so a larger exp
// claim is not believed.
const maxTokenLife = time.Hour

// redacted replaces secrets wherever Options or a Client is printed.
const redacted = "REDACTED"

// Options configures a Client. The zero value is not usable: PrivateKey is
// required. Options holds the private key, so it prints the key as REDACTED
// with fmt and log/slog; copy it only into places that keep it secret.
type Options struct {
	// APIURL is the Rezi Open API base URL; the token endpoint is
	// APIURL + "/user/token". Empty means DefaultAPIURL. It must be an
	// absolute https URL without user info, query or fragment, because the
	// private key travels with every request; plain http is accepted only
	// for loopback hosts (127.0.0.0/8, ::1, localhost), for tests and demos.
	APIURL string

	// PrivateKey is the company's Rezi private API key, sent as
	// "Authorization: Bearer PrivateKey". Required. Anyone holding it can
	// sign in as any user of the RMS: it never appears in an error, a log
	// line or the printed form of Options.
	PrivateKey string

	// HTTPClient sends the requests. Nil means a client of the package's
	// own with dial, TLS-handshake and response-header timeouts and a
	// keep-alive pool. A given client is copied and its CheckRedirect
	// replaced so that redirects are never followed: a redirect would
	// resend the key to wherever the response points.
	HTTPClient *http.Client

	// Timeout bounds a whole UserToken call, including its one retry.
	// Zero means DefaultTimeout; negative or more than MaxTimeout is an
	// error. A new user's first token takes about 2s at Rezi, so keep it
	// well above that.
	Timeout time.Duration

	// CacheSize is the largest number of tokens kept in memory (least
	// recently used dropped first). Zero means DefaultCacheSize; negative
	// disables the cache, so every UserToken call asks Rezi.
	CacheSize int

	// CacheMargin is how long before its expiry a cached token stops being
	// handed out, so a user has time to use it. Zero means
	// DefaultCacheMargin; negative, or 1h (the vendor's longest token life)
	// or more, is an error.
	CacheMargin time.Duration

	// TokenCache, when not nil, replaces the in-memory cache (CacheSize is
	// then ignored), so that several replicas share their users' tokens.
	// Nil means the in-memory LRU of CacheSize tokens.
	TokenCache TokenCache

	// Logger receives retries and outcomes (never the key, the token or a
	// response body). Nil means slog.Default().
	Logger *slog.Logger

	// Observe, if not nil, is called once per call to the Rezi API with
	// its outcome ("ok", "api_error", "bad_response", "timeout",
	// "network_error") and its duration including any retry; concurrent
	// UserToken calls for the same user share one API call and count once.
	// A token served from the cache is reported as "cache_hit" with the
	// lookup's duration. It is called synchronously, so it must be fast.
	Observe func(outcome string, elapsed time.Duration)
}

// Validate reports every problem with o at once: errors.Join of
// *optionerr.Error values, one per field, each reading
// "rezi: Field: what is wrong". It does no network I/O and never includes
// the private key, or any other field's value, in its result.
func (o Options) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, optionerr.New("rezi", field, format, args...))
	}
	if msg := checkAPIURL(o.APIURL); msg != "" {
		add("APIURL", "%s", msg)
	}
	switch {
	case o.PrivateKey == "":
		add("PrivateKey", "required")
	case !validKey(o.PrivateKey):
		// The key is not quoted: a malformed key may still be mostly secret.
		add("PrivateKey", "must be the bare key, printable ASCII without spaces")
	}
	if o.Timeout < 0 {
		add("Timeout", "must not be negative")
	} else if o.Timeout > MaxTimeout {
		add("Timeout", "must be at most %v", MaxTimeout)
	}
	if o.CacheMargin < 0 {
		add("CacheMargin", "must not be negative")
	} else if o.CacheMargin >= maxTokenLife {
		add("CacheMargin", "must be shorter than %v, the longest token life", maxTokenLife)
	}
	return errors.Join(errs...)
}

// checkAPIURL returns what is wrong with an APIURL, or "".
func checkAPIURL(raw string) string {
	if raw == "" {
		return ""
	}
	if _, err := httpurl.Parse(raw, httpurl.RequireSecure|httpurl.NoQuery); err != nil {
		return err.Error()
	}
	return ""
}

// validKey rejects keys that cannot travel in a header unchanged, and the
// common paste mistake of including "Bearer " in the key.
func validKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] >= 0x7f {
			return false
		}
	}
	return true
}

// String formats o with the private key shown as REDACTED, so %v and %+v
// never print it.
func (o Options) String() string {
	return fmt.Sprintf("rezi.Options{APIURL:%q PrivateKey:%s Timeout:%v CacheSize:%d CacheMargin:%v}",
		safeURL(o.APIURL), redactedOrUnset(o.PrivateKey), o.Timeout, o.CacheSize, o.CacheMargin)
}

// GoString makes %#v as safe as %v.
func (o Options) GoString() string { return o.String() }

// LogValue implements slog.LogValuer: the private key is logged as REDACTED.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("api_url", safeURL(o.APIURL)),
		slog.String("private_key", redactedOrUnset(o.PrivateKey)),
		slog.Duration("timeout", o.Timeout),
		slog.Int("cache_size", o.CacheSize),
		slog.Duration("cache_margin", o.CacheMargin),
	)
}

func redactedOrUnset(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// safeURL hides any password in a URL that has not been validated yet.
func safeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return redacted
		}
		return raw
	}
	if u.User != nil {
		u.User = url.User(redacted)
	}
	return u.String()
}
