package middleware

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/pages"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/proxy"
	"github.com/rezigate/rezigate/sessions"
)

// sessionCleared reports whether r deletes the session cookie.
func sessionCleared(r response) bool {
	for _, c := range r.Cookies() {
		if c.Name == sessions.DefaultCookieName && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

// signedIn reports whether c still has a session rezigate accepts.
func (e *env) signedIn(c *http.Client) bool {
	e.t.Helper()
	return e.do(c, "GET", "/oauth2/userinfo", nil, nil).StatusCode == http.StatusOK
}

// signOutRequest sends a sign-out with extra headers and an optional Host
// (as a proxy in front of rezigate might rewrite it).
func (e *env) signOutRequest(c *http.Client, method, target, host string, hdr http.Header, form url.Values) response {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.srv.URL+target, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if host != "" {
		req.Host = host
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, target, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	e.bodies = append(e.bodies, string(b))
	return response{resp, string(b)}
}

// TestSignOutCrossOrigin checks that only a request from this site signs
// out: another site's link gets a confirmation page and its form post a
// 403, so sign-out (and the provider's logout) is never one click away
// for another site.
func TestSignOutCrossOrigin(t *testing.T) {
	const (
		confirm = "confirm" // 200, the sign-out button, still signed in
		refused = "refused" // 403, still signed in
		out     = "out"     // signed out, on to the provider's logout
	)
	navigation := func(site string) http.Header {
		h := http.Header{"Sec-Fetch-Mode": {"navigate"}, "Sec-Fetch-Dest": {"document"}}
		if site != "" {
			h.Set("Sec-Fetch-Site", site)
		}
		return h
	}
	e := newEnv(t, envOptions{})
	tests := []struct {
		name   string
		method string
		host   string
		hdr    http.Header
		want   string
	}{
		{"cross-site GET", "GET", "", navigation("cross-site"), confirm},
		{"same-site GET (another host of the site)", "GET", "", navigation("same-site"), confirm},
		{"GET with another site's Origin", "GET", "", http.Header{"Origin": {"https://evil.example"}}, confirm},
		{"GET with another port's Origin", "GET", "", http.Header{"Origin": {"http://127.0.0.1:1"}}, confirm},
		{"same-origin GET (a link in the RMS)", "GET", "", navigation("same-origin"), out},
		{"typed URL (Sec-Fetch-Site none)", "GET", "", navigation("none"), out},
		{"old browser, no Sec-Fetch-Site or Origin", "GET", "", nil, out},
		{"GET with this site's Origin", "GET", "", http.Header{"Origin": {"SELF"}}, out},
		{"cross-site POST", "POST", "", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}, refused},
		{"same-site POST", "POST", "", http.Header{"Sec-Fetch-Site": {"same-site"}}, refused},
		{"old browser POST from another site", "POST", "", http.Header{"Origin": {"https://evil.example"}}, refused},
		{"same-origin POST", "POST", "", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {"SELF"}}, out},
		{"old browser POST from this site", "POST", "", http.Header{"Origin": {"SELF"}}, out},
		{"POST without browser headers", "POST", "", nil, out},
		{"POST from the public URL through a proxy that rewrites Host", "POST", "rezigate.internal:4180", http.Header{"Origin": {"SELF"}}, out},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient()
			e.signIn(c, "/", "alice@example.com", alicePassword)
			hdr := http.Header{}
			for k, v := range tc.hdr {
				if v[0] == "SELF" {
					v = []string{e.srv.URL}
				}
				hdr[k] = v
			}
			var form url.Values
			if tc.method == "POST" {
				form = url.Values{"rd": {"/docs"}}
			}
			r := e.signOutRequest(c, tc.method, "/oauth2/sign_out?rd=%2Fdocs", tc.host, hdr, form)
			switch tc.want {
			case confirm:
				if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `<form method="post" action="/oauth2/sign_out">`) ||
					!strings.Contains(r.body, `<input type="hidden" name="rd" value="/docs">`) || !strings.Contains(r.body, `id="sign-out"`) {
					t.Errorf("%s /oauth2/sign_out = %d; want 200 with a sign-out form posting rd:\n%s", tc.method, r.StatusCode, r.body)
				}
				if !strings.Contains(r.body, "alice@example.com") {
					t.Errorf("confirmation page does not say who is signed in")
				}
			case refused:
				id := r.Header.Get("X-Request-Id")
				if r.StatusCode != http.StatusForbidden || id == "" || !strings.Contains(r.body, id) {
					t.Errorf("%s /oauth2/sign_out = %d; want a 403 page with the request id", tc.method, r.StatusCode)
				}
			case out:
				loc := mustURL(r.Header.Get("Location"))
				if r.StatusCode != http.StatusFound || loc.Path != "/logout" || loc.Query().Get("post_logout_redirect_uri") != e.srv.URL+"/oauth2/signed_out?rd=%2Fdocs" {
					t.Errorf("%s /oauth2/sign_out = %d to %q; want 302 to the provider's logout, back to the signed-out page", tc.method, r.StatusCode, loc)
				}
			}
			if tc.want == out {
				// With Host rewritten, the client files the deletion under
				// that host; the response is what matters.
				if !sessionCleared(r) || (tc.host == "" && e.signedIn(c)) {
					t.Errorf("%s /oauth2/sign_out left the session (cleared: %v)", tc.method, sessionCleared(r))
				}
			} else {
				if sessionCleared(r) || !e.signedIn(c) {
					t.Errorf("%s /oauth2/sign_out from another site signed out (cookie cleared: %v)", tc.method, sessionCleared(r))
				}
				if r.Header.Get("Location") != "" {
					t.Errorf("%s /oauth2/sign_out from another site redirects to %q", tc.method, r.Header.Get("Location"))
				}
			}
		})
	}
	e.checkNoLeaks()
}

