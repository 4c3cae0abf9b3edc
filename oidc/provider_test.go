package oidc

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/internal/testsupport/freeport"
	"github.com/rezigate/rezigate/optionerr"
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
	port, err := freeport.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	p := newProvider(t, "http://"+addr)
	if p.Ready() {
		t.Fatal("Ready() = true with the provider down")
	}
	if _, err := p.AuthCodeURL("s", "n", "v"); !errors.Is(err, ErrNotReady) {
		t.Errorf("AuthCodeURL = %v; want ErrNotReady", err)
	}
	ln, err := net.Listen("tcp", addr)
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
// TestKeyRotation: after the provider rotates its key, sign-ins verify
// again once MinKeyRefetchInterval has passed since the last JWKS fetch
// (the limiter's clock is moved; nothing sleeps).
func TestKeyRotation(t *testing.T) {
	idp := startProvider(t, nil)
	p := newProvider(t, idp.Issuer())
	start := time.Now()
	p.keys.now = func() time.Time { return start }
	v := oauth2.GenerateVerifier()
	if _, err := p.Exchange(context.Background(), code(t, p, "n", v), v, "n"); err != nil {
		t.Fatalf("Exchange before rotation = %v", err)
	}
	if err := idp.RotateKey(); err != nil {
		t.Fatal(err)
	}
	p.keys.now = func() time.Time { return start.Add(MinKeyRefetchInterval) }
	if _, err := p.Exchange(context.Background(), code(t, p, "n", v), v, "n"); err != nil {
		t.Errorf("Exchange after rotation = %v", err)
	}
}

