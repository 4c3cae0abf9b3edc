//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Ory Hydra is an OpenID provider without users or pages of its own: a
// login and consent app, here hydraApp, shows the login form and tells
// Hydra through its admin API whom to accept and what to put into the ID
// token. The tests run Hydra with DSN=memory and serve all --dev (plain
// http on loopback), and create rezigate's client through the admin API.
// Configuration reference: https://www.ory.sh/docs/hydra/reference/configuration
// (each key is also an environment variable: urls.self.issuer is
// URLS_SELF_ISSUER); the login, consent and logout flows:
// https://www.ory.sh/docs/hydra/guides/login, .../guides/consent,
// .../guides/logout.
const (
	// hydraVersion must match HYDRA_VERSION in install.sh.
	hydraVersion = "v2.3.0"
	// hydraClientID is rezigate's client at Hydra.
	hydraClientID = "rezigate"
	// hydraScope is what the client may ask for: rezigate adds
	// offline_access to its scopes when sessions are refreshed.
	hydraScope = "openid email offline_access"
)

// hydraBinary returns Hydra: $REZIGATE_E2E_HYDRA, else where install.sh
// caches it.
func hydraBinary(t *testing.T) string {
	t.Helper()
	return cachedBinary(t, "hydra", "REZIGATE_E2E_HYDRA", filepath.Join("hydra-"+hydraVersion, "hydra"))
}

// hydraUser is one person the login app knows. Subject is the sub Hydra
// puts into the ID token.
type hydraUser struct {
	Email, Subject string
	Groups         []string
	password       string // fresh for each run
}

// hydra is a running Hydra with its login and consent app.
type hydra struct {
	Issuer       string // as its discovery document says
	Admin        string // admin API base URL
	ClientID     string
	ClientSecret string
	app          *hydraApp
	proc         *process
}

// hydraApp is the login, consent and logout app Hydra sends browsers to.
// It accepts a login with remember: true, so Hydra keeps a login session
// (with a sid) that later sign-ins skip the form for, and a consent
// granting the scopes rezigate's client may have, with email,
// email_verified and groups in the ID token.
type hydraApp struct {
	admin string
	users map[string]hydraUser // by email

	mu      sync.Mutex
	forms   int               // login forms shown
	logouts int               // logout requests accepted
	sids    map[string]string // subject -> login session id of its last consent
}

var hydraLoginForm = template.Must(template.New("login").Parse(`<!doctype html>
<title>Hydra sign-in</title>
<h1 id="hydra-login">Sign in</h1>
{{if .Error}}<p id="error">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="login_challenge" value="{{.Challenge}}">
<input name="email" type="email">
<input name="password" type="password">
<button>Sign in</button>
</form>
`))

func (a *hydraApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var err error
	switch {
	case r.URL.Path == "/login" && r.Method == http.MethodGet:
		err = a.login(w, r)
	case r.URL.Path == "/login" && r.Method == http.MethodPost:
		err = a.submitLogin(w, r)
	case r.URL.Path == "/consent" && r.Method == http.MethodGet:
		err = a.consent(w, r)
	case r.URL.Path == "/logout" && r.Method == http.MethodGet:
		err = a.logout(w, r)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		// A test app: the page is read by the test, which prints it.
		http.Error(w, "hydra login app: "+err.Error(), http.StatusInternalServerError)
	}
}

// login shows the form, or accepts at once when Hydra says the browser
// has a login session (skip).
func (a *hydraApp) login(w http.ResponseWriter, r *http.Request) error {
	challenge := r.URL.Query().Get("login_challenge")
	var req struct {
		Skip    bool   `json:"skip"`
		Subject string `json:"subject"`
	}
	q := url.Values{"login_challenge": {challenge}}
	if _, err := hydraAdmin(r.Context(), a.admin, http.MethodGet, "/admin/oauth2/auth/requests/login", q, nil, &req, http.StatusOK); err != nil {
		return err
	}
	if req.Skip {
		return a.acceptLogin(w, r, challenge, map[string]any{"subject": req.Subject})
	}
	a.mu.Lock()
	a.forms++
	a.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return hydraLoginForm.Execute(w, map[string]string{"Challenge": challenge})
}

func (a *hydraApp) submitLogin(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	challenge := r.PostForm.Get("login_challenge")
	u, ok := a.users[r.PostForm.Get("email")]
	if !ok || u.password != r.PostForm.Get("password") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		return hydraLoginForm.Execute(w, map[string]string{"Challenge": challenge, "Error": "wrong email or password"})
	}
	return a.acceptLogin(w, r, challenge, map[string]any{"subject": u.Subject, "remember": true, "remember_for": 3600})
}

