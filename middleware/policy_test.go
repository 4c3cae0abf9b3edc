package middleware

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/proxy"
)

// Users of the policy tests. The cookie store keeps only the groups the
// policy names, so "unnamed" never reaches a session.
var policyUsers = []demo.User{
	{Email: "alice@example.com", Password: "alice-pw", Subject: "alice-sub", EmailVerified: true, Groups: []string{"staff", "unnamed", "rms-admins"}},
	{Email: "carol@example.com", Password: "carol-pw", Subject: "carol-sub", EmailVerified: true, Groups: []string{"staff"}},
	{Email: "dave@example.com", Password: "dave-pw", Subject: "dave-sub", EmailVerified: true, Groups: []string{"contractors"}},
	{Email: "nogroups@example.com", Password: "nogroups-pw", Subject: "nogroups-sub", EmailVerified: true},
}

// testPolicy lets staff sign in, keeps /admin/ and /rezi for rms-admins
// and POST /api/reports for rms-admins or one listed address.
var testPolicy = policy.Options{
	AllowGroups: []string{"staff", "rms-admins"},
	Routes: []policy.Route{
		{Path: "/admin/", Groups: []string{"rms-admins"}, Line: 10},
		{Path: "/rezi", Groups: []string{"rms-admins"}, Line: 12},
		{Path: "/api/reports", Methods: []string{"POST"}, Groups: []string{"rms-admins"}, Emails: []string{"Carol.Boss@example.com"}, Line: 14},
	},
}

// seen is what the upstream received: the request target as written on
// the wire and the headers.
type seen struct {
	target string
	header http.Header
}

// recorder is an upstream that remembers every request it got.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, seen{r.RequestURI, r.Header.Clone()})
	rec.mu.Unlock()
	_, _ = io.WriteString(w, "upstream "+r.RequestURI)
}

// take returns the requests received since the last call.
func (rec *recorder) take() []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := rec.reqs
	rec.reqs = nil
	return out
}

type policyEnv struct {
	*env
	up *recorder
}

func newPolicyEnv(t *testing.T, mod func(*Options), proxyMod func(*proxy.Options)) *policyEnv {
	t.Helper()
	rec := &recorder{}
	e := newEnv(t, envOptions{users: policyUsers, upstream: rec, proxyMod: func(po *proxy.Options) {
		po.Groups = func(r *http.Request) []string {
			u, _ := UserFromContext(r.Context())
			return u.Groups
		}
		if proxyMod != nil {
			proxyMod(po)
		}
	}, mod: func(o *Options) {
		setPolicy(o, testPolicy)
		if mod != nil {
			mod(o)
		}
	}})
	return &policyEnv{env: e, up: rec}
}

// cookieOf signs a user in and returns their session cookie as a Cookie
// header value.
func (e *policyEnv) cookieOf(email, password string) string {
	e.t.Helper()
	c := newClient()
	r := e.signIn(c, "/", email, password)
	sc := sessionCookie(r)
	if sc == nil {
		e.t.Fatalf("sign-in of %s set no session cookie: %d %s", email, r.StatusCode, r.body)
	}
	return sc.Name + "=" + sc.Value
}

