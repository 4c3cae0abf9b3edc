//go:build e2e

package e2e

import (
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/oauth2"
	"gopkg.in/yaml.v3"
)

// dexUser is one of Dex's static password users.
type dexUser struct {
	Email, Password, UserID, Name string
	EmailVerified                 bool
	// Groups are the "groups" claim, issued when the client asks for
	// the groups scope.
	Groups []string
}

// The users every Dex in these tests knows. The allowed domain is
// example.com; mallory is outside it; bob is inside it but unverified.
var (
	alice   = dexUser{Email: "alice@example.com", Password: "alice-e2e-password", UserID: "0001-alice", Name: "Alice", EmailVerified: true, Groups: []string{"rms-users", "staff"}}
	mallory = dexUser{Email: "mallory@outsider.example", Password: "mallory-e2e-password", UserID: "0002-mallory", Name: "Mallory", EmailVerified: true}
	bob     = dexUser{Email: "bob@example.com", Password: "bob-e2e-password", UserID: "0003-bob", Name: "Bob", EmailVerified: false}
)

var dexUsers = []dexUser{alice, mallory, bob}

// dexSubject is the sub claim Dex gives a static password user: the
// base64url protobuf of {user_id: userID, conn_id: "local"}. The tests
// recompute rezigate's uid from it.
func dexSubject(userID string) string {
	field := func(num byte, s string) []byte {
		return append([]byte{num<<3 | 2, byte(len(s))}, s...) // short strings only
	}
	b := append(field(1, userID), field(2, "local")...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// dex is a running Dex.
type dex struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	proc         *process
}

// startDex writes a Dex config for port and starts Dex; redirectURIs are
// the client's allowed redirect URIs, matched exactly by Dex.
func startDex(t *testing.T, port int, redirectURIs ...string) *dex {
	t.Helper()
	bin := dexBinary(t)
	d := &dex{
		Issuer:       fmt.Sprintf("http://127.0.0.1:%d/dex", port),
		ClientID:     "rezigate",
		ClientSecret: randomHex(t, 24),
	}
	var passwords []map[string]any
	for _, u := range dexUsers {
		// Dex refuses hashes cheaper than bcrypt.DefaultCost.
		hash, err := bcrypt.GenerateFromPassword([]byte(u.Password), bcrypt.DefaultCost)
		if err != nil {
			t.Fatalf("bcrypt: %v", err)
		}
		passwords = append(passwords, map[string]any{
			"email":         u.Email,
			"hash":          string(hash),
			"username":      u.Name,
			"userID":        u.UserID,
			"emailVerified": u.EmailVerified,
			"groups":        u.Groups,
		})
	}
	cfg := map[string]any{
		"issuer":  d.Issuer,
		"storage": map[string]any{"type": "memory"},
		"web":     map[string]any{"http": "127.0.0.1:" + strconv.Itoa(port)},
		"logger":  map[string]any{"level": "debug", "format": "text"},
		"oauth2": map[string]any{
			"skipApprovalScreen": true,
			"responseTypes":      []string{"code"},
		},
		"staticClients": []map[string]any{{
			"id":           d.ClientID,
			"secret":       d.ClientSecret,
			"name":         "rezigate",
			"redirectURIs": redirectURIs,
		}},
		"enablePasswordDB": true,
		"staticPasswords":  passwords,
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatalf("dex config: %v", err)
	}
	path := filepath.Join(t.TempDir(), "dex.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("dex config: %v", err)
	}
	d.proc = startProcess(t, "dex", bin, []string{"serve", path}, baseEnv())
	waitHTTP(t, d.proc, d.Issuer+"/.well-known/openid-configuration", http.StatusOK, 20*time.Second)
	return d
}

// newJarClient is an HTTP client with its own cookie jar that follows
// redirects, as a browser does, but answers within timeout.
func newJarClient(t *testing.T, timeout time.Duration) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("cookie jar: %v", err)
	}
	return &http.Client{Jar: jar, Timeout: timeout}
}

