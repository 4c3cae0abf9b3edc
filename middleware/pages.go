package middleware

import (
	"fmt"
	"html/template"
	"net/http"

	"github.com/rezigate/rezigate/internal/requestid"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}code{background:#f3f3f3;padding:.1rem .3rem}</style></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p>
<p><a href="/">Start page</a></p>
<p><small>Request id: <code>{{.ID}}</code></small></p></body></html>
`))

// errorPage answers with a status, a fixed message and the request id.
// It never includes error text: causes go to the log only.
func (a *Auth) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Location")
	w.WriteHeader(status)
	_ = page.Execute(w, struct{ Title, Message, ID string }{
		Title:   fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Message: msg,
		ID:      requestid.FromContext(r.Context()),
	})
}

// fail logs err with the request id and answers with errorPage.
func (a *Auth) fail(w http.ResponseWriter, r *http.Request, status int, msg string, err error) {
	a.log.Error("request failed", "request_id", requestid.FromContext(r.Context()), "path", r.URL.Path, "status", status, "err", err)
	a.errorPage(w, r, status, msg)
}

func (a *Auth) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	a.errorPage(w, r, http.StatusMethodNotAllowed, "This address does not accept that method.")
}