// TestSignOutConfirmation follows the confirmation page's form, as a
// browser does when the user presses the button: the post comes from this
// site, carries rd and signs out.
func TestSignOutConfirmation(t *testing.T) {
	tests := []struct {
		name, rd   string
		wantHidden string // the rd field; "" means none
		wantBack   string // post_logout_redirect_uri after the public URL
	}{
		{"with rd", "/docs?page=2", `<input type="hidden" name="rd" value="/docs?page=2">`, "/oauth2/signed_out?rd=%2Fdocs%3Fpage%3D2"},
		{"no rd", "", "", "/oauth2/signed_out"},
		{"bad rd becomes /", "//evil.example", "", "/oauth2/signed_out"},
	}
	e := newEnv(t, envOptions{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient()
			e.signIn(c, "/", "alice@example.com", alicePassword)
			target := "/oauth2/sign_out"
			if tc.rd != "" {
				target += "?rd=" + url.QueryEscape(tc.rd)
			}
			page := e.do(c, "GET", target, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Sec-Fetch-Mode": {"navigate"}}, nil)
			if page.StatusCode != http.StatusOK {
				t.Fatalf("cross-site GET %s = %d; want 200", target, page.StatusCode)
			}
			if tc.wantHidden != "" && !strings.Contains(page.body, tc.wantHidden) {
				t.Errorf("confirmation page lacks %s:\n%s", tc.wantHidden, page.body)
			}
			if tc.wantHidden == "" && strings.Contains(page.body, `name="rd"`) {
				t.Errorf("confirmation page for rd %q carries an rd field:\n%s", tc.rd, page.body)
			}
			if page.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(page.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("confirmation page can be framed (X-Frame-Options %q, CSP %q)", page.Header.Get("X-Frame-Options"), page.Header.Get("Content-Security-Policy"))
			}
			form := url.Values{}
			if tc.wantHidden != "" {
				form.Set("rd", tc.rd)
			}
			// The form posts to /oauth2/sign_out without a query.
			r := e.do(c, "POST", "/oauth2/sign_out", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {e.srv.URL}}, form)
			loc := mustURL(r.Header.Get("Location"))
			if got := loc.Query().Get("post_logout_redirect_uri"); r.StatusCode != http.StatusFound || got != e.srv.URL+tc.wantBack {
				t.Errorf("pressing Sign out = %d, post_logout_redirect_uri %q; want 302 and %q", r.StatusCode, got, e.srv.URL+tc.wantBack)
			}
			if e.signedIn(c) {
				t.Errorf("still signed in after pressing Sign out")
			}
		})
	}
}