// raw sends one request exactly as written (the target is not cleaned or
// re-escaped by any client) and returns the response and its body.
func raw(t *testing.T, addr, method, target string, hdr [][2]string) (*http.Response, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, addr)
	for _, h := range hdr {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func (e *policyEnv) addr() string { return strings.TrimPrefix(e.srv.URL, "http://") }

// A user in none of AllowGroups gets the sign-in 403 page and no
// session; a user in one of them signs in.
func TestPolicySignInAllowGroups(t *testing.T) {
	e := newPolicyEnv(t, nil, nil)
	tests := []struct {
		email, password string
		want            int
	}{
		{"dave@example.com", "dave-pw", http.StatusForbidden},
		{"nogroups@example.com", "nogroups-pw", http.StatusForbidden},
		{"carol@example.com", "carol-pw", http.StatusFound},
	}
	for _, tc := range tests {
		t.Run(tc.email, func(t *testing.T) {
			c := newClient()
			r := e.signIn(c, "/", tc.email, tc.password)
			if r.StatusCode != tc.want {
				t.Fatalf("callback = %d; want %d", r.StatusCode, tc.want)
			}
			sc := sessionCookie(r)
			if tc.want == http.StatusForbidden {
				if sc != nil {
					t.Errorf("refused sign-in set a session cookie %s", sc.Name)
				}
				if !strings.Contains(r.body, "not allowed to use this site") {
					t.Errorf("403 page = %q; want the refusal page", r.body)
				}
				if back := e.do(c, "GET", "/", nil, nil); back.StatusCode != http.StatusUnauthorized {
					t.Errorf("after a refused sign-in GET / = %d; want 401 (no session)", back.StatusCode)
				}
			} else if sc == nil {
				t.Errorf("allowed sign-in set no session cookie")
			}
		})
	}
	if !strings.Contains(e.logs.String(), "sign-in refused: in none of the groups allowed to sign in") {
		t.Errorf("log lacks the refusal line")
	}
}

// A signed-in user denied by a route gets 403: a page for a navigation,
// small JSON otherwise; the log names the rule and the uid.
func TestPolicyRouteDenied(t *testing.T) {
	e := newPolicyEnv(t, nil, nil)
	alice := e.cookieOf("alice@example.com", "alice-pw")
	carol := e.cookieOf("carol@example.com", "carol-pw")
	carolUID := wantUID(e.provider.Issuer(), "carol-sub")
	html := [][2]string{{"Sec-Fetch-Mode", "navigate"}, {"Accept", "text/html"}}
	api := [][2]string{{"Accept", "application/json"}}
	tests := []struct {
		name     string
		method   string
		target   string
		cookie   string
		hdr      [][2]string
		want     int
		wantBody string
		wantLog  string
	}{
		{"admin page for a navigation", "GET", "/admin/users", carol, html, 403, "not allowed to open this page", "rule=0 rule_path=/admin/ rule_line=10"},
		{"admin JSON for a script", "GET", "/admin/users", carol, api, 403, forbiddenJSON, "rule=0 rule_path=/admin/"},
		{"admin itself", "GET", "/admin", carol, api, 403, forbiddenJSON, "rule=0"},
		{"rezi is a route too", "GET", "/rezi", carol, html, 403, "not allowed to open this page", "rule=1 rule_path=/rezi rule_line=12"},
		{"method route", "POST", "/api/reports", carol, api, 403, forbiddenJSON, "rule=2 rule_path=/api/reports"},
		{"method route other method", "GET", "/api/reports", carol, api, 200, "upstream /api/reports", ""},
		{"admin allowed", "GET", "/admin/users", alice, api, 200, "upstream /admin/users", ""},
		{"elsewhere default allow", "GET", "/administrator", carol, api, 200, "upstream /administrator", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := raw(t, e.addr(), tc.method, tc.target, append([][2]string{{"Cookie", tc.cookie}, {"Content-Length", "0"}}, tc.hdr...))
			if resp.StatusCode != tc.want || !strings.Contains(body, tc.wantBody) {
				t.Errorf("%s %s = %d %q; want %d with %q", tc.method, tc.target, resp.StatusCode, body, tc.want, tc.wantBody)
			}
			if tc.want == 403 {
				if got := e.up.take(); len(got) != 0 {
					t.Errorf("a denied request reached the upstream: %+v", got)
				}
				if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control = %q; want no-store", cc)
				}
			}
			if tc.wantLog != "" {
				line := logLine(e.logs.String(), "request denied by policy", "path="+strings.SplitN(tc.target, "?", 2)[0])
				if !strings.Contains(line, tc.wantLog) || !strings.Contains(line, "uid="+carolUID) {
					t.Errorf("log line %q; want %q and uid=%s", line, tc.wantLog, carolUID)
				}
			}
		})
	}
}

