package demo

import (
	"html/template"
	"net/http"
	"sync"
	"time"
)

// RMS is the demo RMS: the upstream application behind the proxy and the
// page the Rezi login URL points to. It shows what it received, so a person
// or a test can see which identity headers and token arrived. It is safe for
// concurrent use.
type RMS struct {
	mux *http.ServeMux

	mu     sync.Mutex
	logins []Login
}

// Login is one visit of the RMS login page with a token.
type Login struct {
	// Token is the user token as received. It is a demo token, worthless
	// elsewhere, but tests should still not print it needlessly.
	Token                   string
	OpenOnboarding          string
	CloseOnboardingRedirect string
	Time                    time.Time
}

// NewRMS returns a demo RMS with no recorded logins.
func NewRMS() *RMS {
	m := &RMS{mux: http.NewServeMux()}
	m.mux.HandleFunc("GET /{$}", m.serveHome)
	m.mux.HandleFunc("GET /static/app.css", serveStatic("text/css; charset=utf-8", rmsCSS))
	m.mux.HandleFunc("GET /static/app.js", serveStatic("text/javascript; charset=utf-8", rmsJS))
	m.mux.HandleFunc("GET /login/{$}", m.serveLogin)
	m.mux.HandleFunc("GET /headers", serveHeaders)
	return m
}

// ServeHTTP serves the RMS pages.
func (m *RMS) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

// maxLogins bounds memory when a load test hits the login page.
const maxLogins = 1000

// Logins returns a copy of the recorded logins, oldest first. Only the most
// recent 1000 are kept.
func (m *RMS) Logins() []Login {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Login(nil), m.logins...)
}

const rmsCSS = `body {
  font-family: system-ui, sans-serif;
  background-color: rgb(230, 240, 250);
  color: rgb(20, 30, 60);
  margin: 2rem;
}
h1 { color: rgb(36, 86, 200); }
dt { font-weight: 600; margin-top: .75rem; }
dd { font-family: monospace; margin-left: 1rem; word-break: break-all; }
`

const rmsJS = `"use strict";
document.body.dataset.js = "loaded";
document.getElementById("js").textContent = "JS loaded";
`

var rmsPages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}}</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
</head>
<body>
{{end}}
{{define "home"}}{{template "head" "Demo RMS"}}<h1>Demo RMS</h1>
<p>This page stands in for the application behind the proxy. It shows the identity headers it received.</p>
<dl>
<dt>X-Forwarded-Email</dt><dd id="email">{{.Email}}</dd>
<dt>X-Forwarded-User</dt><dd id="uid">{{.UID}}</dd>
</dl>
<p id="js">JS not loaded</p>
</body>
</html>
{{end}}
{{define "login"}}{{template "head" "Signed in to the RMS"}}<h1>Signed in to the RMS</h1>
<p>The RMS received this login hand-off. The token is a demo token and is valid nowhere.</p>
<dl>
<dt>token</dt><dd id="token">{{.Token}}</dd>
<dt>openOnboarding</dt><dd id="openOnboarding">{{.OpenOnboarding}}</dd>
<dt>closeOnboardingRedirect</dt><dd id="closeOnboardingRedirect">{{.CloseOnboardingRedirect}}</dd>
</dl>
<p id="js">JS not loaded</p>
</body>
</html>
{{end}}
{{define "missing"}}{{template "head" "Missing token"}}<h1>Missing token</h1>
<p>The RMS login page needs a <code>token</code> query parameter.</p>
</body>
</html>
{{end}}
`))

func writeRMSPage(w http.ResponseWriter, status int, name string, data any) {
	renderPage(w, rmsPages, status, name, data, "default-src 'self'; frame-ancestors 'none'")
}

func (m *RMS) serveHome(w http.ResponseWriter, r *http.Request) {
	writeRMSPage(w, http.StatusOK, "home", struct{ Email, UID string }{
		r.Header.Get("X-Forwarded-Email"), r.Header.Get("X-Forwarded-User"),
	})
}

func (m *RMS) serveLogin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	l := Login{
		Token:                   q.Get("token"),
		OpenOnboarding:          q.Get("openOnboarding"),
		CloseOnboardingRedirect: q.Get("closeOnboardingRedirect"),
		Time:                    time.Now(),
	}
	if l.Token == "" {
		writeRMSPage(w, http.StatusBadRequest, "missing", nil)
		return
	}
	m.mu.Lock()
	if len(m.logins) >= maxLogins {
		m.logins = append(m.logins[:0], m.logins[1:]...)
	}
	m.logins = append(m.logins, l)
	m.mu.Unlock()
	writeRMSPage(w, http.StatusOK, "login", l)
}

func serveStatic(contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write([]byte(body))
	}
}

// serveHeaders answers with every request header received. Go keeps Host
// out of r.Header; it is added, since tests check how the proxy rewrote it.
func serveHeaders(w http.ResponseWriter, r *http.Request) {
	h := r.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if _, ok := h["Host"]; !ok && r.Host != "" {
		h["Host"] = []string{r.Host}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string][]string(h))
}