// TestSignedOutPage checks where a sign-out ends: the provider's logout
// comes back to /oauth2/signed_out, and without provider logout the
// browser goes there directly; the page offers to sign in again.
func TestSignedOutPage(t *testing.T) {
	for _, providerSignOut := range []bool{true, false} {
		name := "local only"
		if providerSignOut {
			name = "through the provider's logout"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{mod: func(o *Options) { o.SkipProviderSignOut = !providerSignOut }})
			e.signIn(e.client, "/", "alice@example.com", alicePassword)
			r := e.do(e.client, "GET", "/oauth2/sign_out?rd=%2Fdocs", nil, nil)
			for i := 0; i < 3 && r.StatusCode == http.StatusFound; i++ {
				r = e.do(e.client, "GET", r.Header.Get("Location"), nil, nil)
			}
			if got := r.Request.URL.String(); got != e.srv.URL+"/oauth2/signed_out?rd=%2Fdocs" {
				t.Errorf("sign-out ended at %s; want %s/oauth2/signed_out?rd=%%2Fdocs", got, e.srv.URL)
			}
			id := r.Header.Get("X-Request-Id")
			if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "You are signed out") ||
				!strings.Contains(r.body, `href="/oauth2/start?rd=%2Fdocs"`) || id == "" || !strings.Contains(r.body, id) {
				t.Errorf("signed-out page = %d; want 200, a sign-in link back to /docs and the request id:\n%s", r.StatusCode, r.body)
			}
			if r := e.do(e.client, "POST", "/oauth2/signed_out", nil, url.Values{}); r.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("POST /oauth2/signed_out = %d; want 405", r.StatusCode)
			}
		})
	}
	t.Run("still signed in", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		e.signIn(e.client, "/", "alice@example.com", alicePassword)
		r := e.get("/oauth2/signed_out")
		if r.StatusCode != http.StatusOK || strings.Contains(r.body, "You are signed out") || !strings.Contains(r.body, `id="sign-out"`) {
			t.Errorf("/oauth2/signed_out with a session = %d; want the sign-out button, not a false \"signed out\":\n%s", r.StatusCode, r.body)
		}
		if !e.signedIn(e.client) {
			t.Errorf("/oauth2/signed_out signed the user out")
		}
	})
	t.Run("bad rd", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		r := e.get("/oauth2/signed_out?rd=" + url.QueryEscape("//evil.example"))
		if !strings.Contains(r.body, `href="/rezi"`) || strings.Contains(r.body, "evil") {
			t.Errorf("signed-out page with a bad rd links elsewhere:\n%s", r.body)
		}
	})
}

// TestSignOutBody checks that reading the sign-out form is bounded in size
// and time, so a client cannot hold the connection with a slow or endless
// body; a form it cannot read does not sign out.
func TestSignOutBody(t *testing.T) {
	e := newEnv(t, envOptions{mod: func(o *Options) { o.SkipProviderSignOut = true }})
	same := http.Header{"Sec-Fetch-Site": {"same-origin"}}

	t.Run("too large", func(t *testing.T) {
		c := newClient()
		e.signIn(c, "/", "alice@example.com", alicePassword)
		r := e.do(c, "POST", "/oauth2/sign_out", same, url.Values{"rd": {"/"}, "pad": {strings.Repeat("x", signOutMaxBody)}})
		if r.StatusCode != http.StatusBadRequest || sessionCleared(r) || !e.signedIn(c) {
			t.Errorf("POST /oauth2/sign_out with a %d-byte form = %d (cookie cleared: %v); want 400 and no sign-out", signOutMaxBody, r.StatusCode, sessionCleared(r))
		}
	})

	t.Run("slow", func(t *testing.T) {
		old := signOutReadTimeout
		signOutReadTimeout = 100 * time.Millisecond
		t.Cleanup(func() { signOutReadTimeout = old })
		c := newClient()
		e.signIn(c, "/", "alice@example.com", alicePassword)
		var cookie string
		for _, ck := range c.Jar.Cookies(mustURL(e.srv.URL)) {
			if ck.Name == sessions.DefaultCookieName {
				cookie = ck.Name + "=" + ck.Value
			}
		}
		conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// Promise 100 bytes, send 5, then nothing: only the server's own
		// deadline can end this request.
		_, err = io.WriteString(conn, "POST /oauth2/sign_out HTTP/1.1\r\nHost: "+e.srv.Listener.Addr().String()+"\r\n"+
			"Cookie: "+cookie+"\r\nSec-Fetch-Site: same-origin\r\n"+
			"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nrd=%2")
		if err != nil {
			t.Fatal(err)
		}
		// A guard so the test fails instead of hanging; the server's
		// deadline is far shorter.
		_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("no response to a slow sign-out body: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("slow sign-out body = %d; want 400", resp.StatusCode)
		}
		for _, ck := range resp.Cookies() {
			if ck.Name == sessions.DefaultCookieName && ck.MaxAge < 0 {
				t.Errorf("a sign-out whose form never arrived cleared the session")
			}
		}
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("after the slow body the connection is still held (read: %v); want it closed", err)
		}
	})
}

