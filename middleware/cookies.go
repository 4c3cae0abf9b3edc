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

// cookieValue returns the value of the cookie called name without parsing
// every cookie of the request, which matters on the hot path.
func cookieValue(h http.Header, name string) (string, bool) {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if ok && k == name {
				return strings.Trim(v, `"`), true
			}
		}
	}
	return "", false
}
