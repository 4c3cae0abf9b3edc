package middleware

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/handoff"
	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/internal/testsupport/freeport"
	"github.com/rezigate/rezigate/internal/testsupport/lockedbuf"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/proxy"
	"github.com/rezigate/rezigate/rezi"
	"github.com/rezigate/rezigate/sessions"
)

// Test secrets; the leak checks search every response and log for them.
const (
	testClientSecret = "client-secret-7b1f3c9e2d"
	testPrivateKey   = "rezi-private-key-5c8e1a2f9b7d"
	testSessionKey   = "session-secret-0123456789abcdef0123456789"
	testUIDSecret    = "uid-secret-abcdefghijklmnopqrstuvwxyz012345"
	alicePassword    = "alice-pw"
)

var testUsers = []demo.User{
	{Email: "alice@example.com", Password: alicePassword, Subject: "alice-sub", EmailVerified: true},
	{Email: "bob@example.com", Password: "bob-pw", Subject: "bob-sub", EmailVerified: false},
	{Email: "mallory@outsider.example", Password: "mallory-pw", Subject: "mallory-sub", EmailVerified: true},
}

// env is a whole deployment on loopback: the demo provider, Rezi stand-in
// and RMS, and rezigate (middleware + proxy) in front of the RMS.
type env struct {
	t        *testing.T
	provider *demo.Provider
	rezi     *demo.Rezi
	rms      *demo.RMS
	auth     *Auth
	srv      *httptest.Server
	client   *http.Client
	logs     *lockedbuf.Buffer
	bodies   []string // every response body seen, for leak checks
}

type envOptions struct {
	mod         func(*Options)
	proxyMod    func(*proxy.Options) // nil: the proxy as newEnv builds it
	upstream    http.Handler         // nil: the demo RMS
	reziTimeout time.Duration
	users       []demo.User // nil means testUsers
	// tweak, when not nil, adjusts the middleware before it serves.
	tweak func(*Auth)
	// scopes are the provider client's scopes; nil means the default.
	scopes []string
	// providerWrap, when not nil, wraps the demo provider's handler (to
	// watch what it answers).
	providerWrap func(http.Handler) http.Handler
}

