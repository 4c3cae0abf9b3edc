package middleware

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/internal/localpath"
	"github.com/rezigate/rezigate/internal/session"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/sessions"
)

func TestJourney(t *testing.T) {
	e := newEnv(t, envOptions{})
	target := "/rezi?openOnboarding=true&closeOnboardingRedirect=/dashboard/education"
	cb := e.signIn(e.client, target, "alice@example.com", alicePassword)
	if cb.StatusCode != http.StatusFound || cb.Header.Get("Location") != target {
		t.Fatalf("callback = %d Location %q; want 302 to %q", cb.StatusCode, cb.Header.Get("Location"), target)
	}
	for _, h := range []string{"Cache-Control:no-store", "Referrer-Policy:no-referrer"} {
		k, v, _ := strings.Cut(h, ":")
		if got := cb.Header.Get(k); got != v {
			t.Errorf("callback %s = %q; want %q", k, got, v)
		}
	}
	sc := sessionCookie(cb)
	if sc == nil {
		t.Fatal("callback set no session cookie")
	}
	if !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" {
		t.Errorf("session cookie = %+v; want HttpOnly, SameSite=Lax, Path=/", sc)
	}
	// The cookie keeps the ID token (about 800 bytes here), the
	// id_token_hint of sign-out.
	if len(sc.Value) > 1536 {
		t.Errorf("session cookie is %d bytes; want at most 1.5 KB", len(sc.Value))
	}

	r := e.get(target)
	if r.StatusCode != http.StatusFound {
		t.Fatalf("/rezi = %d %s; want 302", r.StatusCode, r.body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if !strings.HasSuffix(loc.Path, "/login/") || q.Get("token") == "" || q.Get("openOnboarding") != "true" || q.Get("closeOnboardingRedirect") != "/dashboard/education" {
		t.Errorf("/rezi Location = %q; want the login URL with token and both options", loc)
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("/rezi Cache-Control = %q; want no-store", got)
	}
	if got := r.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("/rezi Referrer-Policy = %q; want no-referrer", got)
	}
	email, uid := e.rezi.LastRequest()
	want := wantUID(e.provider.Issuer(), "alice-sub")
	if email != "alice@example.com" || uid != want {
		t.Errorf("Rezi got email %q uid %q; want alice@example.com and %q", email, uid, want)
	}

	// The RMS accepts the hand-off.
	login := e.do(e.client, "GET", loc.String(), nil, nil)
	if login.StatusCode != http.StatusOK || len(e.rms.Logins()) != 1 || e.rms.Logins()[0].Token != q.Get("token") {
		t.Errorf("RMS login = %d, logins %v; want the token recorded", login.StatusCode, e.rms.Logins())
	}

	// A proxied request carries rezigate's identity, never the client's.
	spoof := http.Header{
		"X-Forwarded-Email": {"evil@example.com", "evil2@example.com"},
		"x-forwarded-user":  {"evil-uid"},
		"X_Forwarded_Email": {"evil3@example.com"},
		"X_FORWARDED_USER":  {"evil-uid-2"},
		"Accept":            {"application/json"},
	}
	e.client.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: "app", Value: "kept"}})
	r = e.do(e.client, "GET", "/headers", spoof, nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("proxied /headers = %d %s", r.StatusCode, r.body)
	}
	var got map[string][]string
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	for k, v := range got {
		n := strings.ReplaceAll(strings.ToLower(k), "_", "-")
		switch n {
		case "x-forwarded-email":
			if len(v) != 1 || v[0] != "alice@example.com" || k != "X-Forwarded-Email" {
				t.Errorf("upstream got %s: %q; want only X-Forwarded-Email: alice@example.com", k, v)
			}
		case "x-forwarded-user":
			if len(v) != 1 || v[0] != want || k != "X-Forwarded-User" {
				t.Errorf("upstream got %s: %q; want only X-Forwarded-User: %s", k, v, want)
			}
		case "cookie":
			if strings.Contains(v[0], sessions.DefaultCookieName) || !strings.Contains(v[0], "app=kept") {
				t.Errorf("upstream got Cookie %q; want app=kept and no rezigate cookie", v)
			}
		}
	}
	if got["X-Forwarded-Email"] == nil || got["X-Forwarded-Proto"] == nil || got["X-Forwarded-Host"] == nil || got["X-Forwarded-For"] == nil {
		t.Errorf("upstream headers %v; want identity and X-Forwarded-For/Host/Proto", got)
	}

	// A returning click is answered from the token cache.
	calls := e.rezi.Calls()
	if r := e.get(target); r.StatusCode != http.StatusFound || e.rezi.Calls() != calls {
		t.Errorf("second /rezi = %d with %d new Rezi calls; want 302 from the cache", r.StatusCode, e.rezi.Calls()-calls)
	}
	e.checkNoLeaks()
	if strings.Contains(e.logs.String(), q.Get("token")) {
		t.Errorf("the Rezi user token appears in the log")
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestSignInRefused(t *testing.T) {
	tests := []struct {
		name       string
		fault      demo.Fault
		email, pw  string
		wantStatus int
	}{
		{"wrong nonce", demo.FaultWrongNonce, "alice@example.com", alicePassword, 400},
		{"wrong audience", demo.FaultWrongAudience, "alice@example.com", alicePassword, 400},
		{"wrong issuer", demo.FaultWrongIssuer, "alice@example.com", alicePassword, 400},
		{"expired token", demo.FaultExpired, "alice@example.com", alicePassword, 400},
		{"wrong signing key", demo.FaultWrongKey, "alice@example.com", alicePassword, 400},
		{"token endpoint error", demo.FaultTokenError, "alice@example.com", alicePassword, 400},
		{"no email claim", demo.FaultNoEmail, "alice@example.com", alicePassword, 403},
		{"email not verified", demo.FaultNone, "bob@example.com", "bob-pw", 403},
		{"domain not allowed", demo.FaultNone, "mallory@outsider.example", "mallory-pw", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			e.provider.SetFault(tc.fault)
			r := e.signIn(e.client, "/rezi", tc.email, tc.pw)
			if r.StatusCode != tc.wantStatus {
				t.Errorf("callback = %d; want %d", r.StatusCode, tc.wantStatus)
			}
			if c := sessionCookie(r); c != nil {
				t.Errorf("callback set a session cookie")
			}
			if !strings.Contains(r.body, r.Header.Get("X-Request-Id")) || r.Header.Get("X-Request-Id") == "" {
				t.Errorf("error page lacks the request id")
			}
			if r.Header.Get("Location") != "" {
				t.Errorf("refused callback redirects to %q; want an error page, never a loop", r.Header.Get("Location"))
			}
			// Still signed out.
			if r := e.do(e.client, "GET", "/x", http.Header{"Accept": {"application/json"}}, nil); r.StatusCode != 401 {
				t.Errorf("after refused sign-in, GET /x = %d; want 401", r.StatusCode)
			}
			e.checkNoLeaks()
		})
	}
}

