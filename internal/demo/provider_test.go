package demo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func TestNewProviderValidation(t *testing.T) {
	good := ProviderOptions{
		Issuer: "http://127.0.0.1:5556", ClientID: "c", ClientSecret: "s",
		RedirectURIs: []string{"http://127.0.0.1:4180/oauth2/callback"},
		Users:        []User{{Email: "a@example.com", Password: "pw"}},
	}
	tests := []struct {
		name   string
		modify func(*ProviderOptions)
		want   string // substring of the error; "" means success
	}{
		{"valid", func(*ProviderOptions) {}, ""},
		{"no issuer", func(o *ProviderOptions) { o.Issuer = "" }, "issuer: required"},
		{"relative issuer", func(o *ProviderOptions) { o.Issuer = "/dex" }, "issuer: must be an absolute"},
		{"ftp issuer", func(o *ProviderOptions) { o.Issuer = "ftp://127.0.0.1" }, "issuer: must be an absolute"},
		{"trailing slash", func(o *ProviderOptions) { o.Issuer = "http://127.0.0.1:5556/" }, "no trailing slash"},
		{"issuer query", func(o *ProviderOptions) { o.Issuer = "http://127.0.0.1:5556?a=b" }, "must not have a query"},
		{"no client id", func(o *ProviderOptions) { o.ClientID = "" }, "client_id: required"},
		{"no client secret", func(o *ProviderOptions) { o.ClientSecret = "" }, "client_secret: required"},
		{"relative redirect", func(o *ProviderOptions) { o.RedirectURIs = []string{"/cb"} }, "redirect_uris[0]"},
		{"redirect with fragment", func(o *ProviderOptions) { o.RedirectURIs = []string{"http://a/cb#x"} }, "redirect_uris[0]"},
		{"user without email", func(o *ProviderOptions) { o.Users = []User{{Password: "pw"}} }, "users[0].email: required"},
		{"user without password", func(o *ProviderOptions) { o.Users = []User{{Email: "a@b"}} }, "users[0].password: required"},
		{"duplicate email", func(o *ProviderOptions) {
			o.Users = []User{{Email: "a@b", Password: "1"}, {Email: "A@b", Password: "2"}}
		}, "users[1].email: duplicate"},
		{"blank email", func(o *ProviderOptions) { o.Users = []User{{Email: " \t", Password: "pw"}} }, "users[0].email: required"},
		{"duplicate email but for spaces", func(o *ProviderOptions) {
			o.Users = []User{{Email: "a@b", Password: "1"}, {Email: " a@b ", Password: "2"}}
		}, "users[1].email: duplicate"},
		{"email with spaces", func(o *ProviderOptions) { o.Users = []User{{Email: " a@b", Password: "pw"}} }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.modify(&o)
			_, err := NewProvider(o)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("NewProvider(%v) = %v; want nil error", o, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("NewProvider(%v) = %v; want error containing %q", o, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "s\"") {
				t.Errorf("NewProvider error %q may contain the client secret", err)
			}
		})
	}
}

func TestNewProviderCollectsAllProblems(t *testing.T) {
	_, err := NewProvider(ProviderOptions{})
	for _, want := range []string{"issuer: required", "client_id: required", "client_secret: required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewProvider(zero) = %v; want it to mention %q", err, want)
		}
	}
}