func (a *hydraApp) acceptLogin(w http.ResponseWriter, r *http.Request, challenge string, accept map[string]any) error {
	var done struct {
		RedirectTo string `json:"redirect_to"`
	}
	q := url.Values{"login_challenge": {challenge}}
	if _, err := hydraAdmin(r.Context(), a.admin, http.MethodPut, "/admin/oauth2/auth/requests/login/accept", q, accept, &done, http.StatusOK); err != nil {
		return err
	}
	http.Redirect(w, r, done.RedirectTo, http.StatusFound)
	return nil
}

// consent grants what was asked among the client's scopes, with the
// user's claims in the ID token, and records the login session id (the
// ID token's sid) of the subject.
func (a *hydraApp) consent(w http.ResponseWriter, r *http.Request) error {
	challenge := r.URL.Query().Get("consent_challenge")
	var req struct {
		Subject        string   `json:"subject"`
		RequestedScope []string `json:"requested_scope"`
		Audience       []string `json:"requested_access_token_audience"`
		LoginSessionID string   `json:"login_session_id"`
	}
	q := url.Values{"consent_challenge": {challenge}}
	if _, err := hydraAdmin(r.Context(), a.admin, http.MethodGet, "/admin/oauth2/auth/requests/consent", q, nil, &req, http.StatusOK); err != nil {
		return err
	}
	var u hydraUser
	for _, c := range a.users {
		if c.Subject == req.Subject {
			u = c
		}
	}
	if u.Subject == "" {
		return fmt.Errorf("consent for unknown subject %q", req.Subject)
	}
	var grant []string
	for _, s := range req.RequestedScope {
		if slices.Contains(strings.Fields(hydraScope), s) {
			grant = append(grant, s)
		}
	}
	accept := map[string]any{
		"grant_scope":                 grant,
		"grant_access_token_audience": req.Audience,
		"session": map[string]any{
			"id_token": map[string]any{"email": u.Email, "email_verified": true, "groups": u.Groups},
		},
	}
	var done struct {
		RedirectTo string `json:"redirect_to"`
	}
	if _, err := hydraAdmin(r.Context(), a.admin, http.MethodPut, "/admin/oauth2/auth/requests/consent/accept", q, accept, &done, http.StatusOK); err != nil {
		return err
	}
	a.mu.Lock()
	a.sids[req.Subject] = req.LoginSessionID
	a.mu.Unlock()
	http.Redirect(w, r, done.RedirectTo, http.StatusFound)
	return nil
}

// logout accepts every logout request: Hydra then ends its login session
// and returns the browser to the client's post_logout_redirect_uri.
func (a *hydraApp) logout(w http.ResponseWriter, r *http.Request) error {
	q := url.Values{"logout_challenge": {r.URL.Query().Get("logout_challenge")}}
	var done struct {
		RedirectTo string `json:"redirect_to"`
	}
	if _, err := hydraAdmin(r.Context(), a.admin, http.MethodPut, "/admin/oauth2/auth/requests/logout/accept", q, nil, &done, http.StatusOK); err != nil {
		return err
	}
	a.mu.Lock()
	a.logouts++
	a.mu.Unlock()
	http.Redirect(w, r, done.RedirectTo, http.StatusFound)
	return nil
}

// counts returns how many login forms were shown and logouts accepted.
func (a *hydraApp) counts() (forms, logouts int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.forms, a.logouts
}

// sid is the login session id of subject's last consent: the sid of the
// ID token it led to.
func (a *hydraApp) sid(subject string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sids[subject]
}

var hydraAdminClient = &http.Client{Timeout: 10 * time.Second}

// hydraAdmin calls Hydra's admin API: body (when not nil) is sent as
// JSON, an answer of status want is decoded into out (when not nil). It
// returns the status.
func hydraAdmin(ctx context.Context, base, method, path string, q url.Values, body, out any, want int) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	target := base + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hydraAdminClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return resp.StatusCode, fmt.Errorf("%s %s = %s; want %d: %s", method, path, resp.Status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, nil
}