func TestCallbackBadRequests(t *testing.T) {
	e := newEnv(t, envOptions{})
	authURL := e.authURL(e.client, "/")
	cbURL := e.loginAt(e.client, authURL, "alice@example.com", alicePassword)
	cb := mustURL(cbURL)
	code := cb.Query().Get("code")
	state := cb.Query().Get("state")
	tests := []struct {
		name   string
		client *http.Client
		query  string
		want   int
	}{
		{"provider error", e.client, "error=access_denied&state=" + state, 403},
		{"missing state", e.client, "code=" + code, 400},
		{"forged state", e.client, "code=" + code + "&state=forged", 400},
		{"state from another browser", newClient(), "code=" + code + "&state=" + state, 400},
		{"missing code", e.client, "state=" + state, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.client, "GET", "/oauth2/callback?"+tc.query, navigate, nil)
			if r.StatusCode != tc.want || sessionCookie(r) != nil {
				t.Errorf("callback?%s = %d (session set: %v); want %d and no session", tc.query, r.StatusCode, sessionCookie(r) != nil, tc.want)
			}
		})
	}
}

func TestTwoTabs(t *testing.T) {
	e := newEnv(t, envOptions{})
	a1 := e.authURL(e.client, "/tab1")
	a2 := e.authURL(e.client, "/tab2")
	cb1 := e.loginAt(e.client, a1, "alice@example.com", alicePassword)
	cb2 := e.loginAt(e.client, a2, "alice@example.com", alicePassword)
	// Finish in the opposite order from the start.
	for _, tc := range []struct{ cb, want string }{{cb2, "/tab2"}, {cb1, "/tab1"}} {
		r := e.do(e.client, "GET", tc.cb, navigate, nil)
		if r.StatusCode != http.StatusFound || r.Header.Get("Location") != tc.want {
			t.Errorf("callback = %d to %q; want 302 to %q", r.StatusCode, r.Header.Get("Location"), tc.want)
		}
	}
}

func TestStateCookiesBounded(t *testing.T) {
	e := newEnv(t, envOptions{})
	first := e.authURL(e.client, "/first")
	for i := 0; i < 10; i++ {
		e.authURL(e.client, "/later")
	}
	n := 0
	for _, c := range e.client.Jar.Cookies(mustURL(e.srv.URL)) {
		if strings.HasPrefix(c.Name, sessions.DefaultCookieName+"_st_") {
			n++
		}
	}
	if n != DefaultMaxStateCookies {
		t.Errorf("%d state cookies after 11 starts; want %d", n, DefaultMaxStateCookies)
	}
	// The oldest attempt was dropped, so finishing it fails cleanly.
	r := e.do(e.client, "GET", e.loginAt(e.client, first, "alice@example.com", alicePassword), navigate, nil)
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("finishing an evicted attempt = %d; want 400", r.StatusCode)
	}
}

