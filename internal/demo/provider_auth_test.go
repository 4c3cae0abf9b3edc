package demo

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestAuthRequestErrors(t *testing.T) {
	e := newTestEnv(t, "")
	_, challenge := newVerifier()
	tests := []struct {
		name       string
		modify     func(url.Values)
		wantStatus int
		wantError  string // error= in the redirect; "" for a 400 page
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "evil") }, 400, ""},
		{"unregistered redirect_uri", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, 400, ""},
		{"missing redirect_uri", func(q url.Values) { q.Del("redirect_uri") }, 400, ""},
		{"missing code_challenge", func(q url.Values) { q.Del("code_challenge") }, 302, "invalid_request"},
		{"plain PKCE method", func(q url.Values) { q.Set("code_challenge_method", "plain") }, 302, "invalid_request"},
		{"missing PKCE method", func(q url.Values) { q.Del("code_challenge_method") }, 302, "invalid_request"},
		{"malformed challenge", func(q url.Values) { q.Set("code_challenge", "short") }, 302, "invalid_request"},
		{"implicit flow", func(q url.Values) { q.Set("response_type", "id_token") }, 302, "unsupported_response_type"},
		{"no openid scope", func(q url.Values) { q.Set("scope", "email") }, 302, "invalid_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := e.authParams("st<ate>", "n", challenge)
			tc.modify(q)
			resp, err := e.noFollow.Get(e.p.Issuer() + "/auth?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(t, resp)
			loc := resp.Header.Get("Location")
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("GET /auth (%s) status = %d; want %d", tc.name, resp.StatusCode, tc.wantStatus)
			}
			if tc.wantError == "" {
				if loc != "" {
					t.Errorf("GET /auth (%s) Location = %q; want no redirect", tc.name, loc)
				}
				if !strings.Contains(body, "<title>Sign-in error</title>") {
					t.Errorf("GET /auth (%s) body = %q; want the error page", tc.name, body)
				}
				if strings.Contains(body, "evil.example") {
					t.Errorf("GET /auth (%s) echoes the rejected redirect_uri", tc.name)
				}
				return
			}
			u, err := url.Parse(loc)
			if err != nil || !strings.HasPrefix(loc, e.redirectURI+"?") {
				t.Fatalf("GET /auth (%s) Location = %q; want the redirect_uri", tc.name, loc)
			}
			if got := u.Query().Get("error"); got != tc.wantError {
				t.Errorf("GET /auth (%s) error = %q; want %q", tc.name, got, tc.wantError)
			}
			if got := u.Query().Get("state"); got != "st<ate>" {
				t.Errorf("GET /auth (%s) state = %q; want %q", tc.name, got, "st<ate>")
			}
			if u.Query().Has("code") {
				t.Errorf("GET /auth (%s) redirect carries a code", tc.name)
			}
		})
	}
}

func TestLoginPage(t *testing.T) {
	e := newTestEnv(t, "")
	_, challenge := newVerifier()
	q := e.authParams(`"><script>alert(1)</script>`, "n", challenge)
	resp, err := e.client.Get(e.p.Issuer() + "/auth?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	for _, want := range []string{
		"<title>Sign in</title>", `id="login"`, `name="login"`, `id="password"`, `name="password"`,
		`id="submit-login"`, `type="password"`, `<form method="post" action="/auth?`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Errorf("login page contains an unescaped script from the state: %s", body)
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("login page %s = %q; want %q", h, got, want)
		}
	}
}