// startHydra starts the login app and Hydra (public and admin API on
// loopback ports of their own, memory storage), and creates rezigate's
// client for publicURL: its callback, signed-out page and back-channel
// logout URI, the authorization code and refresh token grants, the
// scopes of hydraScope and client_secret_basic.
func startHydra(t *testing.T, users []hydraUser, publicURL string) *hydra {
	t.Helper()
	bin := hydraBinary(t)
	ports := freePorts(t, 2)
	publicPort, adminPort := ports[0], ports[1]
	h := &hydra{
		Admin:        fmt.Sprintf("http://127.0.0.1:%d", adminPort),
		ClientID:     hydraClientID,
		ClientSecret: "hydra-" + randomHex(t, 24),
	}
	h.app = &hydraApp{admin: h.Admin, users: map[string]hydraUser{}, sids: map[string]string{}}
	for _, u := range users {
		h.app.users[u.Email] = u
	}
	app := httptest.NewServer(h.app)
	t.Cleanup(app.Close)

	env := append(baseEnv(),
		"DSN=memory",
		fmt.Sprintf("URLS_SELF_ISSUER=http://127.0.0.1:%d/", publicPort),
		"URLS_LOGIN="+app.URL+"/login",
		"URLS_CONSENT="+app.URL+"/consent",
		"URLS_LOGOUT="+app.URL+"/logout",
		"URLS_POST_LOGOUT_REDIRECT="+publicURL+"/oauth2/signed_out",
		fmt.Sprintf("SERVE_PUBLIC_PORT=%d", publicPort),
		"SERVE_PUBLIC_HOST=127.0.0.1",
		fmt.Sprintf("SERVE_ADMIN_PORT=%d", adminPort),
		"SERVE_ADMIN_HOST=127.0.0.1",
		"SECRETS_SYSTEM="+randomHex(t, 32),
		// A refresh token used twice revokes its whole chain (the
		// default, said here because the replica test relies on it).
		"OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_PERIOD=0s",
		"LOG_LEVEL=debug",
		"LOG_FORMAT=text",
	)
	h.proc = startProcess(t, "hydra", bin, []string{"serve", "all", "--dev", "--sqa-opt-out"}, env)
	waitHTTP(t, h.proc, h.Admin+"/health/ready", http.StatusOK, 30*time.Second)
	discovery := fmt.Sprintf("http://127.0.0.1:%d/.well-known/openid-configuration", publicPort)
	// The first discovery request makes Hydra generate its ID-token
	// signing key (RSA 4096), seconds of CPU on a busy machine.
	waitHTTP(t, h.proc, discovery, http.StatusOK, 60*time.Second)
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if _, err := hydraAdmin(t.Context(), discovery, http.MethodGet, "", nil, nil, &doc, http.StatusOK); err != nil {
		t.Fatalf("hydra discovery: %v", err)
	}
	h.Issuer = doc.Issuer

	client := map[string]any{
		"client_id":                           h.ClientID,
		"client_secret":                       h.ClientSecret,
		"client_name":                         "rezigate",
		"redirect_uris":                       []string{publicURL + "/oauth2/callback"},
		"post_logout_redirect_uris":           []string{publicURL + "/oauth2/signed_out"},
		"backchannel_logout_uri":              publicURL + "/oauth2/backchannel_logout",
		"backchannel_logout_session_required": true,
		"grant_types":                         []string{"authorization_code", "refresh_token"},
		"response_types":                      []string{"code"},
		"scope":                               hydraScope,
		"token_endpoint_auth_method":          "client_secret_basic",
	}
	var created struct {
		ClientID string `json:"client_id"`
	}
	if _, err := hydraAdmin(t.Context(), h.Admin, http.MethodPost, "/admin/clients", nil, client, &created, http.StatusCreated); err != nil {
		t.Fatalf("create rezigate's client at hydra: %v", err)
	}
	if created.ClientID != h.ClientID {
		t.Fatalf("hydra created client %q; want %q", created.ClientID, h.ClientID)
	}
	return h
}

var (
	hydraFormAction    = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	hydraFormChallenge = regexp.MustCompile(`name="login_challenge" value="([^"]*)"`)
)

// errNoHydraForm means a sign-in reached its end without the login form:
// Hydra skipped it for a browser that has a login session.
var errNoHydraForm = errors.New("no login form")

// hydraFormLogin follows start to the login app's form and submits u's
// email and password there. It returns the response the redirects end in
// (body open), or errNoHydraForm with the response when the redirects
// ended without the form.
func hydraFormLogin(t *testing.T, c *http.Client, start string, u hydraUser) (*http.Response, error) {
	t.Helper()
	resp, err := c.Get(start)
	if err != nil {
		t.Fatalf("GET %s: %v", start, err)
	}
	body := readBody(t, resp)
	m, ch := hydraFormAction.FindStringSubmatch(body), hydraFormChallenge.FindStringSubmatch(body)
	if m == nil || ch == nil || !strings.Contains(body, `id="hydra-login"`) {
		resp.Body = io.NopCloser(strings.NewReader(body))
		return resp, errNoHydraForm
	}
	action, err := resp.Request.URL.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatalf("login form action %q: %v", m[1], err)
	}
	form := url.Values{"login_challenge": {html.UnescapeString(ch[1])}, "email": {u.Email}, "password": {u.password}}
	resp, err = c.PostForm(action.String(), form)
	if err != nil {
		t.Fatalf("POST the login form as %s: %v", u.Email, err)
	}
	return resp, nil
}
