package demo

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func serveRMS(m *RMS, method, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	w := httptest.NewRecorder()
	m.ServeHTTP(w, req)
	return w
}

func TestRMSHome(t *testing.T) {
	m := NewRMS()
	tests := []struct {
		name, email, uid string
		wantEmail        string // as it must appear in the HTML
		wantUID          string
	}{
		{"plain", "alice@example.com", "ab12", `<dd id="email">alice@example.com</dd>`, `<dd id="uid">ab12</dd>`},
		{"markup", `<script>alert(1)</script>`, `"><img src=x>`,
			`<dd id="email">&lt;script&gt;alert(1)&lt;/script&gt;</dd>`, `<dd id="uid">&#34;&gt;&lt;img src=x&gt;</dd>`},
		{"none", "", "", `<dd id="email"></dd>`, `<dd id="uid"></dd>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.email != "" {
				h.Set("X-Forwarded-Email", tc.email)
				h.Set("X-Forwarded-User", tc.uid)
			}
			w := serveRMS(m, http.MethodGet, "/", h)
			body := w.Body.String()
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
				t.Fatalf("GET / = %d %q; want 200 HTML", w.Code, w.Header().Get("Content-Type"))
			}
			for _, want := range []string{tc.wantEmail, tc.wantUID, "<title>Demo RMS</title>",
				`href="/static/app.css"`, `src="/static/app.js"`} {
				if !strings.Contains(body, want) {
					t.Errorf("GET / (%s) lacks %q in %s", tc.name, want, body)
				}
			}
			if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img") {
				t.Errorf("GET / (%s) contains unescaped header markup", tc.name)
			}
			if strings.Contains(body, "JS not loaded") {
				t.Errorf("GET / (%s) shows a script-loading line meant for tests", tc.name)
			}
		})
	}
}

func TestRMSStatic(t *testing.T) {
	m := NewRMS()
	tests := []struct{ path, contentType, contains string }{
		{"/static/app.css", "text/css; charset=utf-8", "body {"},
		{"/static/app.js", "text/javascript; charset=utf-8", `document.body.dataset.js = "loaded"`},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			w := serveRMS(m, http.MethodGet, tc.path, nil)
			if w.Code != 200 || w.Header().Get("Content-Type") != tc.contentType || !strings.Contains(w.Body.String(), tc.contains) {
				t.Errorf("GET %s = %d %q %q; want 200 %q containing %q", tc.path, w.Code, w.Header().Get("Content-Type"), w.Body.String(), tc.contentType, tc.contains)
			}
		})
	}
	if js := serveRMS(m, http.MethodGet, "/static/app.js", nil).Body.String(); strings.Contains(js, "textContent") || strings.Contains(js, "JS loaded") {
		t.Errorf("app.js = %q; want it to mark the body only, showing nothing", js)
	}
}

func TestRMSLogin(t *testing.T) {
	m := NewRMS()
	now := time.Now()
	demoTok, err := fakeToken("alice@example.com", "ab12cd", now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		query     url.Values
		status    int
		want      []string
		unwanted  []string
		wantEmail string // who the recorded login is for
		wantUID   string
	}{
		{"all options", url.Values{"token": {"tok.en"}, "openOnboarding": {"true"}, "closeOnboardingRedirect": {"/dashboard/education"}}, 200,
			[]string{"<title>Signed in to the RMS</title>", `<dd id="token">tok.en</dd>`, `<dd id="openOnboarding">true</dd>`,
				`<dd id="closeOnboardingRedirect">/dashboard/education</dd>`}, nil, "", ""},
		{"token only shows no empty options", url.Values{"token": {"t"}}, 200, []string{`<dd id="token">t</dd>`},
			[]string{"openOnboarding", "closeOnboardingRedirect"}, "", ""},
		{"openOnboarding false is an option set", url.Values{"token": {"t"}, "openOnboarding": {"false"}}, 200,
			[]string{`<dd id="openOnboarding">false</dd>`}, []string{"closeOnboardingRedirect"}, "", ""},
		{"token of the Rezi stand-in names who arrived", url.Values{"token": {demoTok}}, 200,
			[]string{`<dd id="email">alice@example.com</dd>`, `<dd id="uid">ab12cd</dd>`, "unsigned"}, []string{`id="unknown-token"`},
			"alice@example.com", "ab12cd"},
		{"other token names nobody", url.Values{"token": {"a.b.c"}}, 200, []string{`id="unknown-token"`}, []string{`id="email"`, `id="uid"`}, "", ""},
		{"markup", url.Values{"token": {"<i>x</i>"}}, 200, []string{`<dd id="token">&lt;i&gt;x&lt;/i&gt;</dd>`}, nil, "", ""},
		{"no token", url.Values{"openOnboarding": {"true"}}, 400, []string{"Missing token"}, nil, "", ""},
		{"empty token", url.Values{"token": {""}}, 400, []string{"Missing token"}, nil, "", ""},
	}
	recorded := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			w := serveRMS(m, http.MethodGet, "/login/?"+tc.query.Encode(), nil)
			body := w.Body.String()
			if w.Code != tc.status {
				t.Errorf("GET /login/?%s = %d; want %d", tc.query.Encode(), w.Code, tc.status)
			}
			for _, want := range tc.want {
				if !strings.Contains(body, want) {
					t.Errorf("GET /login/?%s lacks %q", tc.query.Encode(), want)
				}
			}
			for _, unwanted := range tc.unwanted {
				if strings.Contains(body, unwanted) {
					t.Errorf("GET /login/?%s shows %q:\n%s", tc.query.Encode(), unwanted, body)
				}
			}
			if strings.Contains(body, "<i>") {
				t.Errorf("GET /login/?%s echoes markup unescaped", tc.query.Encode())
			}
			if strings.Contains(body, "JS not loaded") || strings.Contains(body, `id="js"`) {
				t.Errorf("GET /login/?%s shows a script-loading line meant for tests", tc.query.Encode())
			}
			if w.Header().Get("Referrer-Policy") != "no-referrer" || w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("GET /login/ headers = %v; want no-referrer and no-store", w.Header())
			}
			if tc.status == 200 {
				recorded++
			}
			logins := m.Logins()
			if len(logins) != recorded {
				t.Fatalf("Logins() has %d entries; want %d", len(logins), recorded)
			}
			if tc.status != 200 {
				return
			}
			got := logins[len(logins)-1]
			want := Login{Token: tc.query.Get("token"), Email: tc.wantEmail, UID: tc.wantUID, OpenOnboarding: tc.query.Get("openOnboarding"),
				CloseOnboardingRedirect: tc.query.Get("closeOnboardingRedirect"), Time: got.Time}
			if got != want || got.Time.Before(start) {
				t.Errorf("Logins() last = %+v; want %+v at or after %v", got, want, start)
			}
		})
	}
}

func TestDemoTokenClaims(t *testing.T) {
	now := time.Now()
	good, err := fakeToken("alice@example.com", "ab12", now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	parts := strings.Split(good, ".")
	tests := []struct {
		name, token string
		wantOK      bool
	}{
		{"stand-in token", good, true},
		{"two parts", parts[0] + "." + parts[1], false},
		{"four parts", good + ".x", false},
		{"signed header", enc([]byte(`{"alg":"RS256"}`)) + "." + parts[1] + "." + parts[2], false},
		{"other issuer", parts[0] + "." + enc([]byte(`{"iss":"elsewhere","uid":"u","email":"e","demo":true}`)) + ".x", false},
		{"not marked demo", parts[0] + "." + enc([]byte(`{"iss":"rezi-demo","uid":"u","email":"e"}`)) + ".x", false},
		{"no uid", parts[0] + "." + enc([]byte(`{"iss":"rezi-demo","email":"e","demo":true}`)) + ".x", false},
		{"not base64", parts[0] + ".%%%." + parts[2], false},
		{"not JSON", parts[0] + "." + enc([]byte("nope")) + ".x", false},
		{"huge", strings.Repeat("a", maxTokenLen) + good, false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			email, uid, ok := demoTokenClaims(tc.token)
			if ok != tc.wantOK || (ok && (email != "alice@example.com" || uid != "ab12")) || (!ok && (email != "" || uid != "")) {
				t.Errorf("demoTokenClaims(%.40q) = %q, %q, %v; want ok %v", tc.token, email, uid, ok, tc.wantOK)
			}
		})
	}
}

func FuzzDemoTokenClaims(f *testing.F) {
	now := time.Unix(1700000000, 0)
	good, _ := fakeToken("alice@example.com", "ab12", now, now.Add(time.Hour))
	for _, s := range []string{good, "", "a.b.c", "..", "eyJhbGciOiJub25lIn0.e30.x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		email, uid, ok := demoTokenClaims(token)
		if ok != (email != "" && uid != "") {
			t.Errorf("demoTokenClaims(%q) = %q, %q, %v; ok must mean both are set", token, email, uid, ok)
		}
		if ok {
			// Whatever it names, the page shows it escaped.
			w := serveRMS(NewRMS(), http.MethodGet, "/login/?"+url.Values{"token": {token}}.Encode(), nil)
			// The one script element is the page's own app.js.
			if w.Code != http.StatusOK || strings.Count(w.Body.String(), "<script") != 1 {
				t.Errorf("login page for %q = %d and may carry markup", token, w.Code)
			}
		}
	})
}

func TestRMSLoginsIsACopy(t *testing.T) {
	m := NewRMS()
	serveRMS(m, http.MethodGet, "/login/?token=a", nil)
	l := m.Logins()
	l[0].Token = "changed"
	if got := m.Logins()[0].Token; got != "a" {
		t.Errorf("Logins()[0].Token after changing the copy = %q; want %q", got, "a")
	}
}

func TestRMSLoginsBounded(t *testing.T) {
	m := NewRMS()
	for i := 0; i < maxLogins+5; i++ {
		serveRMS(m, http.MethodGet, "/login/?token=t", nil)
	}
	if got := len(m.Logins()); got != maxLogins {
		t.Errorf("len(Logins()) after %d logins = %d; want %d", maxLogins+5, got, maxLogins)
	}
}

func TestRMSHeaders(t *testing.T) {
	m := NewRMS()
	h := http.Header{"X-Forwarded-Email": {"a@example.com"}, "X-Multi": {"1", "2"}, "Cookie": {"c=1"}}
	w := serveRMS(m, http.MethodGet, "/headers", h)
	var got map[string][]string
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("GET /headers body %q: %v", w.Body.String(), err)
	}
	for k, want := range h {
		if !reflect.DeepEqual(got[k], want) {
			t.Errorf("GET /headers [%s] = %v; want %v", k, got[k], want)
		}
	}
	if !reflect.DeepEqual(got["Host"], []string{"example.com"}) {
		t.Errorf("GET /headers [Host] = %v; want [example.com]", got["Host"])
	}
}

func TestRMSRoutes(t *testing.T) {
	m := NewRMS()
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/", 200},
		{http.MethodHead, "/", 200},
		{http.MethodPost, "/", 405},
		{http.MethodGet, "/nope", 404},
		{http.MethodGet, "/static/other.js", 404},
		{http.MethodPost, "/login/?token=x", 405},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			if w := serveRMS(m, tc.method, tc.path, nil); w.Code != tc.want {
				t.Errorf("%s %s = %d; want %d", tc.method, tc.path, w.Code, tc.want)
			}
		})
	}
	if n := len(m.Logins()); n != 0 {
		t.Errorf("Logins() after a POST = %d entries; want 0", n)
	}
}

// TestRMSPagesLeadOn: every demo RMS page offers a way to sign out, and
// the page the demo's closeOnboardingRedirect names is a styled RMS page,
// not a 404.
func TestRMSPagesLeadOn(t *testing.T) {
	m := NewRMS()
	tests := []struct {
		name, target string
		wantStatus   int
		want         []string
	}{
		{"home", "/", http.StatusOK, nil},
		{"login", "/login/?token=tok.en", http.StatusOK, nil},
		{"missing token", "/login/", http.StatusBadRequest, nil},
		{"education", EducationPath, http.StatusOK, []string{"<title>Getting started</title>", "<h1>Getting started</h1>", "closeOnboardingRedirect", `<a id="home-link" href="/">`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := serveRMS(m, http.MethodGet, tc.target, nil)
			body := w.Body.String()
			if w.Code != tc.wantStatus || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("GET %s = %d %q; want %d HTML", tc.target, w.Code, w.Header().Get("Content-Type"), tc.wantStatus)
			}
			for _, want := range append(tc.want, `<a id="sign-out" href="/oauth2/sign_out">Sign out</a>`, `href="/static/app.css"`) {
				if !strings.Contains(body, want) {
					t.Errorf("GET %s lacks %q:\n%s", tc.target, want, body)
				}
			}
		})
	}
}
