package oidc

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/rezigate/rezigate/internal/demo"
)

const redirectURL = "http://127.0.0.1:1/oauth2/callback"

const alicePassword = "pw"

var alice = demo.User{Email: "alice@example.com", Password: alicePassword, Subject: "alice", EmailVerified: true}

func startProvider(t *testing.T, ln net.Listener) *demo.Provider {
	t.Helper()
	return startProviderWith(t, ln, alice)
}

// startProviderWith serves the demo provider with users on ln, or on a
// fresh loopback port when ln is nil.
func startProviderWith(t *testing.T, ln net.Listener, users ...demo.User) *demo.Provider {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	if ln != nil {
		srv.Listener.Close()
		srv.Listener = ln
	}
	p, err := demo.NewProvider(demo.ProviderOptions{
		Issuer: "http://" + srv.Listener.Addr().String(), ClientID: "rezigate", ClientSecret: "s3cret-client",
		RedirectURIs: []string{redirectURL},
		Users:        users,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	srv.Start()
	t.Cleanup(srv.Close)
	return p
}

// code signs alice in at the provider and returns the code, like a browser.
func code(t *testing.T, p *Provider, nonce, verifier string) string {
	t.Helper()
	return codeFor(t, p, alice.Email, alicePassword, nonce, verifier)
}

// codeFor signs a user in at the provider and returns the code.
func codeFor(t *testing.T, p *Provider, login, password, nonce, verifier string) string {
	t.Helper()
	auth, err := p.AuthCodeURL("st", nonce, verifier)
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(auth, url.Values{"login": {login}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("provider login = %d %q; want a redirect with a code", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

func newProvider(t *testing.T, issuer string) *Provider {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := New(ctx, Options{IssuerURL: issuer, ClientID: "rezigate", ClientSecret: "s3cret-client", RedirectURL: redirectURL, DiscoveryRetryMax: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExchange(t *testing.T) {
	idp := startProvider(t, nil)
	p := newProvider(t, idp.Issuer())
	if !p.Ready() || p.EndSessionURL() != idp.Issuer()+"/logout" {
		t.Fatalf("Ready() = %v, EndSessionURL() = %q", p.Ready(), p.EndSessionURL())
	}
	auth, _ := p.AuthCodeURL("st", "n1", oauth2.GenerateVerifier())
	q := mustParse(t, auth).Query()
	for k, want := range map[string]string{"response_type": "code", "state": "st", "nonce": "n1", "code_challenge_method": "S256", "client_id": "rezigate", "redirect_uri": redirectURL} {
		if q.Get(k) != want {
			t.Errorf("AuthCodeURL %s = %q; want %q", k, q.Get(k), want)
		}
	}
	if q.Get("code_challenge") == "" || !strings.Contains(q.Get("scope"), "openid") {
		t.Errorf("AuthCodeURL lacks PKCE or the openid scope: %s", auth)
	}

	v := oauth2.GenerateVerifier()
	id, err := p.Exchange(context.Background(), code(t, p, "n2", v), v, "n2")
	if err != nil {
		t.Fatalf("Exchange = %v", err)
	}
	if id.Email != "alice@example.com" || id.Subject != "alice" || !id.EmailVerified || id.Issuer != idp.Issuer() {
		t.Errorf("Exchange = %+v", id)
	}

	tests := []struct {
		name     string
		nonce    string
		verifier string
		want     error
	}{
		{"other nonce", "n4", v, ErrNonceMismatch},
		{"wrong verifier", "n3", oauth2.GenerateVerifier(), nil},
	}
	for _, tc := range tests {
		c := code(t, p, "n3", v)
		_, err := p.Exchange(context.Background(), c, tc.verifier, tc.nonce)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: Exchange = %v; want error %v", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret-client") {
			t.Errorf("%s: error leaks the client secret: %v", tc.name, err)
		}
	}
}

// The provider is down when the proxy starts; discovery is retried until
// it comes up, with no restart.
func TestProviderDownAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := newProvider(t, "http://"+addr)
	if p.Ready() {
		t.Fatal("Ready() = true with the provider down")
	}
	if _, err := p.AuthCodeURL("s", "n", "v"); !errors.Is(err, ErrNotReady) {
		t.Errorf("AuthCodeURL = %v; want ErrNotReady", err)
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s was taken in between: %v", addr, err)
	}
	startProvider(t, ln)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady = %v", err)
	}
	v := oauth2.GenerateVerifier()
	if _, err := p.Exchange(context.Background(), code(t, p, "n", v), v, "n"); err != nil {
		t.Errorf("Exchange after late discovery = %v", err)
	}
}

// New ID tokens verify after the provider rotates its signing key.
func TestKeyRotation(t *testing.T) {
	idp := startProvider(t, nil)
	p := newProvider(t, idp.Issuer())
	v := oauth2.GenerateVerifier()
	if _, err := p.Exchange(context.Background(), code(t, p, "n", v), v, "n"); err != nil {
		t.Fatalf("Exchange before rotation = %v", err)
	}
	if err := idp.RotateKey(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exchange(context.Background(), code(t, p, "n", v), v, "n"); err != nil {
		t.Errorf("Exchange after rotation = %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"empty", Options{}, "IssuerURL: required"},
		{"http issuer off loopback", Options{IssuerURL: "http://login.example.com", ClientID: "c", RedirectURL: redirectURL}, "must be https"},
		{"http issuer on a loopback look-alike", Options{IssuerURL: "http://127.attacker.example.com", ClientID: "c", RedirectURL: redirectURL}, "must be https"},
		{"http issuer on a localhost look-alike", Options{IssuerURL: "http://localhost.evil.com:8080", ClientID: "c", RedirectURL: redirectURL}, "must be https"},
		{"http issuer on the unspecified address", Options{IssuerURL: "http://0.0.0.0:8080", ClientID: "c", RedirectURL: redirectURL}, "must be https"},
		{"relative issuer", Options{IssuerURL: "/x", ClientID: "c", RedirectURL: redirectURL}, "absolute"},
		{"no client", Options{IssuerURL: "https://login.example.com", RedirectURL: redirectURL}, "ClientID"},
		{"no redirect", Options{IssuerURL: "https://login.example.com", ClientID: "c"}, "RedirectURL"},
	}
	for _, tc := range tests {
		err := tc.o.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v; want an error containing %q", tc.name, err, tc.want)
		}
	}
	for _, issuer := range []string{"http://127.0.0.1:5556", "http://127.1.2.3", "http://[::1]:5556/dex", "http://localhost:5556", "http://LOCALHOST"} {
		o := Options{IssuerURL: issuer, ClientID: "c", RedirectURL: redirectURL}
		if err := o.Validate(); err != nil {
			t.Errorf("Validate(IssuerURL: %q) = %v; want nil, http is allowed on loopback", issuer, err)
		}
	}
	ok := Options{IssuerURL: "https://login.example.com", ClientID: "c", ClientSecret: "topsecret", RedirectURL: "https://rms.example.com/oauth2/callback"}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(%v) = %v; want nil", ok, err)
	}
	if strings.Contains(ok.String(), "topsecret") {
		t.Errorf("Options.String() leaks the client secret: %s", ok)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
