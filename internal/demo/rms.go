package demo

import (
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rezigate/rezigate/internal/pages"
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
	Token string
	// Email and UID are who the token says it is for, read from its
	// payload when it is a token of the Rezi stand-in; empty otherwise.
	// The uid is what the RMS keys the account on.
	Email, UID string
	// OpenOnboarding and CloseOnboardingRedirect are the options as
	// received; empty when not sent.
	OpenOnboarding          string
	CloseOnboardingRedirect string
	Time                    time.Time
}

// EducationPath is the demo RMS page that the demo's
// closeOnboardingRedirect names: where a person lands after closing the
// onboarding.
const EducationPath = "/dashboard/education"

// NewRMS returns a demo RMS with no recorded logins.
func NewRMS() *RMS {
	m := &RMS{mux: http.NewServeMux()}
	m.mux.HandleFunc("GET /{$}", m.serveHome)
	m.mux.HandleFunc("GET /static/app.css", serveStatic("text/css; charset=utf-8", rmsCSS))
	m.mux.HandleFunc("GET /static/app.js", serveStatic("text/javascript; charset=utf-8", rmsJS))
	m.mux.HandleFunc("GET /login/{$}", m.serveLogin)
	m.mux.HandleFunc("GET /headers", serveHeaders)
	m.mux.HandleFunc("GET "+EducationPath, serveEducation)
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
  margin: 0;
  line-height: 1.5;
}
header { background: rgb(36, 86, 200); color: #fff; padding: .75rem 2rem; font-weight: 600; display: flex; justify-content: space-between; align-items: center; }
header nav a { color: #fff; margin-left: 1.25rem; font-weight: 400; }
ol.steps { padding-left: 1.25rem; }
ol.steps li { margin: .5rem 0; }
main { max-width: 44rem; margin: 2rem auto; padding: 0 1rem; }
h1 { color: rgb(36, 86, 200); font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.75rem 0 .5rem; }
section { background: #fff; border-radius: 8px; padding: 1.25rem 1.5rem; box-shadow: 0 1px 3px rgba(0, 0, 0, .12); }
dl { margin: 0; }
dt { font-weight: 600; margin-top: .75rem; }
dt:first-child { margin-top: 0; }
dd { font-family: ui-monospace, monospace; margin: .1rem 0 0; word-break: break-all; }
.note { color: rgb(80, 90, 110); font-size: .9rem; }
a { color: rgb(36, 86, 200); }
`

// rmsJS only marks the page, so a test can see that scripts load through
// the proxy; it shows nothing.
const rmsJS = `"use strict";
document.body.dataset.js = "loaded";
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
<header><span>Demo RMS</span><nav><a id="home" href="/">Home</a><a id="sign-out" href="/oauth2/sign_out">Sign out</a></nav></header>
<main>
{{end}}
{{define "tail"}}</main>
</body>
</html>
{{end}}
{{define "home"}}{{template "head" "Demo RMS"}}<h1>Demo RMS</h1>
<p>This page stands in for the application behind the proxy. It shows the identity headers it received.</p>
<section>
<dl>
<dt>X-Forwarded-Email</dt><dd id="email">{{.Email}}</dd>
<dt>X-Forwarded-User</dt><dd id="uid">{{.UID}}</dd>
</dl>
</section>
{{template "tail"}}{{end}}
{{define "login"}}{{template "head" "Signed in to the RMS"}}<h1>Signed in to the RMS</h1>
{{if .Email}}<h2>Who arrived</h2>
<section>
<dl>
<dt>Email</dt><dd id="email">{{.Email}}</dd>
<dt>uid (the key of the RMS account)</dt><dd id="uid">{{.UID}}</dd>
</dl>
</section>
<p class="note">Read from the token's payload. Demo tokens are unsigned (alg "none"), so this is what the token claims, not something the demo RMS could verify; the real RMS accepts only tokens that Rezi's API issued.</p>
{{else}}<p class="note" id="unknown-token">This token was not issued by the demo Rezi API, so the demo RMS cannot tell whom it is for.</p>
{{end}}<h2>Hand-off received</h2>
<section>
<dl>
<dt>token</dt><dd id="token">{{.Token}}</dd>
{{with .OpenOnboarding}}<dt>openOnboarding</dt><dd id="openOnboarding">{{.}}</dd>
{{end}}{{with .CloseOnboardingRedirect}}<dt>closeOnboardingRedirect</dt><dd id="closeOnboardingRedirect">{{.}}</dd>
{{end}}</dl>
</section>
<p class="note">The token is a demo token and is valid nowhere else.</p>
{{template "tail"}}{{end}}
{{define "education"}}{{template "head" "Getting started"}}<h1>Getting started</h1>
<p>You closed the onboarding, so the RMS brought you here: the page its <code>closeOnboardingRedirect</code> names.</p>
<section>
<ol class="steps">
<li>Upload your résumé, or start one from a template.</li>
<li>Tailor it to a job posting.</li>
<li>Share it with your career coach for feedback.</li>
</ol>
</section>
<p class="note">A real RMS shows its own education dashboard here; this demo page only shows where the hand-off led.</p>
<p><a id="home-link" href="/">Go to the RMS home page</a></p>
{{template "tail"}}{{end}}
{{define "missing"}}{{template "head" "Missing token"}}<h1>Missing token</h1>
<p>The RMS login page needs a <code>token</code> query parameter.</p>
{{template "tail"}}{{end}}
`))

func writeRMSPage(w http.ResponseWriter, status int, name string, data any) {
	pages.RenderWithCSP(w, rmsPages, status, name, data, "default-src 'self'; frame-ancestors 'none'")
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
	l.Email, l.UID, _ = demoTokenClaims(l.Token)
	m.mu.Lock()
	if len(m.logins) >= maxLogins {
		m.logins = append(m.logins[:0], m.logins[1:]...)
	}
	m.logins = append(m.logins, l)
	m.mu.Unlock()
	writeRMSPage(w, http.StatusOK, "login", l)
}

// serveEducation is the page the demo's closeOnboardingRedirect names.
func serveEducation(w http.ResponseWriter, r *http.Request) {
	writeRMSPage(w, http.StatusOK, "education", nil)
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

// maxTokenLen bounds the token the RMS decodes; the stand-in's are a few
// hundred bytes.
const maxTokenLen = 4096

// demoTokenClaims reads whom a token of the Rezi stand-in is for from its
// payload, the middle part of the JWT-shaped token. It checks the shape
// (three parts, header alg "none", iss "rezi-demo", demo true, email and
// uid set) but cannot check a signature: demo tokens have none. Any other
// token reports ok false.
func demoTokenClaims(token string) (email, uid string, ok bool) {
	if len(token) > maxTokenLen {
		return "", "", false
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", "", false
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss   string `json:"iss"`
		UID   string `json:"uid"`
		Email string `json:"email"`
		Demo  bool   `json:"demo"`
	}
	if !decodeSegment(parts[0], &header) || header.Alg != "none" || !decodeSegment(parts[1], &claims) {
		return "", "", false
	}
	if claims.Iss != "rezi-demo" || !claims.Demo || claims.Email == "" || claims.UID == "" {
		return "", "", false
	}
	return claims.Email, claims.UID, true
}

func decodeSegment(seg string, v any) bool {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	return err == nil && json.Unmarshal(b, v) == nil
}