// logLine returns the last log line containing every one of parts.
func logLine(logs string, parts ...string) string {
	lines := strings.Split(logs, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(lines[i], p)
		}
		if ok {
			return lines[i]
		}
	}
	return ""
}

// Paths are judged as the upstream reads them and forwarded as judged;
// ambiguous ones get 400 and never reach a rule or the upstream. Every
// shape goes through a real listener, written raw on the wire.
func TestPolicyPathShapes(t *testing.T) {
	e := newPolicyEnv(t, nil, nil)
	alice := e.cookieOf("alice@example.com", "alice-pw")
	carol := e.cookieOf("carol@example.com", "carol-pw")
	tests := []struct {
		name       string
		target     string
		cookie     string
		want       int
		wantTarget string // as the upstream got it; "" = not reached
	}{
		{"plain", "/admin/x", alice, 200, "/admin/x"},
		{"plain denied", "/admin/x", carol, 403, ""},
		{"repeated slashes denied", "//admin//x", carol, 403, ""},
		{"repeated slashes forwarded merged", "//admin//x", alice, 200, "/admin/x"},
		{"escaped letter denied", "/%61dmin/x", carol, 403, ""},
		{"escaped letter forwarded decoded", "/%61dmin/x", alice, 200, "/admin/x"},
		{"dot dot denied", "/public/../admin/x", carol, 403, ""},
		{"dot dot forwarded resolved", "/public/../admin/x", alice, 200, "/admin/x"},
		{"encoded dots denied", "/public/%2e%2e/admin", carol, 403, ""},
		{"encoded dots forwarded", "/public/%2E%2E/admin/", alice, 200, "/admin/"},
		{"dot segment", "/./admin", carol, 403, ""},
		{"trailing dot", "/admin/.", carol, 403, ""},
		{"case kept", "/ADMIN", carol, 200, "/ADMIN"},
		{"query not matched", "/public?next=/admin", carol, 200, "/public?next=/admin"},
		{"query kept when judged", "/admin?x=/public", carol, 403, ""},
		{"query forwarded with normalised path", "//admin?x=1", alice, 200, "/admin?x=1"},
		{"other escapes kept, hex upper-cased", "/public/%c3%a9", carol, 200, "/public/%C3%A9"},
		{"reserved escape kept", "/public/a%3Bb", carol, 200, "/public/a%3Bb"},
		{"encoded slash", "/admin%2Fx", alice, 400, ""},
		{"encoded slash lower", "/public%2fadmin", alice, 400, ""},
		{"encoded backslash", "/a%5Cb", alice, 400, ""},
		{"raw backslash", `/a\b`, alice, 400, ""},
		{"encoded NUL", "/a%00b", alice, 400, ""},
		{"above the root", "/../admin", alice, 400, ""},
		{"encoded above the root", "/%2e%2e/admin", alice, 400, ""},
		{"malformed escape", "/a%zz", alice, 400, ""},
		{"overlong UTF-8", "/a%C0%AFb", alice, 400, ""},
		{"bad path before sign-in", "/admin%2Fx", "", 400, ""},
		{"no session: sign in", "/admin/x", "", 401, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := [][2]string{{"Accept", "application/json"}}
			if tc.cookie != "" {
				hdr = append(hdr, [2]string{"Cookie", tc.cookie})
			}
			resp, body := raw(t, e.addr(), "GET", tc.target, hdr)
			if resp.StatusCode != tc.want {
				t.Errorf("GET %s = %d %q; want %d", tc.target, resp.StatusCode, body, tc.want)
			}
			// net/http itself refuses a malformed escape with its own 400.
			if tc.want == 400 && body != badPathJSON && tc.name != "malformed escape" {
				t.Errorf("GET %s body = %q; want %q", tc.target, body, badPathJSON)
			}
			got := e.up.take()
			switch {
			case tc.wantTarget == "" && len(got) != 0:
				t.Errorf("GET %s reached the upstream as %q", tc.target, got[0].target)
			case tc.wantTarget != "" && (len(got) != 1 || got[0].target != tc.wantTarget):
				t.Errorf("GET %s reached the upstream as %+v; want exactly %q", tc.target, got, tc.wantTarget)
			}
		})
	}
	// A navigation to a refused path gets the 400 page.
	resp, body := raw(t, e.addr(), "GET", "/a%2Fb", [][2]string{{"Sec-Fetch-Mode", "navigate"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "not accepted here") {
		t.Errorf("navigation to /a%%2Fb = %d %q; want the 400 page", resp.StatusCode, body)
	}
}

// Without routes nothing is judged, so nothing is refused and paths go
// upstream exactly as they came, as before policies existed.
func TestPolicyNoRoutesLeavesPaths(t *testing.T) {
	e := newPolicyEnv(t, func(o *Options) { setPolicy(o, policy.Options{AllowGroups: []string{"staff"}}) }, nil)
	carol := e.cookieOf("carol@example.com", "carol-pw")
	for _, target := range []string{"/admin%2Fx", "//a//b", "/a/../b"} {
		resp, _ := raw(t, e.addr(), "GET", target, [][2]string{{"Cookie", carol}})
		got := e.up.take()
		if resp.StatusCode != 200 || len(got) != 1 || got[0].target != target {
			t.Errorf("GET %s = %d, upstream %+v; want 200 and the path unchanged", target, resp.StatusCode, got)
		}
	}
}

// The upstream gets X-Forwarded-Groups with the session's groups, and
// never a client's copy in any spelling.
func TestPolicyGroupsHeader(t *testing.T) {
	e := newPolicyEnv(t, nil, nil)
	alice := e.cookieOf("alice@example.com", "alice-pw")
	nog := newPolicyEnv(t, func(o *Options) { setPolicy(o, policy.Options{}) }, nil)
	nogCookie := nog.cookieOf("nogroups@example.com", "nogroups-pw")
	tests := []struct {
		name  string
		e     *policyEnv
		hdr   [][2]string
		want  []string
		wantN int
	}{
		{"named groups only", e, [][2]string{{"Cookie", alice}}, []string{"staff,rms-admins"}, 1},
		{"spoofed copies stripped", e, [][2]string{{"Cookie", alice}, {"X-Forwarded-Groups", "evil"}, {"x-forwarded-groups", "evil2"}, {"X_Forwarded_Groups", "evil3"}, {"x_FORWARDED-groups", "evil4"}}, []string{"staff,rms-admins"}, 1},
		{"no groups: no header, spoofed copies stripped", nog, [][2]string{{"Cookie", nogCookie}, {"X-Forwarded-Groups", "rms-admins"}, {"X_Forwarded_Groups", "rms-admins"}}, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := raw(t, tc.e.addr(), "GET", "/public", tc.hdr)
			got := tc.e.up.take()
			if resp.StatusCode != 200 || len(got) != 1 {
				t.Fatalf("GET /public = %d, upstream %d requests", resp.StatusCode, len(got))
			}
			n := 0
			for k, v := range got[0].header {
				if strings.EqualFold(strings.ReplaceAll(k, "_", "-"), "X-Forwarded-Groups") {
					n++
					if !slices.Equal(v, tc.want) {
						t.Errorf("upstream %s = %q; want %q", k, v, tc.want)
					}
				}
			}
			if n != tc.wantN {
				t.Errorf("upstream got %d groups headers (%v); want %d", n, got[0].header, tc.wantN)
			}
		})
	}
}

