// Package httpurl is the one rule for the absolute http and https URLs
// that rezigate is configured with or discovers: the provider's issuer and
// endpoints, the public and login URLs, the upstream, the Rezi API and the
// assertion key set.
//
// Every such URL is absolute, names a host, and carries no user name or
// password (which would end up in logs) and no fragment (which is never
// sent to a server). A Rule adds what a caller needs beyond that: plain
// http only towards a loopback host, where there is no network to
// eavesdrop on, and no query where the URL is a base that paths are
// appended to.
package httpurl

import (
	"errors"
	"net/url"
	"strings"

	"github.com/rezigate/rezigate/internal/loopback"
)

// Rule adds requirements to the ones every URL meets. The zero Rule
// accepts any absolute http or https URL with a host, without user info
// or fragment.
type Rule uint8

const (
	// RequireSecure accepts https, and plain http only towards a loopback
	// host (see Secure). Without it, plain http to any host is accepted.
	RequireSecure Rule = 1 << iota
	// NoQuery refuses a query, even an empty one ("…?"), for a base URL
	// that paths are appended to.
	NoQuery
)

// The errors Parse and Check return. Their text is a message for an
// *optionerr.Error ("must …") and never includes the URL.
var (
	ErrRequired    = errors.New("required")
	ErrNotAbsolute = errors.New("must be an absolute http or https URL with a host")
	ErrNotSecure   = errors.New("must be an absolute https URL (http only for a loopback host)")
	ErrUserInfo    = errors.New("must not contain a user name or password")
	ErrQuery       = errors.New("must not have a query or fragment")
	ErrFragment    = errors.New("must not have a fragment")
)

// Parse parses raw and checks it as Check does. It also refuses spaces
// and backslashes anywhere in raw, which browsers and Go read
// differently, and an empty fragment ("…#") or, with NoQuery, an empty
// query. An empty raw is ErrRequired.
func Parse(raw string, r Rule) (*url.URL, error) {
	if raw == "" {
		return nil, ErrRequired
	}
	u, err := url.Parse(raw)
	if err != nil || strings.ContainsAny(raw, " \\") {
		return nil, notAbsolute(r)
	}
	if err := Check(u, r); err != nil {
		return nil, err
	}
	// An empty query or fragment ("…?", "…#") leaves no trace in u.
	switch {
	case r&NoQuery != 0 && strings.ContainsAny(raw, "?#"):
		return nil, ErrQuery
	case strings.Contains(raw, "#"):
		return nil, ErrFragment
	}
	return u, nil
}

// Check returns what is wrong with u under rule r, or nil: u must be an
// absolute http or https URL with a non-empty host name, without user
// info or fragment, and meet r. A nil u is ErrRequired.
func Check(u *url.URL, r Rule) error {
	switch {
	case u == nil:
		return ErrRequired
	case u.Host == "" || u.Hostname() == "" || u.Opaque != "" || (u.Scheme != "http" && u.Scheme != "https"):
		return notAbsolute(r)
	case r&RequireSecure != 0 && !Secure(u):
		return ErrNotSecure
	case u.User != nil:
		return ErrUserInfo
	case r&NoQuery != 0 && (u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.RawFragment != ""):
		return ErrQuery
	case u.Fragment != "" || u.RawFragment != "":
		return ErrFragment
	}
	return nil
}

// Secure reports whether traffic to u is encrypted or never leaves the
// machine: u is https, or plain http towards a loopback host (see package
// loopback). Any other scheme is not secure.
func Secure(u *url.URL) bool {
	switch u.Scheme {
	case "https":
		return true
	case "http":
		return loopback.Host(u.Hostname())
	}
	return false
}

func notAbsolute(r Rule) error {
	if r&RequireSecure != 0 {
		return ErrNotSecure
	}
	return ErrNotAbsolute
}