// TestValidate has one case per rule: each breaks one field of a valid
// Options and expects exactly the listed field errors.
func TestValidate(t *testing.T) {
	const secret = "topsecret-client-9f3b"
	valid := func() Options {
		return Options{IssuerURL: "https://login.example.com", ClientID: "c", ClientSecret: secret, RedirectURL: "https://rms.example.com/oauth2/callback"}
	}
	tests := []struct {
		name   string
		mutate func(*Options)
		want   []string // "Field: message start"; nil means valid
	}{
		{"valid", func(o *Options) {}, nil},
		{"public client", func(o *Options) { o.ClientSecret = "" }, nil},
		{"http issuer on 127.0.0.1", func(o *Options) { o.IssuerURL = "http://127.0.0.1:5556" }, nil},
		{"http issuer on 127.1.2.3", func(o *Options) { o.IssuerURL = "http://127.1.2.3" }, nil},
		{"http issuer on ::1", func(o *Options) { o.IssuerURL = "http://[::1]:5556/dex" }, nil},
		{"http issuer on localhost", func(o *Options) { o.IssuerURL = "http://localhost:5556" }, nil},
		{"http issuer on LOCALHOST", func(o *Options) { o.IssuerURL = "http://LOCALHOST" }, nil},
		{"issuer with trailing slash", func(o *Options) { o.IssuerURL = "https://accounts.example.com/" }, nil},
		{"http redirect", func(o *Options) { o.RedirectURL = "http://rms.example.com/oauth2/callback" }, nil},
		{"redirect with query", func(o *Options) { o.RedirectURL = "https://rms.example.com/oauth2/callback?x=1" }, nil},
		{"only openid", func(o *Options) { o.Scopes = []string{"openid"} }, nil},
		{"more scopes", func(o *Options) { o.Scopes = []string{"groups", "openid", "offline_access"} }, nil},
		{"discovery retry", func(o *Options) { o.DiscoveryRetryMax = time.Second }, nil},

		{"empty", func(o *Options) { *o = Options{} }, []string{"IssuerURL: required", "ClientID: required", "RedirectURL: required"}},
		{"issuer missing", func(o *Options) { o.IssuerURL = "" }, []string{"IssuerURL: required"}},
		{"http issuer off loopback", func(o *Options) { o.IssuerURL = "http://login.example.com" }, []string{"IssuerURL: must be an absolute https URL"}},
		{"http issuer on a loopback look-alike", func(o *Options) { o.IssuerURL = "http://127.attacker.example.com" }, []string{"IssuerURL: must be an absolute https URL"}},
		{"http issuer on 127.0.0.1.evil.com", func(o *Options) { o.IssuerURL = "http://127.0.0.1.evil.com" }, []string{"IssuerURL: must be an absolute https URL"}},
		{"http issuer on a localhost look-alike", func(o *Options) { o.IssuerURL = "http://localhost.evil.com:8080" }, []string{"IssuerURL: must be an absolute https URL"}},
		{"http issuer on the unspecified address", func(o *Options) { o.IssuerURL = "http://0.0.0.0:8080" }, []string{"IssuerURL: must be an absolute https URL"}},
		{"relative issuer", func(o *Options) { o.IssuerURL = "/x" }, []string{"IssuerURL: must be an absolute https URL"}},
		{"issuer without scheme", func(o *Options) { o.IssuerURL = "login.example.com" }, []string{"IssuerURL: must be an absolute https URL"}},
		{"issuer other scheme", func(o *Options) { o.IssuerURL = "ftp://login.example.com" }, []string{"IssuerURL: must be an absolute https URL"}},
		{"issuer with query", func(o *Options) { o.IssuerURL = "https://login.example.com/?tenant=a" }, []string{"IssuerURL: must not have a query or fragment"}},
		{"issuer with fragment", func(o *Options) { o.IssuerURL = "https://login.example.com#x" }, []string{"IssuerURL: must not have a query or fragment"}},
		{"issuer with empty query", func(o *Options) { o.IssuerURL = "https://login.example.com?" }, []string{"IssuerURL: must not have a query or fragment"}},
		{"issuer with user", func(o *Options) { o.IssuerURL = "https://u:" + secret + "@login.example.com" }, []string{"IssuerURL: must not contain a user name or password"}},
		{"client id missing", func(o *Options) { o.ClientID = "" }, []string{"ClientID: required"}},
		{"client id blank", func(o *Options) { o.ClientID = "  " }, []string{"ClientID: required"}},
		{"redirect missing", func(o *Options) { o.RedirectURL = "" }, []string{"RedirectURL: required"}},
		{"redirect relative", func(o *Options) { o.RedirectURL = "/oauth2/callback" }, []string{"RedirectURL: must be an absolute http or https URL with a host"}},
		{"redirect other scheme", func(o *Options) { o.RedirectURL = "javascript:alert(1)" }, []string{"RedirectURL: must be an absolute http or https URL with a host"}},
		{"redirect with fragment", func(o *Options) { o.RedirectURL = "https://rms.example.com/oauth2/callback#x" }, []string{"RedirectURL: must not have a fragment"}},
		{"redirect with user", func(o *Options) { o.RedirectURL = "https://u:" + secret + "@rms.example.com/cb" }, []string{"RedirectURL: must not contain a user name or password"}},
		// The rule is package httpurl's: rezi and assertion refused spaces before oidc did.
		{"redirect with a space", func(o *Options) { o.RedirectURL = "https://rms.example.com/oauth2/call back" }, []string{"RedirectURL: must be an absolute http or https URL with a host"}},
		{"scopes without openid", func(o *Options) { o.Scopes = []string{"email", "profile"} }, []string{`Scopes: must include "openid"`}},
		{"scopes empty but not nil", func(o *Options) { o.Scopes = []string{} }, []string{`Scopes: must include "openid"`}},
		{"openid in another case", func(o *Options) { o.Scopes = []string{"OpenID"} }, []string{`Scopes: must include "openid"`}},
		{"scope with a space", func(o *Options) { o.Scopes = []string{"openid", "email profile"} }, []string{"Scopes[1]: must be a scope name"}},
		{"scope empty", func(o *Options) { o.Scopes = []string{"openid", ""} }, []string{"Scopes[1]: must be a scope name"}},
		{"scope with a quote", func(o *Options) { o.Scopes = []string{`a"b`, "openid"} }, []string{"Scopes[0]: must be a scope name"}},
		{"scope with a backslash", func(o *Options) { o.Scopes = []string{"openid", `a\b`} }, []string{"Scopes[1]: must be a scope name"}},
		{"scope not ASCII", func(o *Options) { o.Scopes = []string{"openid", "é"} }, []string{"Scopes[1]: must be a scope name"}},
		{"negative discovery retry", func(o *Options) { o.DiscoveryRetryMax = -time.Second }, []string{"DiscoveryRetryMax: must not be negative"}},
		{"spaced groups claim", func(o *Options) { o.GroupsClaim = " groups" }, []string{"GroupsClaim: must not have leading or trailing spaces"}},
		{"every problem at once", func(o *Options) {
			o.IssuerURL, o.ClientID, o.RedirectURL, o.Scopes, o.DiscoveryRetryMax = "http://x.example", "", "x", []string{"a b"}, -1
		}, []string{"IssuerURL:", "ClientID:", "RedirectURL:", "Scopes[0]:", "Scopes:", "DiscoveryRetryMax:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := valid()
			tc.mutate(&o)
			err := o.Validate()
			fields := optionerr.Fields(err)
			if len(fields) != len(tc.want) {
				t.Fatalf("Validate() = %v; want %d field errors %q", err, len(tc.want), tc.want)
			}
			for i, fe := range fields {
				if got := fe.Field + ": " + fe.Msg; fe.Pkg != "oidc" || !strings.HasPrefix(got, tc.want[i]) {
					t.Errorf("Validate() problem %d = %q (package %q); want it to start %q in package oidc", i, fe, fe.Pkg, tc.want[i])
				}
				if !strings.HasPrefix(fe.Error(), "oidc: "+fe.Field+": ") {
					t.Errorf("Validate() problem %d reads %q; want the prefix %q", i, fe, "oidc: "+fe.Field+": ")
				}
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("Validate() = %v; leaks the client secret", err)
			}
			// New refuses exactly what Validate refuses, with the same error.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err != nil {
				_, nerr := New(ctx, o)
				if nerr == nil || nerr.Error() != err.Error() {
					t.Errorf("New() = %v; want Validate's error %v", nerr, err)
				}
			}
		})
	}
	if s := valid().String(); strings.Contains(s, secret) {
		t.Errorf("Options.String() leaks the client secret: %s", s)
	}
}