func TestLoginRejected(t *testing.T) {
	e := newTestEnv(t, "")
	tests := []struct{ name, login, password string }{
		{"wrong password", testUsers[0].Email, "wrong"},
		{"other user's password", testUsers[0].Email, testUsers[1].Password},
		{"unknown user", "nobody@example.com", testUsers[0].Password},
		{"empty", "", ""},
		{"markup in login", `<b>x</b>@example.com`, "pw-for-markup-case"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, challenge := newVerifier()
			action := e.loginForm(t, e.authParams("s", "n", challenge))
			resp, err := e.noFollow.PostForm(action, url.Values{"login": {tc.login}, "password": {tc.password}})
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" {
				t.Errorf("POST /auth (%s) = %d Location %q; want 401 and no redirect", tc.name, resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.Contains(body, "Invalid email or password") || !strings.Contains(body, `id="submit-login"`) {
				t.Errorf("POST /auth (%s) body lacks the error or the form: %s", tc.name, body)
			}
			if strings.Contains(body, "<b>") {
				t.Errorf("POST /auth (%s) echoes markup unescaped", tc.name)
			}
			if tc.password != "" && strings.Contains(body, tc.password) {
				t.Errorf("POST /auth (%s) echoes the password", tc.name)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	e := newTestEnv(t, "")
	cbOrigin := strings.TrimSuffix(e.redirectURI, "/callback")
	tests := []struct {
		name   string
		params url.Values
		want   string // Location; "" means the signed-out page
	}{
		{"registered origin", url.Values{"client_id": {testClientID}, "post_logout_redirect_uri": {cbOrigin + "/signed-out"}}, cbOrigin + "/signed-out"},
		{"registered origin with state", url.Values{"post_logout_redirect_uri": {cbOrigin + "/"}, "state": {"xyz"}}, cbOrigin + "/?state=xyz"},
		{"no target", url.Values{"client_id": {testClientID}}, ""},
		{"other origin", url.Values{"post_logout_redirect_uri": {"https://evil.example/"}}, ""},
		{"other port", url.Values{"post_logout_redirect_uri": {"http://127.0.0.1:1/"}}, ""},
		{"other client", url.Values{"client_id": {"evil"}, "post_logout_redirect_uri": {cbOrigin + "/"}}, ""},
		{"backslash trick", url.Values{"post_logout_redirect_uri": {cbOrigin + `\@evil.example/`}}, ""},
		{"user info trick", url.Values{"post_logout_redirect_uri": {"http://" + strings.TrimPrefix(cbOrigin, "http://") + "@evil.example/"}}, ""},
		{"javascript", url.Values{"post_logout_redirect_uri": {"javascript:alert(1)"}}, ""},
		{"relative", url.Values{"post_logout_redirect_uri": {"//evil.example/"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := e.noFollow.Get(e.p.Issuer() + "/logout?" + tc.params.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(t, resp)
			loc := resp.Header.Get("Location")
			if loc != tc.want {
				t.Errorf("GET /logout?%s Location = %q; want %q", tc.params.Encode(), loc, tc.want)
			}
			if tc.want == "" && (resp.StatusCode != http.StatusOK || !strings.Contains(body, "<title>Signed out</title>")) {
				t.Errorf("GET /logout?%s = %d; want 200 and the signed-out page", tc.params.Encode(), resp.StatusCode)
			}
			if tc.want != "" && resp.StatusCode != http.StatusFound {
				t.Errorf("GET /logout?%s = %d; want 302", tc.params.Encode(), resp.StatusCode)
			}
		})
	}
}

func FuzzLogoutRedirect(f *testing.F) {
	p, err := NewProvider(ProviderOptions{
		Issuer: "http://127.0.0.1:5556", ClientID: "c", ClientSecret: "s",
		RedirectURIs: []string{"http://127.0.0.1:4180/oauth2/callback"},
	})
	if err != nil {
		f.Fatal(err)
	}
	p.log = slog.New(slog.DiscardHandler)
	for _, s := range []string{
		"http://127.0.0.1:4180/", "http://127.0.0.1:4180\\@evil.example/", "http://127.0.0.1:4180@evil.example/",
		"//evil.example", "HTTP://127.0.0.1:4180/x", "http://127.0.0.1:4180%2F@evil", "javascript:alert(1)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:5556/logout?"+url.Values{"post_logout_redirect_uri": {target}}.Encode(), nil)
		if err != nil {
			t.Skip()
		}
		w := httptest.NewRecorder()
		p.ServeHTTP(w, req)
		loc := w.Header().Get("Location")
		if loc == "" {
			return
		}
		u, err := url.Parse(loc)
		if err != nil || u.Scheme != "http" || u.Host != "127.0.0.1:4180" || u.User != nil || strings.ContainsAny(loc, "\\\t\r\n") {
			t.Errorf("logout with %q redirects to %q; want only http://127.0.0.1:4180", target, loc)
		}
	})
}