func TestSignOutMethods(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, m := range []string{"PUT", "DELETE", "HEAD"} {
		r := e.do(e.client, m, "/oauth2/sign_out", nil, nil)
		if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, POST" {
			t.Errorf("%s /oauth2/sign_out = %d Allow %q; want 405 and GET, POST", m, r.StatusCode, r.Header.Get("Allow"))
		}
	}
}

// TestGatewayPagesShareTheStylesheet checks that every page a person can
// meet at the gateway, the proxy's 502 included, is rendered by
// internal/pages: one inline stylesheet under one policy, and the request
// id that the log line carries.
func TestGatewayPagesShareTheStylesheet(t *testing.T) {
	style := regexp.MustCompile(`(?s)<style>.*?</style>`)
	rec := httptest.NewRecorder()
	pages.Error(rec, http.StatusTeapot, "x", "id")
	shared := style.FindString(rec.Body.String())

	e := newEnv(t, envOptions{mod: func(o *Options) { o.Handoff.RateLimit = 1 }})
	e.signIn(e.client, "/", "alice@example.com", alicePassword)
	cross := http.Header{"Sec-Fetch-Site": {"cross-site"}}
	got := map[string]*http.Response{}
	bodies := map[string]string{}
	add := func(name string, r response) {
		got[name], bodies[name] = r.Response, r.body
	}
	add("400", e.get("/rezi?openOnboarding=maybe"))
	add("403", e.do(e.client, "POST", "/oauth2/sign_out", cross, url.Values{}))
	add("404", e.get("/oauth2/nope"))
	add("405", e.do(e.client, "PUT", "/oauth2/sign_out", nil, nil))
	add("confirm sign-out", e.do(e.client, "GET", "/oauth2/sign_out", cross, nil))
	e.get("/rezi")
	add("429", e.get("/rezi"))

	// The proxy's page, with an upstream nobody listens on.
	px, err := proxy.New(proxy.Options{Upstream: mustURL("http://" + freeAddr(t)), Identity: userIdentity, StripCookies: e.auth.OwnCookie, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/reports", nil)
	for _, c := range e.client.Jar.Cookies(mustURL(e.srv.URL)) {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	e.auth.Wrap(px).ServeHTTP(rec, req)
	got["502"], bodies["502"] = rec.Result(), rec.Body.String()

	// A provider that is not ready yet.
	opts := e.auth.opts
	opts.Provider, err = oidc.New(t.Context(), oidc.Options{IssuerURL: "http://" + freeAddr(t), ClientID: "rezigate", RedirectURL: e.srv.URL + "/oauth2/callback", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	down, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	down.Wrap(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/oauth2/start", nil))
	got["503"], bodies["503"] = rec.Result(), rec.Body.String()

	r := e.do(e.client, "GET", "/oauth2/sign_out", nil, nil)
	for r.StatusCode == http.StatusFound {
		r = e.do(e.client, "GET", r.Header.Get("Location"), nil, nil)
	}
	add("signed out", r)

	wantStatus := map[string]int{"400": 400, "403": 403, "404": 404, "405": 405, "429": 429, "502": 502, "503": 503, "confirm sign-out": 200, "signed out": 200}
	for name, want := range wantStatus {
		t.Run(name, func(t *testing.T) {
			resp, body := got[name], bodies[name]
			if resp == nil || resp.StatusCode != want {
				t.Fatalf("status = %v; want %d", resp, want)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); csp != pages.CSP {
				t.Errorf("Content-Security-Policy = %q; want the shared %q", csp, pages.CSP)
			}
			if s := style.FindAllString(body, -1); len(s) != 1 || s[0] != shared {
				t.Errorf("page does not carry exactly the shared stylesheet:\n%s", body)
			}
			id := resp.Header.Get("X-Request-Id")
			if id == "" || !strings.Contains(body, `<code id="request-id">`+id+`</code>`) {
				t.Errorf("page does not show its request id %q:\n%s", id, body)
			}
		})
	}
	e.checkNoLeaks()
}
