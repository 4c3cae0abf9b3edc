package middleware

import (
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/sessions"
)

// cookie builds one of the middleware's cookies: HttpOnly, SameSite=Lax,
// Path=/, Secure unless the session settings say InsecureCookies. A
// negative maxAge deletes it.
func (a *Auth) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	age := int(maxAge / time.Second)
	if maxAge < 0 {
		age = -1
	}
	return sessions.NewCookie(name, value, &sessions.Options{
		Path:     "/",
		MaxAge:   age,
		Secure:   !a.session.InsecureCookies,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

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
