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
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/config"
	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/proxy"
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
`

// explainCases is the shared table: what explain says and what the
// server does for the same request.
var explainCases = []struct {
	name          string
	email, groups string
	method        string
	target        string
	wantExit      int
	wantOut       []string
	wantStatus    int // the server's answer; 0: the user cannot sign in, no request
}{
	{"admin allowed", "ada@example.com", "rms-admins", "GET", "/admin/users", 0, []string{"rule:     policy.routes[0] /admin/ (line 6)", "reason:   in group rms-admins", "decision: allowed"}, 200},
	{"admin denied", "sam@example.com", "staff", "GET", "/admin/users", 2, []string{"rule:     policy.routes[0] /admin/ (line 6)", "not in any of rms-admins", "decision: denied (403)"}, 403},
	{"normalised first", "sam@example.com", "staff", "GET", "//%61dmin/./users", 2, []string{"path:     /admin/users", "policy.routes[0]"}, 403},
	{"dot dot", "sam@example.com", "staff", "GET", "/public/../admin", 2, []string{"path:     /admin", "decision: denied (403)"}, 403},
	{"email route", "Boss@Example.com", "staff", "POST", "/api/reports", 0, []string{"policy.routes[1] /api/reports (line 8)", "listed email boss@example.com"}, 200},
	{"email route refuses others", "sam@example.com", "staff", "POST", "/api/reports", 2, []string{"policy.routes[1]", "email not listed"}, 403},
	{"method falls through", "sam@example.com", "staff", "GET", "/api/reports", 0, []string{"policy.routes[3] / (line 14)", "in group staff"}, 200},
	{"GET route", "sam@example.com", "staff", "GET", "/secret", 2, []string{"rule:     policy.routes[2] /secret (line 11)", "decision: denied (403)"}, 403},
	{"HEAD is GET", "sam@example.com", "staff", "HEAD", "/secret", 2, []string{"rule:     policy.routes[2] /secret (line 11)", "decision: denied (403)"}, 403},
	{"HEAD is GET, allowed", "ada@example.com", "rms-admins", "HEAD", "/secret", 0, []string{"policy.routes[2] /secret (line 11)", "decision: allowed"}, 200},
	{"other methods fall through a GET route", "sam@example.com", "staff", "POST", "/secret", 0, []string{"policy.routes[3] / (line 14)", "decision: allowed"}, 200},
	{"query not matched", "sam@example.com", "staff", "GET", "/public?x=/admin", 0, []string{"path:     /public", "decision: allowed"}, 200},
	{"encoded slash refused", "ada@example.com", "rms-admins", "GET", "/admin%2Fusers", 2, []string{"refused with 400", "encoded / or \\", "decision: denied (400)"}, 400},
	{"backslash refused", "ada@example.com", "rms-admins", "GET", `/a\b`, 2, []string{"refused with 400"}, 400},
	{"NUL refused", "ada@example.com", "rms-admins", "GET", "/a%00", 2, []string{"refused with 400", "NUL"}, 400},
	{"above the root refused", "ada@example.com", "rms-admins", "GET", "/../admin", 2, []string{"refused with 400", "above the root"}, 400},
	{"servlet path parameter refused", "sam@example.com", "staff", "GET", "/admin;jsessionid=1/", 2, []string{"refused with 400", "path parameters change the route"}, 400},
	{"servlet dot dot refused", "sam@example.com", "staff", "GET", "/x/..;/admin/", 2, []string{"refused with 400", "path parameters on a dot segment"}, 400},
	{"path parameter changing no route", "sam@example.com", "staff", "GET", "/public/file;v=1", 0, []string{"path:     /public/file;v=1", "decision: allowed"}, 200},
	{"cannot sign in", "eve@example.com", "contractors", "GET", "/public", 2, []string{"sign-in:  refused"}, 0},
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

// explain and the server agree on every case of the shared table: the
// server runs the same policy.Normalize and policy.Decide, through a real
// listener, with an upstream recording what it got.
func TestExplainAgreesWithServer(t *testing.T) {
	path := writeFile(t, explainPolicy)
	cfg, err := config.LoadPolicy(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := newPolicyServer(t, cfg)
	for _, tc := range explainCases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runExplain(explainArgs(path, tc.email, tc.groups, tc.method, tc.target), nil, &out, &errOut)
			if code != tc.wantExit {
				t.Errorf("explain exit = %d; want %d\n%s%s", code, tc.wantExit, out.String(), errOut.String())
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("explain output lacks %q:\n%s", w, out.String())
				}
			}
			if tc.wantStatus == 0 {
				return
			}
			status, upstream := srv.send(t, tc.email, strings.Split(tc.groups, ","), tc.method, tc.target)
			if status != tc.wantStatus {
				t.Errorf("server: %s %s = %d; want %d", tc.method, tc.target, status, tc.wantStatus)
			}
			if (status == 200) != (code == 0) {
				t.Errorf("explain exit %d but the server answered %d", code, status)
			}
			if status == 200 {
				// The upstream got the path explain printed.
				if p, _, _ := strings.Cut(upstream, "?"); !strings.Contains(out.String(), "path:     "+p+"\n") {
					t.Errorf("upstream got %q; explain said:\n%s", upstream, out.String())
				}
			} else if upstream != "" {
				t.Errorf("a refused request reached the upstream as %q", upstream)
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

// policyServer is the middleware and proxy that serve uses, with the
// policy of cfg, in front of an upstream that records request targets.
type policyServer struct {
	srv    *httptest.Server
	store  *sessions.CookieStore
	auth   *middleware.Auth
	target chan string
}

func newPolicyServer(t *testing.T, cfg *config.Config) *policyServer {
	t.Helper()
	ps := &policyServer{target: make(chan string, 1)}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps.target <- r.RequestURI
	}))
	t.Cleanup(up.Close)
	ps.srv = httptest.NewUnstartedServer(nil)
	public := "http://" + ps.srv.Listener.Addr().String()
	provSrv := httptest.NewUnstartedServer(nil)
	prov, err := demo.NewProvider(demo.ProviderOptions{
		Issuer: "http://" + provSrv.Listener.Addr().String(), ClientID: "rezigate", ClientSecret: clientSecret,
		RedirectURIs: []string{public + "/oauth2/callback"}, Users: []demo.User{{Email: "x@example.com", Password: "x"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	provSrv.Config.Handler = prov
	provSrv.Start()
	t.Cleanup(provSrv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := slog.New(slog.DiscardHandler)
	p, err := oidc.New(ctx, oidc.Options{IssuerURL: prov.Issuer(), ClientID: "rezigate", RedirectURL: public + "/oauth2/callback", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ps.auth, err = middleware.New(middleware.Options{
		Provider: p, PublicURL: public, SessionSecrets: [][]byte{[]byte(sessionKey)}, InsecureCookies: true,
		UIDSecret: []byte(uidSecret), Policy: cfg.PolicyOptions(), Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	upURL, _ := url.Parse(up.URL)
	px, err := proxy.New(proxy.Options{Upstream: upURL, Identity: identity, Groups: groups, StripCookies: ps.auth.OwnCookie, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ps.srv.Config.Handler = ps.auth.Wrap(px)
	ps.srv.Start()
	t.Cleanup(ps.srv.Close)
	// The middleware's own cookie store: the same secret, name and kept
	// groups, so its cookies are the ones a sign-in would set.
	ps.store, err = sessions.NewCookieStore(sessions.CookieOptions{
		Deployment: middleware.Options{PublicURL: public}.Deployment(),
		Secrets:    [][]byte{[]byte(sessionKey)}, Name: middleware.DefaultCookieName, MaxAge: middleware.DefaultSessionMaxAge,
		KeepGroups: ps.auth.NamedGroups(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// send makes one request, written raw, as a signed-in user, and returns
// the status and the target the upstream got ("" when not reached).
func (ps *policyServer) send(t *testing.T, email string, groups []string, method, target string) (int, string) {
	t.Helper()
	v, err := ps.store.Put(context.Background(), sessions.Session{UID: ps.auth.UID(email), Email: email, Groups: groups, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", ps.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nCookie: %s=%s\r\nAccept: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method, target, middleware.DefaultCookieName, v)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	select {
	case got := <-ps.target:
		return resp.StatusCode, got
	default:
		return resp.StatusCode, ""
	}
}