func TestDiscovery(t *testing.T) {
	for _, path := range []string{"", "/dex"} {
		t.Run("issuer path "+path, func(t *testing.T) {
			e := newTestEnv(t, path)
			iss := e.srv.URL + path
			resp, err := e.client.Get(iss + "/.well-known/openid-configuration")
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(t, resp)
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("discovery Content-Type = %q; want application/json", ct)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("discovery body: %v", err)
			}
			want := map[string]any{
				"issuer":                                iss,
				"authorization_endpoint":                iss + "/auth",
				"token_endpoint":                        iss + "/token",
				"jwks_uri":                              iss + "/keys",
				"userinfo_endpoint":                     iss + "/userinfo",
				"end_session_endpoint":                  iss + "/logout",
				"response_types_supported":              []any{"code"},
				"grant_types_supported":                 []any{"authorization_code", "refresh_token"},
				"subject_types_supported":               []any{"public"},
				"id_token_signing_alg_values_supported": []any{"RS256"},
				"code_challenge_methods_supported":      []any{"S256"},
				"token_endpoint_auth_methods_supported": []any{"client_secret_basic", "client_secret_post"},
				"scopes_supported":                      []any{"openid", "email", "profile", "offline_access"},
				"claims_supported":                      []any{"iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified", "name", "sid"},
				"backchannel_logout_supported":          true,
				"backchannel_logout_session_supported":  true,
			}
			for k, w := range want {
				if !reflect.DeepEqual(got[k], w) {
					t.Errorf("discovery %s = %v; want %v", k, got[k], w)
				}
			}

			op, err := gooidc.NewProvider(gooidc.ClientContext(t.Context(), e.client), iss)
			if err != nil {
				t.Fatalf("gooidc.NewProvider(%q) = %v; want nil error", iss, err)
			}
			if got := op.Endpoint().AuthURL; got != iss+"/auth" {
				t.Errorf("go-oidc AuthURL = %q; want %q", got, iss+"/auth")
			}
			// The whole flow works under an issuer path too.
			_, tok := e.tokens(t, "n")
			if _, err := e.verify(t, tok["id_token"].(string)); err != nil {
				t.Errorf("Verify(id_token) under issuer %q = %v; want nil error", iss, err)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	e := newTestEnv(t, "")
	resp, err := e.client.Get(e.p.Issuer() + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal([]byte(readBody(t, resp)), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys; want 1", len(set.Keys))
	}
	k := set.Keys[0]
	for field, want := range map[string]any{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": e.p.currentKey().kid} {
		if k[field] != want {
			t.Errorf("JWKS key %s = %v; want %v", field, k[field], want)
		}
	}
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		if _, ok := k[private]; ok {
			t.Errorf("JWKS key has private member %q", private)
		}
	}
}

func TestAuthCodeFlow(t *testing.T) {
	e := newTestEnv(t, "")
	tests := []struct {
		name  string
		user  User
		basic bool
	}{
		{"verified user, client_secret_basic", testUsers[0], true},
		{"unverified user, client_secret_post", testUsers[1], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nonce := "nonce-" + randomToken()
			// The login matches the email case-insensitively.
			code, verifier := e.authorize(t, strings.ToUpper(tc.user.Email), tc.user.Password, nonce)
			form := e.tokenForm(code, verifier)
			user, pass := testClientID, testSecret
			if !tc.basic {
				form.Set("client_id", testClientID)
				form.Set("client_secret", testSecret)
				user, pass = "", ""
			}
			status, tok := e.postToken(t, form, user, pass)
			if status != http.StatusOK {
				t.Fatalf("POST /token status = %d (%v); want 200", status, tok)
			}
			if tok["token_type"] != "Bearer" || tok["expires_in"] != float64(300) || tok["access_token"] == "" {
				t.Errorf("token response = %v; want Bearer, expires_in 300 and an access token", tok)
			}
			raw, _ := tok["id_token"].(string)
			idt, err := e.verify(t, raw)
			if err != nil {
				t.Fatalf("Verify(id_token) = %v; want nil error", err)
			}
			if idt.Nonce != nonce {
				t.Errorf("id token nonce = %q; want %q", idt.Nonce, nonce)
			}
			claims := idClaimsOf(t, idt)
			want := map[string]any{
				"iss": e.p.Issuer(), "sub": tc.user.Subject, "aud": testClientID, "nonce": nonce,
				"email": tc.user.Email, "email_verified": tc.user.EmailVerified, "name": tc.user.Name,
			}
			for k, v := range want {
				if claims[k] != v {
					t.Errorf("id token claim %s = %v; want %v", k, claims[k], v)
				}
			}
			if exp := time.Until(idt.Expiry); exp < 4*time.Minute || exp > 6*time.Minute {
				t.Errorf("id token expires in %v; want about 5 minutes", exp)
			}

			req, _ := http.NewRequest(http.MethodGet, e.p.Issuer()+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var info map[string]any
			if err := json.Unmarshal([]byte(readBody(t, resp)), &info); err != nil {
				t.Fatal(err)
			}
			wantInfo := map[string]any{"sub": tc.user.Subject, "email": tc.user.Email, "email_verified": tc.user.EmailVerified, "name": tc.user.Name}
			if !reflect.DeepEqual(info, wantInfo) {
				t.Errorf("GET /userinfo = %v; want %v", info, wantInfo)
			}
		})
	}
}

func TestTokenRejected(t *testing.T) {
	e := newTestEnv(t, "")
	tests := []struct {
		name       string
		modify     func(form url.Values, basic *[2]string)
		reuse      bool // redeem the code once correctly first
		expire     bool // let the code expire first
		wantStatus int
		wantError  string
	}{
		{"wrong PKCE verifier", func(f url.Values, _ *[2]string) {
			v, _ := newVerifier()
			f.Set("code_verifier", v)
		}, false, false, 400, "invalid_grant"},
		{"missing PKCE verifier", func(f url.Values, _ *[2]string) { f.Del("code_verifier") }, false, false, 400, "invalid_grant"},
		{"short PKCE verifier", func(f url.Values, _ *[2]string) { f.Set("code_verifier", "abc") }, false, false, 400, "invalid_grant"},
		{"reused code", nil, true, false, 400, "invalid_grant"},
		{"expired code", nil, false, true, 400, "invalid_grant"},
		{"unknown code", func(f url.Values, _ *[2]string) { f.Set("code", "not-a-code") }, false, false, 400, "invalid_grant"},
		{"other redirect_uri", func(f url.Values, _ *[2]string) { f.Set("redirect_uri", e.redirectURI+"x") }, false, false, 400, "invalid_grant"},
		{"wrong client secret", func(_ url.Values, b *[2]string) { b[1] = "wrong" }, false, false, 401, "invalid_client"},
		{"wrong client id", func(_ url.Values, b *[2]string) { b[0] = "other" }, false, false, 401, "invalid_client"},
		{"wrong client secret in form", func(f url.Values, b *[2]string) {
			*b = [2]string{}
			f.Set("client_id", testClientID)
			f.Set("client_secret", testSecret+"x")
		}, false, false, 401, "invalid_client"},
		{"no client authentication", func(_ url.Values, b *[2]string) { *b = [2]string{} }, false, false, 401, "invalid_client"},
		{"two authentication methods", func(f url.Values, _ *[2]string) { f.Set("client_secret", testSecret) }, false, false, 400, "invalid_request"},
		{"wrong grant type", func(f url.Values, _ *[2]string) { f.Set("grant_type", "password") }, false, false, 400, "unsupported_grant_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, verifier := e.authorize(t, testUsers[0].Email, testUsers[0].Password, "n")
			form := e.tokenForm(code, verifier)
			if tc.reuse {
				if status, body := e.postToken(t, form, testClientID, testSecret); status != http.StatusOK {
					t.Fatalf("first POST /token = %d %v; want 200", status, body)
				}
			}
			if tc.expire {
				e.p.now = func() time.Time { return time.Now().Add(codeTTL + time.Second) }
				defer func() { e.p.now = time.Now }()
			}
			basic := [2]string{testClientID, testSecret}
			if tc.modify != nil {
				tc.modify(form, &basic)
			}
			status, body := e.postToken(t, form, basic[0], basic[1])
			if status != tc.wantStatus || body["error"] != tc.wantError {
				t.Errorf("POST /token (%s) = %d %v; want %d %s", tc.name, status, body["error"], tc.wantStatus, tc.wantError)
			}
			if _, ok := body["id_token"]; ok {
				t.Errorf("POST /token (%s) returned an id_token", tc.name)
			}
		})
	}
}

// A failed redemption consumes the code: an attacker who guessed wrong
// cannot try again, and neither can the client.
func TestFailedRedemptionConsumesCode(t *testing.T) {
	e := newTestEnv(t, "")
	code, verifier := e.authorize(t, testUsers[0].Email, testUsers[0].Password, "n")
	bad := e.tokenForm(code, verifier)
	other, _ := newVerifier()
	bad.Set("code_verifier", other)
	if status, _ := e.postToken(t, bad, testClientID, testSecret); status != http.StatusBadRequest {
		t.Fatalf("POST /token with wrong verifier = %d; want 400", status)
	}
	if status, body := e.postToken(t, e.tokenForm(code, verifier), testClientID, testSecret); status != http.StatusBadRequest {
		t.Errorf("POST /token after failed attempt = %d %v; want 400", status, body)
	}
}

func TestUserinfoRejected(t *testing.T) {
	e := newTestEnv(t, "")
	for _, auth := range []string{"", "Bearer ", "Bearer not-a-token", "Basic abc"} {
		t.Run(auth, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.p.Issuer()+"/userinfo", nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			readBody(t, resp)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET /userinfo with Authorization %q = %d; want 401", auth, resp.StatusCode)
			}
		})
	}
}

