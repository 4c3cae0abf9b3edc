package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/config"
	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/sessions"
)

// explainPolicy is the policy both explain and the server read.
const explainPolicy = `public_url: "http://127.0.0.1:4180"
policy:
  allow_groups: ["staff", "rms-admins"]
  default: "deny"
  routes:
    - path: "/admin/"
      groups: ["rms-admins"]
    - path: "/api/reports"
      methods: ["POST"]
      emails: ["boss@example.com"]
    - path: "/secret"
      methods: ["GET"]
      groups: ["rms-admins"]
    - path: "/"
      groups: ["staff", "rms-admins"]
oidc:
  allowed_email_domains: ["Example.com"]
`

// explainCases is the one table that both explain and the server (built
// by build, as serve builds it) judge. A case names the user, as the demo
// provider signs them in, and one request; wantSignIn is the sign-in rule
// that refuses the user, empty when they may sign in.
var explainCases = []struct {
	name          string
	email, groups string
	method        string
	target        string
	wantExit      int
	wantOut       []string
	wantSignIn    policy.SignInRule
	wantStatus    int // the server's answer to the request; unused when the sign-in is refused
}{
	{"admin allowed", "ada@example.com", "rms-admins", "GET", "/admin/users", 0, []string{"rule:     policy.routes[0] /admin/ (line 6)", "reason:   in group rms-admins", "decision: allowed"}, "", 200},
	{"admin denied", "sam@example.com", "staff", "GET", "/admin/users", 2, []string{"rule:     policy.routes[0] /admin/ (line 6)", "not in any of rms-admins", "decision: denied (403)"}, "", 403},
	{"normalised first", "sam@example.com", "staff", "GET", "//%61dmin/./users", 2, []string{"path:     /admin/users", "policy.routes[0]"}, "", 403},
	{"dot dot", "sam@example.com", "staff", "GET", "/public/../admin", 2, []string{"path:     /admin", "decision: denied (403)"}, "", 403},
	{"email route", "Boss@Example.com", "staff", "POST", "/api/reports", 0, []string{"policy.routes[1] /api/reports (line 8)", "listed email boss@example.com"}, "", 200},
	{"email route refuses others", "sam@example.com", "staff", "POST", "/api/reports", 2, []string{"policy.routes[1]", "email not listed"}, "", 403},
	{"method falls through", "sam@example.com", "staff", "GET", "/api/reports", 0, []string{"policy.routes[3] / (line 14)", "in group staff"}, "", 200},
	{"GET route", "sam@example.com", "staff", "GET", "/secret", 2, []string{"rule:     policy.routes[2] /secret (line 11)", "decision: denied (403)"}, "", 403},
	{"HEAD is GET", "sam@example.com", "staff", "HEAD", "/secret", 2, []string{"rule:     policy.routes[2] /secret (line 11)", "decision: denied (403)"}, "", 403},
	{"HEAD is GET, allowed", "ada@example.com", "rms-admins", "HEAD", "/secret", 0, []string{"policy.routes[2] /secret (line 11)", "decision: allowed"}, "", 200},
	{"other methods fall through a GET route", "sam@example.com", "staff", "POST", "/secret", 0, []string{"policy.routes[3] / (line 14)", "decision: allowed"}, "", 200},
	{"query not matched", "sam@example.com", "staff", "GET", "/public?x=/admin", 0, []string{"path:     /public", "decision: allowed"}, "", 200},
	{"encoded slash refused", "ada@example.com", "rms-admins", "GET", "/admin%2Fusers", 2, []string{"refused with 400", "encoded / or \\", "decision: denied (400)"}, "", 400},
	{"backslash refused", "ada@example.com", "rms-admins", "GET", `/a\b`, 2, []string{"refused with 400"}, "", 400},
	{"NUL refused", "ada@example.com", "rms-admins", "GET", "/a%00", 2, []string{"refused with 400", "NUL"}, "", 400},
	{"above the root refused", "ada@example.com", "rms-admins", "GET", "/../admin", 2, []string{"refused with 400", "above the root"}, "", 400},
	{"servlet path parameter refused", "sam@example.com", "staff", "GET", "/admin;jsessionid=1/", 2, []string{"refused with 400", "path parameters change the route"}, "", 400},
	{"servlet dot dot refused", "sam@example.com", "staff", "GET", "/x/..;/admin/", 2, []string{"refused with 400", "path parameters on a dot segment"}, "", 400},
	{"path parameter changing no route", "sam@example.com", "staff", "GET", "/public/file;v=1", 0, []string{"path:     /public/file;v=1", "decision: allowed"}, "", 200},
	// The sign-in rules: explain refuses whom the callback refuses.
	{"domain in another case", "Bea@EXAMPLE.COM", "staff", "GET", "/public", 0, []string{"decision: allowed"}, "", 200},
	{"not in allow_groups", "eve@example.com", "contractors", "GET", "/public", 2, []string{"sign-in:  refused: in none of policy.allow_groups"}, policy.RuleAllowGroups, 0},
	{"domain not allowed", "eve@evil.example", "staff", "GET", "/public", 2, []string{"sign-in:  refused: email domain not in oidc.allowed_email_domains"}, policy.RuleEmailDomains, 0},
	{"subdomain not allowed", "eve@mail.example.com", "staff", "GET", "/public", 2, []string{"sign-in:  refused: email domain not in oidc.allowed_email_domains"}, policy.RuleEmailDomains, 0},
	{"look-alike domain", "eve@example.com.evil.example", "rms-admins", "GET", "/admin/users", 2, []string{"sign-in:  refused: email domain"}, policy.RuleEmailDomains, 0},
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func explainArgs(path, email, groups, method, target string) []string {
	args := []string{"-config", path, "-email", email}
	if groups != "" {
		args = append(args, "-groups", groups)
	}
	return append(args, method, target)
}

// TestExplainAgreesWithServer runs every case of the one table through
// explain and through the server that serve builds from the same file:
// each user signs in through the demo provider, so the callback applies
// the sign-in rules, then makes the request, directly and as forward-auth
// is asked about it. Both must agree on the decision and on the rule that
// made it, sign-in refusals included.
func TestExplainAgreesWithServer(t *testing.T) {
	srv := newPolicyServer(t)
	for _, tc := range explainCases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runExplain(explainArgs(srv.config, tc.email, tc.groups, tc.method, tc.target), secretEnv(), &out, &errOut)
			if code != tc.wantExit {
				t.Errorf("explain exit = %d; want %d\n%s%s", code, tc.wantExit, out.String(), errOut.String())
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("explain output lacks %q:\n%s", w, out.String())
				}
			}
			refusedBy := ""
			if strings.Contains(out.String(), "sign-in:  refused") {
				refusedBy = "sign-in"
			}

			cookie, status, rule := srv.signIn(t, tc.email)
			if tc.wantSignIn != "" {
				if status != http.StatusForbidden || cookie != "" || rule != string(tc.wantSignIn) {
					t.Errorf("server: sign-in of %s = %d, session %t, rule %q; want 403, no session, rule %q", tc.email, status, cookie != "", rule, tc.wantSignIn)
				}
				if refusedBy != "sign-in" || !strings.Contains(out.String(), signInRefusal(tc.wantSignIn)) {
					t.Errorf("the server refused the sign-in by %s; explain said:\n%s", tc.wantSignIn, out.String())
				}
				return
			}
			if cookie == "" {
				t.Fatalf("server: sign-in of %s = %d with no session; explain said:\n%s", tc.email, status, out.String())
			}
			if refusedBy != "" {
				t.Errorf("the server let %s sign in; explain said:\n%s", tc.email, out.String())
			}

			status, upstream, denied := srv.send(t, cookie, tc.method, tc.target, nil)
			if status != tc.wantStatus {
				t.Errorf("server: %s %s = %d; want %d", tc.method, tc.target, status, tc.wantStatus)
			}
			if (status == 200) != (code == 0) {
				t.Errorf("explain exit %d but the server answered %d", code, status)
			}
			switch {
			case status == 200:
				// The upstream got the path explain printed.
				if p, _, _ := strings.Cut(upstream, "?"); !strings.Contains(out.String(), "path:     "+p+"\n") {
					t.Errorf("upstream got %q; explain said:\n%s", upstream, out.String())
				}
			case upstream != "":
				t.Errorf("a refused request reached the upstream as %q", upstream)
			case status == 403:
				// The server logs the route that refused; explain names it.
				if !strings.Contains(out.String(), fmt.Sprintf("rule:     policy.routes[%d] ", denied)) {
					t.Errorf("the server was refused by policy.routes[%d]; explain said:\n%s", denied, out.String())
				}
			}

			// Forward-auth judges the same request the same way: 202 or
			// 403, never 400 (nginx would read it as its own failure).
			status, _, _ = srv.send(t, cookie, "GET", "/oauth2/auth", http.Header{"X-Forwarded-Method": {tc.method}, "X-Forwarded-Uri": {tc.target}})
			if want := map[bool]int{true: http.StatusAccepted, false: http.StatusForbidden}[code == 0]; status != want {
				t.Errorf("forward-auth for %s %s = %d; want %d (explain exit %d)", tc.method, tc.target, status, want, code)
			}
		})
	}
}