// Forward-auth applies the routes to the original request named by a
// trusted proxy; from any other peer those headers are ignored, and with
// routes the answer is then 403, never 202.
func TestPolicyForwardAuth(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	elsewhere := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	trusted := newPolicyEnv(t, func(o *Options) { o.TrustedProxies = loopback }, nil)
	untrusted := newPolicyEnv(t, func(o *Options) { o.TrustedProxies = elsewhere }, nil)
	noRoutes := newPolicyEnv(t, func(o *Options) { setPolicy(o, policy.Options{AllowGroups: []string{"staff"}}) }, nil)
	cookies := map[*policyEnv]map[string]string{}
	for _, e := range []*policyEnv{trusted, untrusted, noRoutes} {
		cookies[e] = map[string]string{
			"alice": e.cookieOf("alice@example.com", "alice-pw"),
			"carol": e.cookieOf("carol@example.com", "carol-pw"),
		}
	}
	tests := []struct {
		name string
		e    *policyEnv
		user string
		hdr  [][2]string
		want int
	}{
		{"trusted X-Forwarded-Uri denied", trusted, "carol", [][2]string{{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/admin/x?y=1"}}, 403},
		{"trusted X-Forwarded-Uri allowed", trusted, "alice", [][2]string{{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/admin/x"}}, 202},
		{"trusted X-Forwarded-Uri elsewhere", trusted, "carol", [][2]string{{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/public"}}, 202},
		{"trusted X-Original-URI denied", trusted, "carol", [][2]string{{"X-Original-Method", "GET"}, {"X-Original-URI", "/admin/x"}}, 403},
		{"trusted X-Original-URI allowed", trusted, "carol", [][2]string{{"X-Original-Method", "GET"}, {"X-Original-URI", "/public"}}, 202},
		{"normalised before judging", trusted, "carol", [][2]string{{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "//%61dmin/./x"}}, 403},
		{"method judged", trusted, "carol", [][2]string{{"X-Forwarded-Method", "POST"}, {"X-Forwarded-Uri", "/api/reports"}}, 403},
		{"method missing while routes list methods", trusted, "carol", [][2]string{{"X-Forwarded-Uri", "/public"}}, 403},
		{"bad path", trusted, "alice", [][2]string{{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/admin%2Fx"}}, 403},
		{"absolute URI", trusted, "carol", [][2]string{{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "http://rms/admin"}}, 403},
		{"two URIs", trusted, "carol", [][2]string{{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/public"}, {"X-Forwarded-Uri", "/admin"}}, 403},
		{"no original request", trusted, "alice", nil, 403},
		{"client's X-Forwarded-Uri beside the edge's X-Original-URI", trusted, "carol", [][2]string{{"X-Original-Method", "GET"}, {"X-Original-URI", "/admin/"}, {"X-Forwarded-Uri", "/public"}}, 403},
		{"both spellings agreeing", trusted, "carol", [][2]string{{"X-Original-Method", "GET"}, {"X-Original-URI", "/public"}, {"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/public"}}, 202},
		{"methods disagreeing", trusted, "carol", [][2]string{{"X-Original-Method", "POST"}, {"X-Original-URI", "/public"}, {"X-Forwarded-Method", "GET"}}, 403},
		{"untrusted peer: headers ignored", untrusted, "carol", [][2]string{{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/public"}}, 403},
		{"untrusted peer: X-Original ignored", untrusted, "alice", [][2]string{{"X-Original-Method", "GET"}, {"X-Original-URI", "/public"}}, 403},
		{"no routes: 202 as before", noRoutes, "carol", nil, 202},
		{"no session", trusted, "", [][2]string{{"X-Forwarded-Uri", "/public"}}, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := slices.Clone(tc.hdr)
			if tc.user != "" {
				hdr = append(hdr, [2]string{"Cookie", cookies[tc.e][tc.user]})
			}
			resp, _ := raw(t, tc.e.addr(), "GET", "/oauth2/auth", hdr)
			if resp.StatusCode != tc.want {
				t.Errorf("/oauth2/auth = %d; want %d", resp.StatusCode, tc.want)
			}
			if got := resp.Header.Get("X-Auth-Request-Email"); (tc.want == 202) != (got != "") {
				t.Errorf("X-Auth-Request-Email = %q on a %d", got, resp.StatusCode)
			}
			if tc.want == 202 && tc.user == "alice" {
				if g := resp.Header.Get("X-Auth-Request-Groups"); g != "staff,rms-admins" {
					t.Errorf("X-Auth-Request-Groups = %q; want staff,rms-admins", g)
				}
				if u := resp.Header.Get("X-Auth-Request-User"); u != wantUID(tc.e.provider.Issuer(), "alice-sub") {
					t.Errorf("X-Auth-Request-User = %q", u)
				}
			}
		})
	}
}

// With an assertion signer, every proxied request carries a JWT that
// verifies against the JWK Set rezigate serves without a session; client
// copies are stripped in every spelling. Forward-auth's 202 carries one
// too.
func TestPolicyAssertion(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var signer *assertion.Signer
	var public string
	e := newPolicyEnv(t, func(o *Options) {
		public = o.PublicURL
		signer, err = assertion.NewSigner(assertion.SignerOptions{Keys: []*ecdsa.PrivateKey{key}, Issuer: o.PublicURL, Audience: "rms"})
		if err != nil {
			t.Fatal(err)
		}
		o.Assertion, o.AssertionHeader = signer, "X-Gate-Assertion"
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}, func(po *proxy.Options) {
		po.Assertion, po.AssertionHeader = signer, "X-Gate-Assertion"
	})
	alice := e.cookieOf("alice@example.com", "alice-pw")

	// The JWK Set needs no session and is not proxied.
	resp, body := raw(t, e.addr(), "GET", assertion.JWKSPath, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=300" || !strings.Contains(body, `"keys"`) {
		t.Fatalf("GET %s = %d %q %q", assertion.JWKSPath, resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	if got := e.up.take(); len(got) != 0 {
		t.Errorf("the JWK Set request reached the upstream")
	}
	v, err := assertion.NewVerifier(context.Background(), assertion.VerifierOptions{JWKSURL: public + assertion.JWKSPath, Issuer: public, Audience: "rms"})
	if err != nil {
		t.Fatal(err)
	}

	forged, err := signer.Assertion(assertion.Claims{Subject: "someone-else", Email: "boss@example.com", Groups: []string{"rms-admins"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, _ = raw(t, e.addr(), "GET", "/public", [][2]string{{"Cookie", alice},
		{"X-Gate-Assertion", forged}, {"x_gate_assertion", forged}, {"X-Rezigate-Assertion", forged}, {"x-rezigate_assertion", forged}})
	got := e.up.take()
	if resp.StatusCode != 200 || len(got) != 1 {
		t.Fatalf("GET /public = %d, %d upstream requests", resp.StatusCode, len(got))
	}
	for k := range got[0].header {
		n := strings.ToLower(strings.ReplaceAll(k, "_", "-"))
		if (n == "x-gate-assertion" && k != "X-Gate-Assertion") || n == "x-rezigate-assertion" {
			t.Errorf("a client copy reached the upstream as %s", k)
		}
	}
	toks := got[0].header["X-Gate-Assertion"]
	if len(toks) != 1 || toks[0] == forged {
		t.Fatalf("upstream assertion headers = %q; want exactly one, rezigate's", toks)
	}
	ver, err := v.Verify(context.Background(), toks[0])
	if err != nil {
		t.Fatalf("Verify(upstream assertion) = %v", err)
	}
	if c := ver.Claims; c.Subject != wantUID(e.provider.Issuer(), "alice-sub") || c.Email != "alice@example.com" || !slices.Equal(c.Groups, []string{"staff", "rms-admins"}) {
		t.Errorf("assertion claims = %+v", c)
	}

	resp, _ = raw(t, e.addr(), "GET", "/oauth2/auth", [][2]string{{"Cookie", alice}, {"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/admin/"}})
	if resp.StatusCode != 202 {
		t.Fatalf("/oauth2/auth = %d; want 202", resp.StatusCode)
	}
	if _, err := v.Verify(context.Background(), resp.Header.Get("X-Gate-Assertion")); err != nil {
		t.Errorf("Verify(forward-auth assertion) = %v", err)
	}
}

// A user in 200 groups, 20 of which the policy names, has a session
// cookie under the 4096 bytes browsers keep, though it keeps the ID token
// that names all 200 (compressed), and the upstream sees only the named
// groups.
func TestPolicyCookieSize200Groups(t *testing.T) {
	all := make([]string, 200)
	for i := range all {
		all[i] = fmt.Sprintf("corp-group-%03d", i)
	}
	var routes []policy.Route
	var named []string
	for i := 0; i < 20; i++ {
		g := all[i*10]
		named = append(named, g)
		routes = append(routes, policy.Route{Path: fmt.Sprintf("/area-%02d", i), Groups: []string{g}})
	}
	users := []demo.User{{Email: "erin.longname@example.com", Password: "erin-pw", Subject: "erin-sub", EmailVerified: true, Groups: all}}
	rec := &recorder{}
	e := newEnv(t, envOptions{users: users, upstream: rec, mod: func(o *Options) {
		setPolicy(o, policy.Options{Routes: routes})
	}, proxyMod: func(po *proxy.Options) {
		po.Groups = func(r *http.Request) []string { u, _ := UserFromContext(r.Context()); return u.Groups }
	}})
	r := e.signIn(newClient(), "/", "erin.longname@example.com", "erin-pw")
	sc := sessionCookie(r)
	if sc == nil {
		t.Fatalf("no session cookie: %d", r.StatusCode)
	}
	size := len(sc.Name) + 1 + len(sc.Value)
	t.Logf("session cookie for a user in 200 groups, 20 named: %d bytes (name=value)", size)
	if size > 4096 {
		t.Errorf("session cookie is %d bytes; want at most 4096", size)
	}
	resp, _ := raw(t, strings.TrimPrefix(e.srv.URL, "http://"), "GET", "/area-03/x", [][2]string{{"Cookie", sc.Name + "=" + sc.Value}})
	got := rec.take()
	if resp.StatusCode != 200 || len(got) != 1 {
		t.Fatalf("GET /area-03/x = %d, %d upstream requests", resp.StatusCode, len(got))
	}
	if h := got[0].header.Get("X-Forwarded-Groups"); h != strings.Join(named, ",") {
		t.Errorf("X-Forwarded-Groups = %q; want the 20 named groups %q", h, strings.Join(named, ","))
	}
}

// The middleware refuses an invalid policy, naming the policy's field.
func TestPolicyOptionsValidate(t *testing.T) {
	o := validOptions(t)
	setPolicy(&o, policy.Options{Routes: []policy.Route{{Path: "admin", Groups: []string{"a"}}}})
	o.TrustedProxies = []netip.Prefix{{}}
	o.AssertionHeader = "bad header"
	err := o.Validate()
	for _, want := range []string{"policy: Routes[0].Path: must start with /", "middleware: TrustedProxies[0]: must be a valid CIDR", "middleware: AssertionHeader: must be a header name"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want %q", err, want)
		}
	}
	if _, err := New(o); err == nil {
		t.Error("New(invalid policy) = nil error")
	}
}

// A user in more of the named groups than a cookie holds is refused with
// a page that says why, not a 500.
func TestPolicyTooManyGroupsForACookie(t *testing.T) {
	var all []string
	var routes []policy.Route
	for i := 0; i < 100; i++ {
		g := fmt.Sprintf("department-of-very-long-group-names-%03d", i)
		all = append(all, g)
		routes = append(routes, policy.Route{Path: fmt.Sprintf("/area-%03d", i), Groups: []string{g}})
	}
	users := []demo.User{{Email: "erin@example.com", Password: "erin-pw", Subject: "erin-sub", EmailVerified: true, Groups: all}}
	e := newEnv(t, envOptions{users: users, mod: func(o *Options) { setPolicy(o, policy.Options{Routes: routes}) }})
	c := newClient()
	cb := e.loginAt(c, e.authURL(c, "/"), "erin@example.com", "erin-pw")
	r := e.do(c, "GET", cb, navigate, nil)
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "more of the groups") {
		t.Errorf("sign-in of a user in 100 long named groups = %d %q; want 403 saying why", r.StatusCode, r.body)
	}
	if sessionCookie(r) != nil {
		t.Error("a session cookie was set anyway")
	}
}
