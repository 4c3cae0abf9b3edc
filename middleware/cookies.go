package middleware

import (
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/sessions"
)

// cookie builds one of the middleware's cookies: HttpOnly, SameSite=Lax,
// Path=/, Secure unless InsecureCookies. A negative maxAge deletes it.
func (a *Auth) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	age := int(maxAge / time.Second)
	if maxAge < 0 {
		age = -1
	}
	return sessions.NewCookie(name, value, &sessions.Options{
		Path:     "/",
		MaxAge:   age,
		Secure:   !a.opts.InsecureCookies,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// hostPrefix is added to the names of Secure cookies: a browser then
// accepts the cookie only from this exact host, over https, for Path=/ and
// without a Domain attribute, so a sibling host (evil.example.com setting
// a cookie for .example.com) cannot plant one under the same name.
const hostPrefix = "__Host-"

// eachCookie calls fn with the value of every cookie called name, in the
// order the browser sent them, until fn returns true. It does not parse
// the other cookies of the request, which matters on the hot path.
// Several cookies may share a name (one planted for a parent domain, one
// set by us); callers keep looking until one is valid.
func eachCookie(h http.Header, name string, fn func(value string) bool) {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if ok && k == name && fn(strings.Trim(v, `"`)) {
				return
			}
		}
	}
}