// The exit codes through the real binary, and a bad configuration.
func TestExplainCommand(t *testing.T) {
	good := writeFile(t, explainPolicy)
	bad := writeFile(t, "policy:\n  routes:\n    - {path: \"admin\", groups: [a]}\n")
	unknown := writeFile(t, "polcy: {}\n")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"allowed", explainArgs(good, "ada@example.com", "rms-admins", "GET", "/admin/x"), 0, "decision: allowed"},
		{"denied", explainArgs(good, "sam@example.com", "staff", "GET", "/admin/x"), 2, "decision: denied (403)"},
		{"bad policy", explainArgs(bad, "a@example.com", "", "GET", "/"), 1, "policy.routes[0].path: must start with / (line 3)"},
		{"unknown key", explainArgs(unknown, "a@example.com", "", "GET", "/"), 1, "polcy: unknown key"},
		{"missing file", explainArgs(filepath.Join(t.TempDir(), "none.yaml"), "a@example.com", "", "GET", "/"), 1, "no such file"},
		{"no path", []string{"-config", good, "-email", "a@example.com", "GET"}, 1, "Usage: rezigate explain"},
		{"no email", []string{"-config", good, "GET", "/"}, 1, "Usage: rezigate explain"},
		{"no path says so", []string{"-config", good, "-email", "a@example.com", "GET"}, 1, "rezigate explain: missing PATH after GET"},
		{"no email says so", []string{"-config", good, "GET", "/"}, 1, "rezigate explain: missing -email ADDRESS"},
		{"nothing says both", []string{"-config", good}, 1, "rezigate explain: missing -email ADDRESS (the user to judge); missing METHOD and PATH"},
		{"flag after the path says so", []string{"-config", good, "GET", "/", "-email", "a@example.com"}, 1, "unexpected arguments after METHOD PATH: -email a@example.com (flags go before METHOD)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary, append([]string{"explain"}, tc.args...)...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // no secrets needed
			out, _ := cmd.CombinedOutput()
			if got := cmd.ProcessState.ExitCode(); got != tc.wantCode {
				t.Errorf("exit = %d; want %d\n%s", got, tc.wantCode, out)
			}
			if !strings.Contains(string(out), tc.wantOut) {
				t.Errorf("output lacks %q:\n%s", tc.wantOut, out)
			}
		})
	}
}

