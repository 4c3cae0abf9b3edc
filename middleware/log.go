package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// statusWriter remembers the status code for the access log. Unwrap lets
// http.ResponseController reach the underlying writer's Flush and Hijack,
// which the reverse proxy needs for streaming and protocol upgrades.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// logAccess writes one line per request. It never logs the query string,
// cookies or headers: they carry codes, states and tokens.
func (a *Auth) logAccess(r *http.Request, id, route string, status int, d time.Duration, u *User) {
	a.metrics.request(route, status, d)
	if !a.log.Enabled(context.Background(), slog.LevelInfo) {
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