func TestRedirectTargets(t *testing.T) {
	tests := []struct{ rd, want string }{
		{"/dashboard?x=1", "/dashboard?x=1"},
		{"//evil.com", "/"},
		{"/\\evil.com", "/"},
		{"https://evil.com", "/"},
		{"%2F%2Fevil.com", "/"},
		{"/%2F/evil.com", "/"},
		{"/../\\evil.com", "/"},
		{"/\t/evil.com", "/"},
		{"", "/"},
		{"/oauth2/start?rd=/x", "/"},
	}
	for _, tc := range tests {
		t.Run(tc.rd, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			cb := e.loginAt(e.client, e.authURL(e.client, tc.rd), "alice@example.com", alicePassword)
			r := e.do(e.client, "GET", cb, navigate, nil)
			if got := r.Header.Get("Location"); r.StatusCode != http.StatusFound || got != tc.want {
				t.Errorf("after sign-in with rd=%q: %d Location %q; want 302 %q", tc.rd, r.StatusCode, got, tc.want)
			}
			so := e.do(e.client, "GET", "/oauth2/sign_out?rd="+url.QueryEscape(tc.rd), nil, nil)
			loc := mustURL(so.Header.Get("Location"))
			want := e.srv.URL + signedOutPath(localpath.OrRoot(tc.rd))
			if got := loc.Query().Get("post_logout_redirect_uri"); got != want {
				t.Errorf("sign_out rd=%q: post_logout_redirect_uri %q; want %q", tc.rd, got, want)
			}
		})
	}
}

func TestUnauthenticated(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		name     string
		method   string
		path     string
		hdr      http.Header
		want     int
		location string
	}{
		{"navigation", "GET", "/docs?page=2", http.Header{"Sec-Fetch-Mode": {"navigate"}}, 302, "/oauth2/start?rd=%2Fdocs%3Fpage%3D2"},
		{"old browser navigation", "GET", "/docs", http.Header{"Accept": {"text/html,*/*"}}, 302, "/oauth2/start?rd=%2Fdocs"},
		{"fetch", "GET", "/api/x", http.Header{"Sec-Fetch-Mode": {"cors"}, "Accept": {"text/html"}}, 401, ""},
		{"api client", "GET", "/api/x", http.Header{"Accept": {"application/json"}}, 401, ""},
		{"root navigation", "GET", "/", navigate, 302, "/oauth2/start"},
		{"rezi always signs in", "GET", "/rezi?openOnboarding=true", nil, 302, "/oauth2/start?rd=%2Frezi%3FopenOnboarding%3Dtrue"},
		{"forward auth", "GET", "/oauth2/auth", navigate, 401, ""},
		{"userinfo", "GET", "/oauth2/userinfo", navigate, 401, ""},
		{"unknown oauth2 path", "GET", "/oauth2/nope", navigate, 404, ""},
		{"healthz", "GET", "/healthz", nil, 200, ""},
		{"readyz", "GET", "/readyz", nil, 200, ""},
	}
	for _, tc := range tests {
		r := e.do(e.client, tc.method, tc.path, tc.hdr, nil)
		if r.StatusCode != tc.want || r.Header.Get("Location") != tc.location {
			t.Errorf("%s: %s %s = %d Location %q; want %d %q", tc.name, tc.method, tc.path, r.StatusCode, r.Header.Get("Location"), tc.want, tc.location)
		}
	}
}

func TestTamperedCookies(t *testing.T) {
	e := newEnv(t, envOptions{})
	cb := e.signIn(e.client, "/", "alice@example.com", alicePassword)
	good := sessionCookie(cb).Value
	flipped := []byte(good)
	flipped[10] ^= 1
	other, _ := New(Options{Provider: e.auth.opts.Provider, PublicURL: e.srv.URL,
		Session: sessions.Settings{Secrets: [][]byte{[]byte(strings.Repeat("z", 32))}}, UIDSecret: []byte(testUIDSecret)})
	foreign, _ := testCodec(other).Encode(sessions.DefaultCookieName, &session.Session{Email: "evil@example.com", UID: "x", Expires: time.Now().Add(time.Hour)})
	expired, _ := testCodec(e.auth).Encode(sessions.DefaultCookieName, &session.Session{Email: "alice@example.com", UID: "x", Expires: time.Now().Add(-time.Minute)})
	for name, v := range map[string]string{
		"flipped bit": string(flipped), "truncated": good[:len(good)/2], "garbage": "%%%;;;", "empty": "",
		"other secret": foreign, "expired": expired, "huge": strings.Repeat("A", 8000),
	} {
		r := e.do(newClient(), "GET", "/oauth2/userinfo", http.Header{"Cookie": {sessions.DefaultCookieName + "=" + v}}, nil)
		if r.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s cookie: /oauth2/userinfo = %d; want 401", name, r.StatusCode)
		}
	}
	if r := e.do(newClient(), "GET", "/oauth2/userinfo", http.Header{"Cookie": {sessions.DefaultCookieName + "=" + good}}, nil); r.StatusCode != 200 {
		t.Errorf("good cookie: /oauth2/userinfo = %d; want 200", r.StatusCode)
	}
}