func TestMethodsAndPaths(t *testing.T) {
	e := newTestEnv(t, "")
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodPost, "/.well-known/openid-configuration", 405},
		{http.MethodPost, "/keys", 405},
		{http.MethodGet, "/token", 405},
		{http.MethodDelete, "/auth", 405},
		{http.MethodGet, "/nope", 404},
		{http.MethodGet, "/keys/", 404},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.p.Issuer()+tc.path, nil)
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			readBody(t, resp)
			if resp.StatusCode != tc.want {
				t.Errorf("%s %s = %d; want %d", tc.method, tc.path, resp.StatusCode, tc.want)
			}
		})
	}
}

// Nothing secret reaches the provider's log: not the client secret, the
// passwords, the codes or the tokens.
func TestProviderLogsNoSecrets(t *testing.T) {
	e := newTestEnv(t, "")
	code, verifier := e.authorize(t, testUsers[0].Email, testUsers[0].Password, "n")
	_, tok := e.postToken(t, e.tokenForm(code, verifier), testClientID, testSecret)
	e.postToken(t, e.tokenForm(code, verifier), testClientID, testSecret+"x") // rejected, logged
	_, challenge := newVerifier()
	action := e.loginForm(t, e.authParams("s", "n", challenge))
	resp, err := e.client.PostForm(action, url.Values{"login": {testUsers[1].Email}, "password": {"typo-" + testUsers[1].Password}})
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	logs := e.logs.String()
	if logs == "" {
		t.Fatal("provider logged nothing; the check below would prove nothing")
	}
	for name, secret := range map[string]string{
		"client secret": testSecret, "password": testUsers[0].Password, "mistyped password": "typo-" + testUsers[1].Password,
		"code": code, "verifier": verifier, "id token": tok["id_token"].(string), "access token": tok["access_token"].(string),
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("provider log contains the %s", name)
		}
	}
}