var formAction = regexp.MustCompile(`<form method="post" action="([^"]*)"`)

// dexFormLogin follows start to Dex's password form, submits u's email and
// password there, and returns the response the redirects end in. The body
// of the returned response is open.
func dexFormLogin(t *testing.T, c *http.Client, start string, u dexUser) *http.Response {
	t.Helper()
	resp, err := c.Get(start)
	if err != nil {
		t.Fatalf("GET %s: %v", start, err)
	}
	body := readBody(t, resp)
	m := formAction.FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, `name="password"`) {
		t.Fatalf("GET %s ended at %s (%s) without Dex's password form:\n%s", start, resp.Request.URL, resp.Status, body)
	}
	action, err := resp.Request.URL.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatalf("Dex form action %q: %v", m[1], err)
	}
	resp, err = c.PostForm(action.String(), url.Values{"login": {u.Email}, "password": {u.Password}})
	if err != nil {
		t.Fatalf("POST Dex login form as %s: %v", u.Email, err)
	}
	return resp
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("read body of %s: %v", resp.Request.URL, err)
	}
	return string(b)
}

// TestDexStaticUsers checks the Dex set-up itself, so a failure of the
// rezigate tests can be told apart from a broken provider: each static
// user signs in through the password form and gets a verifiable ID token
// with the email, email_verified and sub the other tests rely on.
func TestDexStaticUsers(t *testing.T) {
	var codes = make(chan url.Values, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case codes <- r.URL.Query():
		default:
		}
		_, _ = w.Write([]byte("callback"))
	}))
	defer cb.Close()
	port := freePorts(t, 1)[0]
	d := startDex(t, port, cb.URL+"/callback")

	ctx, cancel := withTimeout(t, 60*time.Second)
	defer cancel()
	provider, err := gooidc.NewProvider(ctx, d.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := oauth2.Config{
		ClientID:     d.ClientID,
		ClientSecret: d.ClientSecret,
		Endpoint:     provider.Endpoint(),
		RedirectURL:  cb.URL + "/callback",
		Scopes:       []string{gooidc.ScopeOpenID, "email", "profile", "groups"},
	}
	verifier := provider.Verifier(&gooidc.Config{ClientID: d.ClientID})
	for _, u := range dexUsers {
		t.Run(u.Email, func(t *testing.T) {
			verifierPKCE := oauth2.GenerateVerifier()
			start := conf.AuthCodeURL("state-"+u.UserID, oauth2.S256ChallengeOption(verifierPKCE))
			resp := dexFormLogin(t, newJarClient(t, 10*time.Second), start, u)
			body := readBody(t, resp)
			var q url.Values
			select {
			case q = <-codes:
			default:
				t.Fatalf("login as %s ended at %s (%s) without reaching the callback:\n%s", u.Email, resp.Request.URL, resp.Status, body)
			}
			if got, want := q.Get("state"), "state-"+u.UserID; got != want {
				t.Fatalf("callback state = %q; want %q", got, want)
			}
			tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifierPKCE))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := verifier.Verify(ctx, raw)
			if err != nil {
				t.Fatalf("verify ID token: %v", err)
			}
			var claims struct {
				Email         string   `json:"email"`
				EmailVerified bool     `json:"email_verified"`
				Groups        []string `json:"groups"`
			}
			if err := idt.Claims(&claims); err != nil {
				t.Fatalf("claims: %v", err)
			}
			if claims.Email != u.Email || claims.EmailVerified != u.EmailVerified {
				t.Errorf("ID token email, email_verified = %q, %v; want %q, %v", claims.Email, claims.EmailVerified, u.Email, u.EmailVerified)
			}
			if !slices.Equal(claims.Groups, u.Groups) {
				t.Errorf("ID token groups = %q; want %q", claims.Groups, u.Groups)
			}
			if got, want := idt.Subject, dexSubject(u.UserID); got != want {
				t.Errorf("ID token sub = %q; want %q", got, want)
			}
		})
	}
}
