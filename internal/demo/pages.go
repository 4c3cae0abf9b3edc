package demo

import (
	"bytes"
	"html/template"
	"net/http"
)

// renderPage renders one of t's pages with headers that keep it out of
// caches and frames and keep its URL (which may carry state, nonce or a
// token) out of Referer headers. It renders into a buffer first, so a
// template error becomes a clean 500 rather than half a page.
func renderPage(w http.ResponseWriter, t *template.Template, status int, name string, data any, csp string) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", csp)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