// TestNewScopes checks that nil Scopes asks for DefaultScopes, that a
// given list is sent as it is, and that the Provider keeps its own copy.
func TestNewScopes(t *testing.T) {
	idp := startProvider(t, nil)
	scopesOf := func(p *Provider) string {
		auth, err := p.AuthCodeURL("st", "n", oauth2.GenerateVerifier())
		if err != nil {
			t.Fatal(err)
		}
		return mustParse(t, auth).Query().Get("scope")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := New(ctx, Options{IssuerURL: idp.Issuer(), ClientID: "rezigate", RedirectURL: redirectURL})
	if err != nil {
		t.Fatal(err)
	}
	if got := scopesOf(p); got != "openid email profile" {
		t.Errorf("scope with nil Scopes = %q; want %q", got, "openid email profile")
	}
	mine := []string{"email", "openid"}
	p, err = New(ctx, Options{IssuerURL: idp.Issuer(), ClientID: "rezigate", RedirectURL: redirectURL, Scopes: mine})
	if err != nil {
		t.Fatal(err)
	}
	mine[0] = "groups"
	if got := scopesOf(p); got != "email openid" {
		t.Errorf("scope with Scopes %q = %q; want %q, unaffected by a later change to the slice", []string{"email", "openid"}, got, "email openid")
	}
	if _, err := New(ctx, Options{IssuerURL: idp.Issuer(), ClientID: "rezigate", RedirectURL: redirectURL, Scopes: []string{"email"}}); err == nil {
		t.Errorf("New(Scopes without openid) = nil error; want an error, not a quietly added openid")
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
