package demo

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

const testRedirect = "http://127.0.0.1:4180/oauth2/callback"

func TestStart(t *testing.T) {
	env, err := Start(t.Context(), testRedirect)
	if err != nil {
		t.Fatalf("Start() = %v; want nil error", err)
	}
	defer env.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	for name, raw := range map[string]string{"ProviderURL": env.ProviderURL, "ReziAPIURL": env.ReziAPIURL, "RMSURL": env.RMSURL} {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" {
			t.Errorf("%s = %q; want http://127.0.0.1:PORT", name, raw)
		}
	}
	if !strings.HasSuffix(env.ReziAPIURL, "/v1") {
		t.Errorf("ReziAPIURL = %q; want it to end in /v1", env.ReziAPIURL)
	}
	if env.Provider.Issuer() != env.ProviderURL {
		t.Errorf("Provider.Issuer() = %q; want %q", env.Provider.Issuer(), env.ProviderURL)
	}
	if env.ClientID == "" || len(env.ClientSecret) < 32 || len(env.PrivateKey) < 32 || env.ClientSecret == env.PrivateKey {
		t.Errorf("Start() secrets: client id %q, secret length %d, key length %d; want fresh distinct secrets of 32+ characters",
			env.ClientID, len(env.ClientSecret), len(env.PrivateKey))
	}

	wantUsers := []struct {
		email    string
		verified bool
	}{{"alice@example.com", true}, {"bob@example.com", false}, {"mallory@outsider.example", true}}
	if len(env.Users) != len(wantUsers) {
		t.Fatalf("Start() users = %d; want %d", len(env.Users), len(wantUsers))
	}
	passwords := map[string]bool{}
	for i, w := range wantUsers {
		u := env.Users[i]
		if u.Email != w.email || u.EmailVerified != w.verified || u.Subject == "" || u.Name == "" {
			t.Errorf("Users[%d] = %v verified %v; want %s verified %v with subject and name", i, u, u.EmailVerified, w.email, w.verified)
		}
		if len(u.Password) < 12 || passwords[u.Password] {
			t.Errorf("Users[%d] password: length %d, repeated %v; want a fresh random password", i, len(u.Password), passwords[u.Password])
		}
		passwords[u.Password] = true
	}

	// Provider: go-oidc discovers it.
	if _, err := gooidc.NewProvider(gooidc.ClientContext(t.Context(), client), env.ProviderURL); err != nil {
		t.Errorf("gooidc.NewProvider(%q) = %v; want nil error", env.ProviderURL, err)
	}
	// Only the given redirect URI is accepted.
	_, challenge := newVerifier()
	q := url.Values{"response_type": {"code"}, "client_id": {env.ClientID}, "scope": {"openid"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	for ru, want := range map[string]int{testRedirect: 200, "http://127.0.0.1:4181/oauth2/callback": 400} {
		q.Set("redirect_uri", ru)
		resp, err := client.Get(env.ProviderURL + "/auth?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		if resp.StatusCode != want {
			t.Errorf("GET /auth with redirect_uri %q = %d; want %d", ru, resp.StatusCode, want)
		}
	}
	// Rezi: mounted at ReziAPIURL + /user/token, with the Env's key. A
	// fault answers without the 2 s first-call delay.
	env.Rezi.SetFault(ReziMissingToken)
	for key, want := range map[string]int{env.PrivateKey: 200, "wrong": 401} {
		req, _ := http.NewRequest(http.MethodPost, env.ReziAPIURL+"/user/token", strings.NewReader(goodBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		if resp.StatusCode != want {
			t.Errorf("POST %s/user/token = %d; want %d", env.ReziAPIURL, resp.StatusCode, want)
		}
	}
	if env.Rezi.delay != 2*time.Second {
		t.Errorf("Rezi first-call delay = %v; want 2s", env.Rezi.delay)
	}
	// RMS.
	resp, err := client.Get(env.RMSURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "Demo RMS") {
		t.Errorf("GET %s/ = %d; want the Demo RMS page", env.RMSURL, resp.StatusCode)
	}

	for _, format := range []string{"%v", "%s", "%+v"} {
		s := fmt.Sprintf(format, env)
		if strings.Contains(s, env.ClientSecret) || strings.Contains(s, env.PrivateKey) || strings.Contains(s, env.Users[0].Password) {
			t.Errorf("Sprintf(%q, env) = %q; want no secrets", format, s)
		}
	}

	tr.CloseIdleConnections()
	if err := env.Close(); err != nil {
		t.Errorf("Close() = %v; want nil error", err)
	}
	if err := env.Close(); err != nil {
		t.Errorf("second Close() = %v; want nil error", err)
	}
	for _, raw := range []string{env.ProviderURL, env.ReziAPIURL, env.RMSURL} {
		u, _ := url.Parse(raw)
		if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
			c.Close()
			t.Errorf("dial %s after Close() succeeded; want the server stopped", u.Host)
		}
	}
}

func TestStartSecretsAreFresh(t *testing.T) {
	a, err := Start(t.Context(), testRedirect)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Start(t.Context(), testRedirect)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.ClientSecret == b.ClientSecret || a.PrivateKey == b.PrivateKey || a.Users[0].Password == b.Users[0].Password {
		t.Errorf("two Start() calls share secrets; want fresh ones each time")
	}
	if a.ProviderURL == b.ProviderURL {
		t.Errorf("two Start() calls both serve at %s; want OS-chosen ports", a.ProviderURL)
	}
}

func TestStartStopsWhenContextDone(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	env, err := Start(ctx, testRedirect)
	if err != nil {
		t.Fatal(err)
	}
	// A request hanging at Rezi must not hold up shutdown.
	env.Rezi.SetFault(ReziSlow)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, env.ReziAPIURL+"/user/token", strings.NewReader(goodBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+env.PrivateKey)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for env.Rezi.Calls() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	if err := env.Close(); err != nil {
		t.Errorf("Close() after cancel = %v; want nil error", err)
	}
	// The hanging request never ends by itself; 10 s is far below that and
	// far above a shutdown on any machine.
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown with a hanging request took %v; want it prompt", d)
	}
	<-errc
	u, _ := url.Parse(env.RMSURL)
	if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		c.Close()
		t.Errorf("dial %s after cancel succeeded; want the server stopped", u.Host)
	}
}

func TestStartBadRedirect(t *testing.T) {
	for _, ru := range []string{"", "/oauth2/callback", "ftp://127.0.0.1/cb", "http://127.0.0.1/cb#frag"} {
		if env, err := Start(t.Context(), ru); err == nil {
			env.Close()
			t.Errorf("Start(%q) = nil error; want an error", ru)
		}
	}
}