func TestSignedInEndpoints(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.signIn(e.client, "/", "alice@example.com", alicePassword)
	uid := wantUID(e.provider.Issuer(), "alice-sub")

	r := e.do(e.client, "GET", "/oauth2/auth", nil, nil)
	if r.StatusCode != http.StatusAccepted || r.Header.Get("X-Auth-Request-Email") != "alice@example.com" || r.Header.Get("X-Auth-Request-User") != uid {
		t.Errorf("/oauth2/auth = %d %v; want 202 with the identity headers", r.StatusCode, r.Header)
	}
	r = e.do(e.client, "GET", "/oauth2/userinfo", nil, nil)
	var ui map[string]string
	if err := json.Unmarshal([]byte(r.body), &ui); err != nil || ui["email"] != "alice@example.com" || ui["uid"] != uid || len(ui) != 2 {
		t.Errorf("/oauth2/userinfo = %d %s; want {email, uid}", r.StatusCode, r.body)
	}

	// Sign-out clears the session and goes to the provider's end_session_endpoint.
	r = e.do(e.client, "POST", "/oauth2/sign_out?rd=/bye", nil, url.Values{})
	loc := mustURL(r.Header.Get("Location"))
	if r.StatusCode != http.StatusFound || loc.Path != "/logout" || loc.Query().Get("client_id") != "rezigate" || loc.Query().Get("post_logout_redirect_uri") != e.srv.URL+"/oauth2/signed_out?rd=%2Fbye" || loc.Query().Get("id_token_hint") == "" {
		t.Errorf("sign_out = %d to %q; want the provider's logout with client_id, post_logout_redirect_uri and id_token_hint", r.StatusCode, loc)
	}
	if r := e.do(e.client, "GET", "/oauth2/userinfo", nil, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("after sign-out /oauth2/userinfo = %d; want 401", r.StatusCode)
	}
	e.auth.opts.SkipProviderSignOut = true
	if r := e.do(e.client, "GET", "/oauth2/sign_out", nil, nil); r.Header.Get("Location") != "/oauth2/signed_out" {
		t.Errorf("local sign_out Location = %q; want /oauth2/signed_out", r.Header.Get("Location"))
	}
}

// A cookie sealed with the old secret still works after a new secret is
// put first; once the old secret is removed, it reads as signed out.
func TestSessionSecretRotation(t *testing.T) {
	e := newEnv(t, envOptions{})
	cookie := sessionCookie(e.signIn(e.client, "/", "alice@example.com", alicePassword))
	newSecret := []byte(strings.Repeat("n", 32))
	tests := []struct {
		name    string
		secrets [][]byte
		want    int
	}{
		{"new secret first, old kept", [][]byte{newSecret, []byte(testSessionKey)}, http.StatusOK},
		{"old secret removed", [][]byte{newSecret}, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		opts := e.auth.opts
		opts.Session.Secrets = tc.secrets
		rotated, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/oauth2/userinfo", nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		rotated.Wrap(http.NotFoundHandler()).ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: /oauth2/userinfo = %d; want %d", tc.name, rec.Code, tc.want)
		}
	}
}

// With the provider down, sign-in answers a clear 503 instead of looping,
// and /readyz says not ready while /healthz stays up.
func TestProviderDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := oidc.New(ctx, oidc.Options{IssuerURL: "http://" + freeAddr(t), ClientID: "rezigate", RedirectURL: "http://127.0.0.1:1/oauth2/callback", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{Provider: p, PublicURL: "http://127.0.0.1:1", Session: sessions.Settings{Secrets: [][]byte{[]byte(testSessionKey)}}, UIDSecret: []byte(testUIDSecret), ServeHealth: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Wrap(http.NotFoundHandler())
	for path, want := range map[string]int{"/oauth2/start?rd=/x": 503, "/readyz": 503, "/healthz": 200, "/x": 302} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("GET %s with the provider down = %d; want %d", path, rec.Code, want)
		}
	}
}
