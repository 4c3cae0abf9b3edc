package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// logAccess counts the request and writes one line for it, unless
// Options.NoAccessLog is set. It never logs the query string, cookies or
// headers: they carry codes, states and tokens.
func (a *Auth) logAccess(r *http.Request, id, route string, status int, d time.Duration, u *User) {
	a.metrics.Request(route, status, d)
	if a.opts.NoAccessLog || !a.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Duration("duration", d),
	}
	if u != nil {
		attrs = append(attrs, slog.String("uid", u.UID))
		if !a.opts.RedactEmail {
			attrs = append(attrs, slog.String("email", u.Email))
		}
	}
	a.log.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
}