func newEnv(t *testing.T, eo envOptions) *env {
	t.Helper()
	e := &env{t: t, logs: &lockedbuf.Buffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	e.srv = httptest.NewUnstartedServer(nil)
	public := "http://" + e.srv.Listener.Addr().String()

	provSrv := httptest.NewUnstartedServer(nil)
	users := eo.users
	if users == nil {
		users = testUsers
	}
	var err error
	e.provider, err = demo.NewProvider(demo.ProviderOptions{
		Issuer: "http://" + provSrv.Listener.Addr().String(), ClientID: "rezigate", ClientSecret: testClientSecret,
		RedirectURIs: []string{public + "/oauth2/callback"}, Users: users, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	provSrv.Config.Handler = e.provider
	if eo.providerWrap != nil {
		provSrv.Config.Handler = eo.providerWrap(e.provider)
	}
	provSrv.Start()
	t.Cleanup(provSrv.Close)

	e.rezi, err = demo.NewRezi(demo.ReziOptions{PrivateKey: testPrivateKey, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	reziSrv := httptest.NewServer(e.rezi)
	t.Cleanup(reziSrv.Close)
	e.rms = demo.NewRMS()
	var upstream http.Handler = e.rms
	if eo.upstream != nil {
		upstream = eo.upstream
	}
	rmsSrv := httptest.NewServer(upstream)
	t.Cleanup(rmsSrv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := oidc.New(ctx, oidc.Options{
		IssuerURL: e.provider.Issuer(), ClientID: "rezigate", ClientSecret: testClientSecret,
		RedirectURL: public + "/oauth2/callback", Logger: log, Scopes: eo.scopes,
	})
	if err != nil {
		t.Fatal(err)
	}
	timeout := eo.reziTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	rc, err := rezi.New(rezi.Options{APIURL: reziSrv.URL + "/v1", PrivateKey: testPrivateKey, Timeout: timeout, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Provider: p, PublicURL: public,
		Session:   sessions.Settings{Secrets: [][]byte{[]byte(testSessionKey)}, InsecureCookies: true},
		UIDSecret: []byte(testUIDSecret), Policy: policy.Options{AllowedEmailDomains: []string{"example.com"}},
		Handoff:     handoff.Options{Rezi: rc, LoginURL: rmsSrv.URL + "/login/"},
		ServeHealth: true, Logger: log,
	}
	if eo.mod != nil {
		eo.mod(&opts)
	}
	e.auth, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	up, _ := url.Parse(rmsSrv.URL)
	pub, _ := url.Parse(public)
	po := proxy.Options{Upstream: up, PublicURL: pub, Identity: userIdentity, StripCookies: e.auth.OwnCookie, Logger: log}
	if eo.proxyMod != nil {
		eo.proxyMod(&po)
	}
	px, err := proxy.New(po)
	if err != nil {
		t.Fatal(err)
	}
	if eo.tweak != nil {
		eo.tweak(e.auth)
	}
	e.srv.Config.Handler = e.auth.Wrap(px)
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.client = newClient()
	return e
}

// userIdentity is proxy.Options.Identity for requests that went through Wrap.
func userIdentity(r *http.Request) (email, uid string, ok bool) {
	u, ok := UserFromContext(r.Context())
	return u.Email, u.UID, ok
}

func newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// wantUID computes the documented formula independently of the code.
func wantUID(issuer, sub string) string {
	m := hmac.New(sha256.New, []byte(testUIDSecret))
	io.WriteString(m, issuer+"|"+sub)
	return hex.EncodeToString(m.Sum(nil))
}

type response struct {
	*http.Response
	body string
}

// do sends a request to rezigate (path) or anywhere (absolute URL) and
// reads the body.
func (e *env) do(c *http.Client, method, target string, hdr http.Header, form url.Values) response {
	e.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = e.srv.URL + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
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

var navigate = http.Header{"Sec-Fetch-Mode": {"navigate"}, "Accept": {"text/html"}}

func (e *env) get(path string) response {
	e.t.Helper()
	return e.do(e.client, "GET", path, navigate, nil)
}

// signIn walks a browser from target through the provider's login form
// and returns the callback's response (not followed).
func (e *env) signIn(c *http.Client, target, email, password string) response {
	e.t.Helper()
	r := e.do(c, "GET", target, navigate, nil)
	for i := 0; i < 5; i++ {
		if r.StatusCode != http.StatusFound {
			e.t.Fatalf("sign-in from %s stopped at %d: %s", target, r.StatusCode, r.body)
		}
		loc := r.Header.Get("Location")
		if strings.HasPrefix(loc, e.provider.Issuer()+"/auth") {
			r = e.do(c, "POST", loc, nil, url.Values{"login": {email}, "password": {password}})
			if r.StatusCode != http.StatusFound {
				e.t.Fatalf("provider login: %d %s", r.StatusCode, r.body)
			}
			return e.do(c, "GET", r.Header.Get("Location"), navigate, nil)
		}
		r = e.do(c, "GET", loc, navigate, nil)
	}
	e.t.Fatalf("sign-in from %s never reached the provider", target)
	return r
}

// authURL starts a sign-in and returns the provider URL it redirects to.
func (e *env) authURL(c *http.Client, rd string) string {
	e.t.Helper()
	r := e.do(c, "GET", "/oauth2/start?rd="+url.QueryEscape(rd), navigate, nil)
	if r.StatusCode != http.StatusFound {
		e.t.Fatalf("/oauth2/start = %d; want 302", r.StatusCode)
	}
	return r.Header.Get("Location")
}

// loginAt submits the provider's form at authURL and returns the callback URL.
func (e *env) loginAt(c *http.Client, authURL, email, password string) string {
	e.t.Helper()
	r := e.do(c, "POST", authURL, nil, url.Values{"login": {email}, "password": {password}})
	if r.StatusCode != http.StatusFound {
		e.t.Fatalf("provider login: %d %s", r.StatusCode, r.body)
	}
	return r.Header.Get("Location")
}

func sessionCookie(r response) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == sessions.DefaultCookieName && c.MaxAge > 0 {
			return c
		}
	}
	return nil
}

// checkNoLeaks fails if any secret appears in a response body or the log.
func (e *env) checkNoLeaks(extra ...string) {
	e.t.Helper()
	secrets := append([]string{testClientSecret, testPrivateKey, testSessionKey, testUIDSecret, alicePassword}, extra...)
	all := strings.Join(e.bodies, "\n") + e.logs.String()
	for _, s := range secrets {
		if s != "" && strings.Contains(all, s) {
			e.t.Errorf("secret %q leaked into a response or the log", s)
		}
	}
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	port, err := freeport.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// setPolicy makes p the policy of o, keeping the email domains o allows
// (the harness's example.com) unless p names its own.
func setPolicy(o *Options, p policy.Options) {
	if p.AllowedEmailDomains == nil {
		p.AllowedEmailDomains = o.Policy.AllowedEmailDomains
	}
	o.Policy = p
}
