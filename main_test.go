package main

import (
	"bufio"
	"context"
	"errors"
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
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/internal/testsupport/freeport"
)

var binary string // built once by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rezigate-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "rezigate")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	clientSecret = "client-secret-for-main-test"
	privateKey   = "rezi-private-key-for-main-test"
	sessionKey   = "session-secret-for-main-test-0123456789"
	uidSecret    = "uid-secret-for-main-test-0123456789abcdef"
)

func secretEnv() []string {
	return []string{
		"REZIGATE_OIDC_CLIENT_SECRET=" + clientSecret,
		"REZIGATE_REZI_PRIVATE_KEY=" + privateKey,
		"REZIGATE_SESSION_SECRETS=" + sessionKey,
		"REZIGATE_IDENTITY_UID_SECRET=" + uidSecret,
	}
}

func writeConfig(t *testing.T, listen, issuer, upstream, extra string) string {
	t.Helper()
	cfg := fmt.Sprintf(`listen: %q
public_url: "http://%s"
upstream: %q
shutdown_timeout: "5s"
oidc:
  issuer_url: %q
  client_id: "rezigate"
  allowed_email_domains: ["example.com"]
session:
  secure: false
rezi:
  api_url: "http://127.0.0.1:1/v1"
  login_url: "/login/"
%s`, listen, listen, upstream, issuer, extra)
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// freeAddr returns a loopback address for a rezigate process to listen on.
func freeAddr(t *testing.T) string {
	t.Helper()
	port, err := freeport.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

func TestCheck(t *testing.T) {
	good := writeConfig(t, "127.0.0.1:4180", "https://login.example.com", "https://app.example.com", "")
	bad := writeConfig(t, "127.0.0.1:4180", "ftp://login", "", "  timeout: \"soon\"\nsession2: {}\n")
	typo := writeConfig(t, "127.0.0.1:4180", "https://login.example.com", "", "shutdown_timout: 3s\n")
	inFile := writeConfig(t, "127.0.0.1:4180", "https://login.example.com", "", "")
	if err := os.WriteFile(inFile, []byte(strings.Replace(mustRead(t, inFile), "  client_id:", "  client_secret: \""+clientSecret+"\"\n  client_id:", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	noDomains := writeConfig(t, "127.0.0.1:4180", "https://login.example.com", "", "")
	if err := os.WriteFile(noDomains, []byte(strings.Replace(mustRead(t, noDomains), "  allowed_email_domains: [\"example.com\"]\n", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	swapped := writeConfig(t, "127.0.0.1:4180", "https://login.example.com", "", "")
	if err := os.WriteFile(swapped, []byte(strings.Replace(mustRead(t, swapped), "  client_id:", "  cleint_id:", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	noClientID := writeConfig(t, "127.0.0.1:4180", "https://login.example.com", "", "")
	if err := os.WriteFile(noClientID, []byte(strings.Replace(mustRead(t, noClientID), "  client_id: \"rezigate\"\n", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     string
		env      []string
		wantCode int
		wantOut  []string
	}{
		{"valid", good, secretEnv(), 0, []string{"configuration is valid", "REDACTED"}},
		{"missing secrets", good, nil, 1, []string{"oidc.client_secret", "session.secrets", "identity.uid_secret", "rezi.private_key"}},
		{"several problems", bad, secretEnv(), 1, []string{"oidc.issuer_url", "rezi.timeout", "session2"}},
		{"short secret", good, append(secretEnv(), "REZIGATE_SESSION_SECRETS=short-"+privateKey[:3]), 1, []string{"REZIGATE_SESSION_SECRETS[0]: must be at least 32 bytes"}},
		{"missing secret names its variable", good, secretEnv()[1:], 1, []string{"oidc.client_secret: required; set REZIGATE_OIDC_CLIENT_SECRET"}},
		{"typo suggests the key", typo, secretEnv(), 1, []string{"shutdown_timout: unknown key; did you mean shutdown_timeout?"}},
		{"secret in the file warns", inFile, secretEnv()[1:], 0, []string{"warning: oidc.client_secret: a secret written in the file; set REZIGATE_OIDC_CLIENT_SECRET", "configuration is valid"}},
		{"no domains warns", noDomains, secretEnv(), 0, []string{"warning: oidc.allowed_email_domains: empty"}},
		{"swapped letters suggest the key", swapped, secretEnv(), 1, []string{"oidc.cleint_id: unknown key; did you mean client_id? (line 7)"}},
		{"a value's problem names its line", bad, secretEnv(), 1, []string{"oidc.issuer_url: must be an absolute https URL (http only for a loopback host) (line 6)"}},
		{"a missing key says so", noClientID, secretEnv(), 1, []string{"oidc.client_id: required (not in the file)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runCheck(t, tc.path, tc.env)
			if code != tc.wantCode {
				t.Errorf("-check exit code = %d; want %d\n%s", code, tc.wantCode, out)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("-check output lacks %q:\n%s", w, out)
				}
			}
			// Every problem says where: its line, its variable, or that
			// the file leaves the key out.
			if _, problems, ok := strings.Cut(out, "configuration is invalid:\n"); ok {
				for _, line := range strings.Split(strings.TrimSpace(problems), "\n") {
					if line == "rezigate: invalid configuration" {
						continue
					}
					if !lineNumbered.MatchString(line) && !strings.Contains(line, "REZIGATE_") && !strings.HasSuffix(line, "(not in the file)") {
						t.Errorf("-check problem %q names no line, variable or absence", line)
					}
				}
			}
			for _, s := range []string{clientSecret, privateKey, sessionKey, uidSecret} {
				if strings.Contains(out, s) {
					t.Errorf("-check output leaks a secret:\n%s", out)
				}
			}
		})
	}
}

// TestCheckProviderProfile: -check prints the oidc.provider profile's
// rules in one line, refuses a multi-tenant Entra issuer naming
// oidc.issuer_url, and requires oidc.allowed_email_domains with entra and
// google.
func TestCheckProviderProfile(t *testing.T) {
	const tenantIssuer = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
	config := func(issuer, provider string, domains bool) string {
		p := writeConfig(t, "127.0.0.1:4180", issuer, "https://app.example.com", "")
		doc := mustRead(t, p)
		if provider != "" {
			doc = strings.Replace(doc, "  client_id: \"rezigate\"\n", "  client_id: \"rezigate\"\n  provider: "+provider+"\n", 1)
		}
		if !domains {
			doc = strings.Replace(doc, "  allowed_email_domains: [\"example.com\"]\n", "", 1)
		}
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name     string
		path     string
		wantCode int
		wantOut  []string
	}{
		{"generic by default", config("https://login.example.com", "", true), 0,
			[]string{"oidc.provider generic: standard claims: uid from sub", "configuration is valid"}},
		{"entra", config(tenantIssuer, "entra", true), 0,
			[]string{"oidc.provider entra: uid from oid; tid must be the issuer's tenant", "configuration is valid"}},
		{"entra common", config("https://login.microsoftonline.com/common/v2.0", "entra", true), 1,
			[]string{`oidc.issuer_url: with provider entra must name one tenant by its id, not "common"`, "configuration is invalid"}},
		{"entra without domains", config(tenantIssuer, "entra", false), 1,
			[]string{`oidc.allowed_email_domains: required with provider "entra"`}},
		{"google", config("https://accounts.google.com", "google", true), 0,
			[]string{"oidc.provider google: hd must be in allowed_email_domains", "configuration is valid"}},
		{"google without domains", config("https://accounts.google.com", "google", false), 1,
			[]string{`oidc.allowed_email_domains: required with provider "google"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runCheck(t, tc.path, secretEnv())
			if code != tc.wantCode {
				t.Errorf("-check exit code = %d; want %d\n%s", code, tc.wantCode, out)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("-check output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// lineNumbered matches a problem that names its line in the file.
var lineNumbered = regexp.MustCompile(`\(line \d+\)`)

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCommandLine checks what a user meets first: -h, -version, and a
// missing configuration file.
func TestCommandLine(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "config.yaml")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
		once     string // must appear exactly once
	}{
		{"help", []string{"-h"}, 0, []string{"rezigate signs employees in", "rezigate -demo", "rezigate -config FILE", "rezigate -config FILE -check", "REZIGATE_SESSION_SECRETS", "config.example.yaml", "-version"}, ""},
		{"version", []string{"-version"}, 0, []string{"rezigate ", "go1."}, ""},
		{"missing file", []string{"-config", missing}, 1, []string{missing + ": no such file (use -config FILE, or -demo to try rezigate without one)"}, "no such file"},
		{"missing file, -check", []string{"-config", missing, "-check"}, 1, []string{missing + ": no such file (use -config FILE, or -demo to try rezigate without one)"}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary, tc.args...)
			cmd.Env = secretEnv()
			out, err := cmd.CombinedOutput()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode {
				t.Errorf("rezigate %q exit code = %d; want %d\n%s", tc.args, code, tc.wantCode, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("rezigate %q output lacks %q:\n%s", tc.args, w, out)
				}
			}
			if tc.once != "" && strings.Count(string(out), tc.once) != 1 {
				t.Errorf("rezigate %q says %q %d times; want once:\n%s", tc.args, tc.once, strings.Count(string(out), tc.once), out)
			}
		})
	}
	if out, _ := exec.Command(binary, "-h").CombinedOutput(); !strings.HasPrefix(string(out), "rezigate signs employees in") {
		t.Errorf("rezigate -h starts %q; want the one-sentence description first", strings.SplitN(string(out), "\n", 2)[0])
	}
}

// TestUsage: help goes to stdout with exit 0, however it is asked for; a
// usage error goes to stderr with exit 2 and names what was wrong.
func TestUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // prefix of stdout; "" = stdout empty
		wantStderr string // in stderr; "" = stderr empty
	}{
		{"-h", []string{"-h"}, 0, "rezigate signs employees in", ""},
		{"-help", []string{"-help"}, 0, "rezigate signs employees in", ""},
		{"--help", []string{"--help"}, 0, "rezigate signs employees in", ""},
		{"help", []string{"help"}, 0, "rezigate signs employees in", ""},
		{"help with an argument", []string{"help", "me"}, 2, "", "rezigate help: unexpected arguments: me"},
		{"an extra argument", []string{"-demo", "extra"}, 2, "", "rezigate: unexpected arguments: extra"},
		{"extra arguments", []string{"-config", "x.yaml", "serve", "now"}, 2, "", "rezigate: unexpected arguments: serve now"},
		{"an unknown flag", []string{"-demoo"}, 2, "", "rezigate: flag provided but not defined: -demoo (rezigate -h lists the flags)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A command line that is wrongly taken for a server must not
			// hang the test: it is killed after a while and fails.
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, tc.args...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatal(err)
			}
			if got := cmd.ProcessState.ExitCode(); got != tc.wantCode {
				t.Errorf("rezigate %q exit code = %d; want %d\nstdout: %s\nstderr: %s", tc.args, got, tc.wantCode, stdout.String(), stderr.String())
			}
			if tc.wantStdout == "" && stdout.Len() > 0 || !strings.HasPrefix(stdout.String(), tc.wantStdout) {
				t.Errorf("rezigate %q stdout = %q; want it to start with %q", tc.args, stdout.String(), tc.wantStdout)
			}
			if tc.wantStderr == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("rezigate %q stderr = %q; want %q in it", tc.args, stderr.String(), tc.wantStderr)
			}
			if tc.wantCode == 0 && !strings.Contains(stdout.String(), "-version") {
				t.Errorf("rezigate %q help lists no flags:\n%s", tc.args, stdout.String())
			}
		})
	}
}

// TestVersionFrom: -version names the VCS revision when the build
// recorded one (go build in a checkout does, unless -buildvcs=false).
func TestVersionFrom(t *testing.T) {
	mod := debug.Module{Path: "github.com/rezigate/rezigate", Version: "(devel)"}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "rezigate (devel) " + runtime.Version()},
		{"no vcs", &debug.BuildInfo{GoVersion: "go1.26.8", Main: mod}, "rezigate (devel) go1.26.8"},
		{"revision", &debug.BuildInfo{GoVersion: "go1.26.8", Main: mod, Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "f062d18aa"}, {Key: "vcs.time", Value: "2026-12-06T10:00:00Z"}, {Key: "vcs.modified", Value: "false"}}},
			"rezigate (devel) revision f062d18aa 2026-12-06T10:00:00Z go1.26.8"},
		{"modified", &debug.BuildInfo{GoVersion: "go1.26.8", Main: mod, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "f062d18aa"}, {Key: "vcs.modified", Value: "true"}}},
			"rezigate (devel) revision f062d18aa (modified) go1.26.8"},
		{"a release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}}, "rezigate v1.2.0 go1.26.8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionFrom(tc.bi); got != tc.want {
				t.Errorf("versionFrom(%s) = %q; want %q", tc.name, got, tc.want)
			}
		})
	}
}

// proc is a running rezigate process.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	stderr strings.Builder
	done   chan error
}

func start(t *testing.T, cfgPath, addr string) *proc {
	t.Helper()
	return startWith(t, cfgPath, addr, "http://", http.DefaultClient)
}

// startWith is start for a process whose /healthz answers at scheme +
// addr to client: "https://" and a client trusting its CA for one that
// serves TLS.
func startWith(t *testing.T, cfgPath, addr, scheme string, client *http.Client) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, "-config", cfgPath), addr: addr, done: make(chan error, 1)}
	p.cmd.Env = secretEnv()
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(pipe)
		for s.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(s.Text() + "\n")
			p.mu.Unlock()
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("rezigate stderr:\n%s", p.log())
		}
	})
	// Ready once this process says it listens (a server of another test
	// could answer on the port otherwise) and /healthz answers.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("rezigate exited before it was ready (%v):\n%s", err, p.log())
		default:
		}
		if strings.Contains(p.log(), `"rezigate listening"`) { // msg= in text, "msg": in JSON
			if resp, err := client.Get(scheme + addr + "/healthz"); err == nil {
				resp.Body.Close()
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("rezigate did not come up:\n%s", p.log())
	return nil
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// signedInClient signs alice in through the demo provider and returns a
// client carrying the session.
func signedInClient(t *testing.T, addr string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	signIn(t, c, "http://"+addr)
	return c
}

// signIn signs alice in through the demo provider with c, whose jar then
// carries the session for base (scheme and host of the gateway).
func signIn(t *testing.T, c *http.Client, base string) {
	t.Helper()
	resp, err := c.Get(base + "/oauth2/start?rd=/oauth2/userinfo")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Followed to the provider's login form; submit it and follow back.
	resp, err = c.PostForm(resp.Request.URL.String(), url.Values{"login": {"alice@example.com"}, "password": {"pw"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = c.Get(base + "/oauth2/userinfo")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in failed: /oauth2/userinfo = %d", resp.StatusCode)
	}
}

func startDemoProvider(t *testing.T, redirect string) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	p, err := demo.NewProvider(demo.ProviderOptions{
		Issuer: "http://" + srv.Listener.Addr().String(), ClientID: "rezigate", ClientSecret: clientSecret,
		RedirectURIs: []string{redirect},
		Users:        []demo.User{{Email: "alice@example.com", Password: "pw", Subject: "alice", EmailVerified: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	srv.Start()
	t.Cleanup(srv.Close)
	return p.Issuer()
}

// SIGTERM while requests are in flight: each finishes, new connections are
// refused, and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	release := make(chan struct{})
	var started sync.WaitGroup
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow" {
			http.NotFound(w, r)
			return
		}
		started.Done()
		<-release
		io.WriteString(w, "finished")
	}))
	defer upstream.Close()
	addr := freeAddr(t)
	issuer := startDemoProvider(t, "http://"+addr+"/oauth2/callback")
	p := start(t, writeConfig(t, addr, issuer, upstream.URL, ""), addr)
	c := signedInClient(t, addr)

	const inFlight = 8
	started.Add(inFlight)
	results := make(chan string, inFlight)
	for i := 0; i < inFlight; i++ {
		go func() {
			resp, err := c.Get("http://" + addr + "/slow")
			if err != nil {
				results <- "error: " + err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- fmt.Sprintf("%d %s", resp.StatusCode, b)
		}()
	}
	started.Wait()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New connections are refused once the listener closes.
	deadline := time.Now().Add(3 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("rezigate still accepts connections 3 s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(release)
	for i := 0; i < inFlight; i++ {
		if got := <-results; got != "200 finished" {
			t.Errorf("in-flight request = %q; want 200 finished", got)
		}
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("exit = %v; want status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("rezigate did not exit after SIGTERM")
	}
}

// A client that never finishes its headers is cut off; oversized headers
// are refused.
func TestSlowAndLargeHeaders(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 10 s header timeout")
	}
	addr := freeAddr(t)
	issuer := startDemoProvider(t, "http://"+addr+"/oauth2/callback")
	start(t, writeConfig(t, addr, issuer, "", ""), addr)

	resp, err := http.Get("http://" + addr + "/healthz?" + strings.Repeat("a", 100))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest("GET", "http://"+addr+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("b", 200<<10))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("200 KiB header: status %d; want 431", resp.StatusCode)
	}

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n") // and never the blank line
	began := time.Now()
	// The bound is generous on purpose: what matters is that the server,
	// not this deadline, ends the connection, and not before its
	// ReadHeaderTimeout. How long past it depends on the machine's load.
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("slow client still connected after %v (read err %v); want the server to cut it", time.Since(began), err)
	}
	if d := time.Since(began); d < 9*time.Second {
		t.Errorf("slow client cut after %v; want no earlier than the 10 s ReadHeaderTimeout", d)
	}
}

// Metrics are served on their own listener only, and logs carry no
// secrets, codes, states or tokens (and no email with redact_email).
func TestMetricsAndLogs(t *testing.T) {
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	issuer := startDemoProvider(t, "http://"+addr+"/oauth2/callback")
	rz, err := demo.NewRezi(demo.ReziOptions{PrivateKey: privateKey})
	if err != nil {
		t.Fatal(err)
	}
	reziSrv := httptest.NewServer(rz)
	defer reziSrv.Close()
	extra := fmt.Sprintf("metrics_listen: %q\nlog:\n  format: json\n  redact_email: true\n", metricsAddr)
	cfg := writeConfig(t, addr, issuer, "", extra)
	raw, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(raw), "http://127.0.0.1:1/v1", reziSrv.URL+"/v1", 1)), 0o600)
	p := start(t, cfg, addr)
	c := signedInClient(t, addr)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get("http://" + addr + "/rezi")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	token := mustQuery(t, resp.Header.Get("Location")).Get("token")
	if resp.StatusCode != http.StatusFound || token == "" {
		t.Fatalf("/rezi = %d %q; want a redirect with a token", resp.StatusCode, resp.Header.Get("Location"))
	}

	resp, err = http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`rezigate_sign_ins_total{outcome="ok"} 1`,
		`rezigate_requests_total{code="302",route="rezi"} 1`,
		`rezigate_rezi_calls_seconds_count{outcome="ok"} 1`,
		`rezigate_request_duration_seconds_bucket`,
		`process_cpu_seconds_total`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	resp, err = http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("public /metrics without a session = %d; want 401 (metrics are not on the public port)", resp.StatusCode)
	}

	logs := p.log()
	for deadline := time.Now().Add(3 * time.Second); !strings.Contains(logs, `"route":"rezi"`) && time.Now().Before(deadline); logs = p.log() {
		time.Sleep(20 * time.Millisecond) // logs are flushed every 100 ms
	}
	if !strings.Contains(logs, `"route":"rezi"`) || !strings.Contains(logs, `"request_id"`) || !strings.Contains(logs, `"uid"`) {
		t.Errorf("access log lacks JSON lines with route, request_id and uid:\n%s", logs)
	}
	for _, secret := range []string{clientSecret, privateKey, sessionKey, uidSecret, token, "alice@example.com", "code=", "state="} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// The README's first command: -demo needs no configuration and shows the
// whole journey, from an intranet link to the RMS with a token.
// demoBanner is what `rezigate -demo` prints before it serves.
type demoBanner struct {
	open, password, text string
	redisPID             int // with -demo-redis
}

// readDemoBanner reads the demo's output until it has named the URL to
// open and alice's password.
func readDemoBanner(r io.Reader) demoBanner {
	var b demoBanner
	var text strings.Builder
	s := bufio.NewScanner(r)
	for s.Scan() && (b.open == "" || b.password == "") {
		line := s.Text()
		text.WriteString(line + "\n")
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Open:":
			b.open = f[1]
		case len(f) >= 3 && f[0] == "alice@example.com" && f[1] == "password":
			b.password = f[2]
		case strings.Contains(line, "redis-server PID"):
			b.redisPID, _ = strconv.Atoi(strings.Fields(strings.SplitN(line, "PID", 2)[1])[0])
		}
	}
	b.text = text.String()
	return b
}

func TestDemoMode(t *testing.T) {
	cmd := exec.Command(binary, "-demo")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	b := readDemoBanner(pipe)
	go io.Copy(io.Discard, pipe)
	open, password := b.open, b.password
	if open == "" || password == "" || !strings.Contains(b.text, "NOT FOR PRODUCTION") {
		t.Fatalf("demo banner lacks the URL, alice's password or the production warning:\n%s", b.text)
	}
	u, err := url.Parse(open)
	if err != nil || u.Hostname() != "127.0.0.1" {
		t.Fatalf("demo URL %q is not on loopback", open)
	}

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 15 * time.Second}
	resp, err := c.Get(open) // -> sign-in -> the provider's login form
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = c.PostForm(resp.Request.URL.String(), url.Values{"login": {"alice@example.com"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	q := resp.Request.URL.Query()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login/" || q.Get("token") == "" || q.Get("openOnboarding") != "true" || q.Get("closeOnboardingRedirect") != "/dashboard/education" {
		t.Fatalf("demo journey ended at %d %s; want the RMS login page with a token and both options", resp.StatusCode, resp.Request.URL)
	}
	if !strings.Contains(string(body), "Signed in to the RMS") {
		t.Errorf("RMS login page reads:\n%s", body)
	}
}

// The limits a slow or hostile client meets; TestSlowAndLargeHeaders
// exercises the first two against a running process.
func TestServerLimits(t *testing.T) {
	s := newServer(http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	if s.ReadHeaderTimeout <= 0 || s.ReadHeaderTimeout > 30*time.Second {
		t.Errorf("ReadHeaderTimeout = %v; want a bound of at most 30 s", s.ReadHeaderTimeout)
	}
	if s.IdleTimeout <= 0 || s.IdleTimeout > 5*time.Minute {
		t.Errorf("IdleTimeout = %v; want a bound of at most 5 min", s.IdleTimeout)
	}
	if s.MaxHeaderBytes <= 0 || s.MaxHeaderBytes > 1<<20 {
		t.Errorf("MaxHeaderBytes = %d; want a bound of at most 1 MiB", s.MaxHeaderBytes)
	}
}

// runCheck runs the built binary's -config path -check with env and
// returns its exit code and combined output.
func runCheck(t *testing.T, path string, env []string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, "-config", path, "-check")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}
