// Package storecheck holds the rules that every session store applies to
// its options and to the sessions it is given, so each is written once.
package storecheck

import (
	"strconv"
	"strings"
	"time"

	"github.com/rezigate/rezigate/internal/httptoken"
	"github.com/rezigate/rezigate/internal/session"
)

// MinSecretLen is the shortest session secret accepted, in bytes.
const MinSecretLen = session.MinSecretLen

// Secrets returns one *optionerr.Error of package pkg, field "Secrets" or
// "Secrets[i]", for each problem: none given, or one shorter than
// MinSecretLen (session.CheckSecrets). The messages never include a
// secret.
func Secrets(pkg string, secrets [][]byte) []error {
	return session.CheckSecrets(pkg, "Secrets", secrets)
}

// MaxCookieName is the longest cookie name accepted, without the
// "__Host-" prefix that rezigate puts on Secure cookies.
const MaxCookieName = 64

// CookieName returns what is wrong with a session cookie name as
// configured (before any prefix), or "": it must be a non-empty RFC 6265
// token of at most MaxCookieName bytes, not starting with "__" (the
// "__Host-" prefix is rezigate's to add).
func CookieName(name string) string {
	const msg = "must be 1 to 64 letters, digits or any of !#$%&'*+-.^_`|~"
	if name == "" || len(name) > MaxCookieName {
		return msg
	}
	if !httptoken.Valid(name) {
		return "must be a cookie token (" + httptoken.Chars + ")"
	}
	if strings.HasPrefix(name, "__") {
		return "must not start with __ (the __Host- prefix is added unless InsecureCookies is set)"
	}
	return ""
}

// Redacted is what a secret prints as.
const Redacted = "REDACTED"

// RedactSecrets formats a list of secrets as their count only, e.g.
// "[2 REDACTED]", or "[]" when there are none.
func RedactSecrets(secrets [][]byte) string {
	if len(secrets) == 0 {
		return "[]"
	}
	return "[" + strconv.Itoa(len(secrets)) + " " + Redacted + "]"
}

// Put returns what makes a session with this uid and expiry unfit to be
// stored at now by a store whose sessions last at most maxAge, or "": an
// empty uid, an expiry not after now, or one more than maxAge away.
func Put(uid string, expires, now time.Time, maxAge time.Duration) string {
	switch {
	case uid == "":
		return "UID is empty"
	case !expires.After(now):
		return "Expires is not in the future"
	case expires.Sub(now) > maxAge:
		return "Expires is more than the maximum age (" + maxAge.String() + ") away"
	}
	return ""
}