// policyServer is the handler serve builds (build) from explainPolicy,
// behind a real listener, with the demo provider signing in the users of
// explainCases and an upstream that records request targets.
type policyServer struct {
	srv    *httptest.Server
	config string // the configuration file, which explain reads too
	issuer string
	target chan string
	logs   *recordLog
}

func newPolicyServer(t *testing.T) *policyServer {
	t.Helper()
	ps := &policyServer{target: make(chan string, 1), logs: &recordLog{}}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps.target <- r.RequestURI
	}))
	t.Cleanup(up.Close)
	ps.srv = httptest.NewUnstartedServer(nil)
	public := "http://" + ps.srv.Listener.Addr().String()

	groups := map[string]string{} // folded email: groups
	var users []demo.User
	for _, tc := range explainCases {
		key := strings.ToLower(tc.email)
		if g, ok := groups[key]; ok {
			if g != tc.groups {
				t.Fatalf("explainCases give %s the groups %q and %q; the provider has one account per address", tc.email, g, tc.groups)
			}
			continue
		}
		groups[key] = tc.groups
		users = append(users, demo.User{Email: tc.email, Password: "pw", EmailVerified: true, Groups: strings.Split(tc.groups, ",")})
	}
	provSrv := httptest.NewUnstartedServer(nil)
	prov, err := demo.NewProvider(demo.ProviderOptions{
		Issuer: "http://" + provSrv.Listener.Addr().String(), ClientID: "rezigate", ClientSecret: clientSecret,
		RedirectURIs: []string{public + "/oauth2/callback"}, Users: users,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	provSrv.Config.Handler = prov
	provSrv.Start()
	t.Cleanup(provSrv.Close)
	ps.issuer = prov.Issuer()

	// explainPolicy's lines stay where they are: the routes' line numbers
	// are part of what explain prints. Its last mapping is oidc.
	body := strings.Replace(explainPolicy, "http://127.0.0.1:4180", public, 1) + fmt.Sprintf(`  issuer_url: %q
  client_id: "rezigate"
upstream: %q
trusted_proxies: ["127.0.0.1/32"]
session:
  secure: false
rezi:
  api_url: "http://127.0.0.1:1/v1"
  login_url: "/login/"
`, ps.issuer, up.URL)
	ps.config = writeFile(t, body)
	cfg, err := config.Load(ps.config, secretEnv())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h, _, closeParts, err := build(ctx, cfg, slog.New(ps.logs), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeParts)
	ps.srv.Config.Handler = h
	ps.srv.Start()
	t.Cleanup(ps.srv.Close)
	return ps
}

// signIn signs email in through the demo provider. It returns the session
// cookie ("name=value", "" when the callback set none), the callback's
// status, and the rule the server logged if it refused the sign-in.
func (ps *policyServer) signIn(t *testing.T, email string) (cookie string, status int, rule string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(target string) *http.Response {
		t.Helper()
		resp, err := c.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	auth := get(ps.srv.URL + "/oauth2/start?rd=/").Header.Get("Location")
	if !strings.HasPrefix(auth, ps.issuer+"/") {
		t.Fatalf("/oauth2/start redirected to %q; want the provider", auth)
	}
	resp, err := c.PostForm(auth, url.Values{"login": {email}, "password": {"pw"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback := resp.Header.Get("Location")
	if !strings.HasPrefix(callback, ps.srv.URL+"/oauth2/callback?") {
		t.Fatalf("the provider's login for %s answered %d to %q; want a redirect to the callback", email, resp.StatusCode, callback)
	}
	mark := ps.logs.len()
	resp = get(callback)
	for _, ck := range resp.Cookies() {
		if ck.Name == sessions.DefaultCookieName && ck.Value != "" {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	rule, _ = ps.logs.attrSince(mark, "rule").(string)
	return cookie, resp.StatusCode, rule
}

// send makes one request, written raw so that the target reaches the
// server as given, with the session cookie and extra headers. It returns
// the status, the target the upstream got ("" when not reached) and,
// when the policy refused the request, the route the server logged as
// refusing it (-1 otherwise).
func (ps *policyServer) send(t *testing.T, cookie, method, target string, extra http.Header) (status int, upstream string, deniedBy int) {
	t.Helper()
	conn, err := net.Dial("tcp", ps.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var hdr strings.Builder
	_ = extra.Write(&hdr)
	mark := ps.logs.len()
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nAccept: application/json\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n", method, target, cookie, hdr.String())
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	deniedBy = -1
	if r, ok := ps.logs.attrSince(mark, "rule").(int64); ok {
		deniedBy = int(r)
	}
	select {
	case got := <-ps.target:
		return resp.StatusCode, got, deniedBy
	default:
		return resp.StatusCode, "", deniedBy
	}
}

// recordLog is a slog.Handler that keeps every record, for tests that ask
// what the server logged.
type recordLog struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *recordLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *recordLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *recordLog) WithGroup(string) slog.Handler            { return l }
func (l *recordLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}

func (l *recordLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recs)
}

// attrSince returns the value of the first attribute named key in the
// records logged since the first mark of them, or nil.
func (l *recordLog) attrSince(mark int, key string) any {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.recs[mark:] {
		var v any
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				v = a.Value.Any()
				return false
			}
			return true
		})
		if v != nil {
			return v
		}
	}
	return nil
}
