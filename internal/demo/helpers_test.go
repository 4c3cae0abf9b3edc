package demo

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"go.uber.org/goleak"

	"github.com/rezigate/rezigate/internal/testsupport/lockedbuf"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testClientID = "test-client"
	testSecret   = "test-client-secret-0123456789"
)

var testUsers = []User{
	{Email: "alice@example.com", Password: "alice-password-1", Subject: "sub-alice", Name: "Alice Example", EmailVerified: true},
	{Email: "bob@example.com", Password: "bob-password-2", Subject: "sub-bob", Name: "Bob Example"},
}

// testEnv is a provider served by httptest, a relying party's callback
// server, and clients that talk to them.
type testEnv struct {
	p           *Provider
	srv         *httptest.Server
	redirectURI string
	client      *http.Client // follows redirects, like a browser
	noFollow    *http.Client // stops at the first response
	logs        *lockedbuf.Buffer

	mu        sync.Mutex
	callbacks []url.Values
}

// newTestEnv starts a provider whose issuer is the server URL plus
// issuerPath ("" or e.g. "/dex").
func newTestEnv(t *testing.T, issuerPath string) *testEnv {
	t.Helper()
	e := &testEnv{logs: &lockedbuf.Buffer{}}
	// The issuer must be known before the provider exists: take it from
	// the listener, then start serving.
	e.srv = httptest.NewUnstartedServer(nil)
	t.Cleanup(e.srv.Close)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.callbacks = append(e.callbacks, r.URL.Query())
		e.mu.Unlock()
		_, _ = io.WriteString(w, "callback reached")
	}))
	t.Cleanup(cb.Close)
	e.redirectURI = cb.URL + "/callback"
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	e.client = &http.Client{Transport: tr}
	e.noFollow = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	p, err := NewProvider(ProviderOptions{
		Issuer:       "http://" + e.srv.Listener.Addr().String() + issuerPath,
		ClientID:     testClientID,
		ClientSecret: testSecret,
		RedirectURIs: []string{e.redirectURI},
		Users:        testUsers,
		Logger:       slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatalf("NewProvider() = %v; want nil error", err)
	}
	e.p = p
	e.srv.Config.Handler = p
	e.srv.Start()
	return e
}

func (e *testEnv) lastCallback() url.Values {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.callbacks) == 0 {
		return nil
	}
	return e.callbacks[len(e.callbacks)-1]
}

// newVerifier returns a PKCE verifier and its S256 challenge.
func newVerifier() (verifier, challenge string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	verifier = base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authParams are the parameters of a correct authorization request.
func (e *testEnv) authParams(state, nonce, challenge string) url.Values {
	return url.Values{
		"response_type":         {"code"},
		"client_id":             {testClientID},
		"redirect_uri":          {e.redirectURI},
		"scope":                 {"openid email profile"},
		"state":                 {state},
		"nonce":                 {nonce},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
}

var formAction = regexp.MustCompile(`<form method="post" action="([^"]*)"`)

// loginForm fetches the login page for params and returns the absolute URL
// its form posts to.
func (e *testEnv) loginForm(t *testing.T, params url.Values) string {
	t.Helper()
	return e.loginFormAt(t, e.p.Issuer()+"/auth?"+params.Encode())
}

// loginFormAt is loginForm for a complete authorization URL.
func (e *testEnv) loginFormAt(t *testing.T, authURL string) string {
	t.Helper()
	resp, err := e.client.Get(authURL)
	if err != nil {
		t.Fatalf("GET /auth: %v", err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /auth status = %d; want 200", resp.StatusCode)
	}
	m := formAction.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("GET /auth page has no login form: %s", body)
	}
	ref, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatalf("form action %q: %v", m[1], err)
	}
	return resp.Request.URL.ResolveReference(ref).String()
}

// authorize runs GET /auth and the login form like a browser and returns
// the code delivered to the callback and the PKCE verifier.
func (e *testEnv) authorize(t *testing.T, email, password, nonce string) (code, verifier string) {
	t.Helper()
	verifier, challenge := newVerifier()
	state := "state-" + randomToken()
	action := e.loginForm(t, e.authParams(state, nonce, challenge))
	resp, err := e.client.PostForm(action, url.Values{"login": {email}, "password": {password}})
	if err != nil {
		t.Fatalf("POST login form: %v", err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || body != "callback reached" {
		t.Fatalf("POST login form ended with %d %q; want the callback", resp.StatusCode, body)
	}
	cb := e.lastCallback()
	if got := cb.Get("state"); got != state {
		t.Fatalf("callback state = %q; want %q", got, state)
	}
	if cb.Get("code") == "" {
		t.Fatalf("callback query %v has no code", cb)
	}
	return cb.Get("code"), verifier
}

// tokenForm is a correct token request body for code.
func (e *testEnv) tokenForm(code, verifier string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {e.redirectURI},
		"code_verifier": {verifier},
	}
}

// postToken sends a token request; a non-empty basicUser uses HTTP Basic.
func (e *testEnv) postToken(t *testing.T, form url.Values, basicUser, basicPass string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.p.Issuer()+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("POST /token: %v", err)
	}
	body := readBody(t, resp)
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("POST /token body %q: %v", body, err)
	}
	return resp.StatusCode, m
}

// tokens runs a whole sign-in for alice and returns the token response.
func (e *testEnv) tokens(t *testing.T, nonce string) (int, map[string]any) {
	t.Helper()
	code, verifier := e.authorize(t, testUsers[0].Email, testUsers[0].Password, nonce)
	return e.postToken(t, e.tokenForm(code, verifier), testClientID, testSecret)
}

// verify checks raw with go-oidc, discovering the provider afresh so its key
// set starts empty.
func (e *testEnv) verify(t *testing.T, raw string) (*gooidc.IDToken, error) {
	t.Helper()
	ctx := gooidc.ClientContext(t.Context(), e.client)
	op, err := gooidc.NewProvider(ctx, e.p.Issuer())
	if err != nil {
		t.Fatalf("gooidc.NewProvider(%q) = %v; want nil error", e.p.Issuer(), err)
	}
	return op.Verifier(&gooidc.Config{ClientID: testClientID}).Verify(ctx, raw)
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

// idClaimsOf decodes an ID token's claims after go-oidc verified it.
func idClaimsOf(t *testing.T, tok *gooidc.IDToken) map[string]any {
	t.Helper()
	var m map[string]any
	if err := tok.Claims(&m); err != nil {
		t.Fatalf("Claims() = %v", err)
	}
	return m
}

// unverifiedClaims decodes a JWT payload without checking anything, for
// tokens go-oidc rightly refuses.
func unverifiedClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts; want 3", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("unmarshal payload: %v", err)
	}
	return m
}