func TestRedaction(t *testing.T) {
	tests := []struct {
		name   string
		v      any
		secret string
	}{
		{"User", testUsers[0], testUsers[0].Password},
		{"ProviderOptions", ProviderOptions{ClientSecret: testSecret}, testSecret},
		{"ReziOptions", ReziOptions{PrivateKey: "rezi-private-key"}, "rezi-private-key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, format := range []string{"%v", "%+v", "%s"} {
				if got := fmt.Sprintf(format, tc.v); strings.Contains(got, tc.secret) || !strings.Contains(got, "REDACTED") {
					t.Errorf("Sprintf(%q, %s) = %q; want the secret REDACTED", format, tc.name, got)
				}
			}
		})
	}
}

// The relying party's real client stack (x/oauth2 with PKCE, go-oidc) works
// against the provider end to end.
func TestOAuth2ClientFlow(t *testing.T) {
	e := newTestEnv(t, "")
	ctx := gooidc.ClientContext(t.Context(), e.client)
	op, err := gooidc.NewProvider(ctx, e.p.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauth2.Config{
		ClientID: testClientID, ClientSecret: testSecret, Endpoint: op.Endpoint(),
		RedirectURL: e.redirectURI, Scopes: []string{gooidc.ScopeOpenID, "email", "profile"},
	}
	verifier := oauth2.GenerateVerifier()
	action := e.loginFormAt(t, cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("nonce-1")))
	resp, err := e.client.PostForm(action, url.Values{"login": {testUsers[0].Email}, "password": {testUsers[0].Password}})
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	cb := e.lastCallback()
	if cb.Get("state") != "state-1" {
		t.Fatalf("callback state = %q; want state-1", cb.Get("state"))
	}
	tok, err := cfg.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange() = %v; want nil error", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := op.Verifier(&gooidc.Config{ClientID: testClientID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("Verify(id_token) = %v; want nil error", err)
	}
	if idt.Nonce != "nonce-1" || idt.Subject != testUsers[0].Subject {
		t.Errorf("id token nonce, sub = %q, %q; want nonce-1, %q", idt.Nonce, idt.Subject, testUsers[0].Subject)
	}
	ui, err := op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || ui.Email != testUsers[0].Email || !ui.EmailVerified {
		t.Errorf("UserInfo() = %+v, %v; want %s, verified", ui, err, testUsers[0].Email)
	}
}
