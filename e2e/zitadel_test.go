//go:build e2e && linux

package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/sys/unix"
)

// The second OpenID provider: the example server of
// github.com/zitadel/oidc (example/server). It keeps everything in memory,
// shows its own username and password form, registers a confidential web
// client "web" with the secret "secret" (HTTP Basic at the token endpoint)
// for the redirect URIs in $REDIRECT_URI, and reads its users from
// $USERS_FILE. Its issuer is always http://localhost:$PORT/. Unlike Dex it
// puts email and email_verified only in the UserInfo response, never in
// the ID token, as OpenID Connect Core 5.4 describes for the code flow.
const (
	// zitadelVersion must match ZITADEL_VERSION in install.sh.
	zitadelVersion      = "v3.51.17"
	zitadelClientID     = "web"
	zitadelClientSecret = "secret" // fixed in the example's source
	unsharePath         = "/usr/bin/unshare"
)

// zitadelBinary returns the example server: $REZIGATE_E2E_ZITADEL, else
// where install.sh caches it.
func zitadelBinary(t *testing.T) string {
	t.Helper()
	return cachedBinary(t, "zitadel oidc example", "REZIGATE_E2E_ZITADEL", filepath.Join("zitadel-oidc-"+zitadelVersion, "server"))
}

// zitadelUser is one entry of the example server's users file. Its sub
// claim is ID.
type zitadelUser struct {
	ID, Username, Email string
	EmailVerified       bool
	password            string // fresh for each run
}

// zitadelUsers are the users each example server in these tests knows:
// the same three cases as Dex's users, with the email where this provider
// keeps it, in UserInfo.
func zitadelUsers(t *testing.T) (alice, mallory, bob zitadelUser) {
	t.Helper()
	alice = zitadelUser{ID: "z-0001-alice", Username: "alice", Email: "alice@example.com", EmailVerified: true, password: randomHex(t, 12)}
	mallory = zitadelUser{ID: "z-0002-mallory", Username: "mallory", Email: "mallory@outsider.example", EmailVerified: true, password: randomHex(t, 12)}
	bob = zitadelUser{ID: "z-0003-bob", Username: "bob", Email: "bob@example.com", EmailVerified: false, password: randomHex(t, 12)}
	return alice, mallory, bob
}

// zitadel is a running example server.
type zitadel struct {
	Issuer       string // http://localhost:PORT/, with the trailing slash
	ClientID     string
	ClientSecret string
	proc         *process
}

// startZitadel starts the example server with users and the given
// redirect URIs and waits until its discovery document loads.
//
// The example listens on every interface (":" + $PORT) and has no setting
// to change that, so it runs in a network namespace of its own, which has
// only a loopback interface; the test forwards the loopback port of its
// own namespace to it (forwardLoopback). Nothing outside this machine can
// reach it.
func startZitadel(t *testing.T, users []zitadelUser, redirectURIs ...string) *zitadel {
	t.Helper()
	bin := zitadelBinary(t)
	unshare := requireFile(t, "unshare (util-linux)", unsharePath)
	port := freePorts(t, 1)[0]
	z := &zitadel{
		Issuer:       fmt.Sprintf("http://localhost:%d/", port),
		ClientID:     zitadelClientID,
		ClientSecret: zitadelClientSecret,
	}
	type fileUser struct {
		ID, Username, Password, FirstName, LastName, Email string
		EmailVerified                                      bool
		PreferredLanguage                                  string
	}
	file := map[string]fileUser{}
	for _, u := range users {
		file[u.ID] = fileUser{
			ID: u.ID, Username: u.Username, Password: u.password,
			FirstName: u.Username, LastName: "E2E", Email: u.Email,
			EmailVerified: u.EmailVerified, PreferredLanguage: "en",
		}
	}
	data, err := json.Marshal(file)
	if err != nil {
		t.Fatalf("zitadel users file: %v", err)
	}
	usersFile := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(usersFile, data, 0o600); err != nil {
		t.Fatalf("zitadel users file: %v", err)
	}
	// thread-self, not self: /proc/self names the main thread, which a
	// failed return in inNetns could have left in another namespace.
	host, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatalf("network namespace of the test: %v", err)
	}
	env := append(baseEnv(),
		"PORT="+strconv.Itoa(port),
		"USERS_FILE="+usersFile,
		"REDIRECT_URI="+strings.Join(redirectURIs, ","),
	)
	// unshare execs the server in place, so the process stopped in
	// t.Cleanup is the server itself.
	z.proc = startProcess(t, "zitadel", unshare, []string{"--net", "--", bin}, env)
	ns := waitNetns(t, z.proc, host, 10*time.Second)
	if err := inNetns(ns, loopbackUp); err != nil {
		t.Fatalf("zitadel: bring up loopback in its network namespace: %v", err)
	}
	forwardLoopback(t, port, ns)
	waitHTTP(t, z.proc, z.Issuer+".well-known/openid-configuration", http.StatusOK, 20*time.Second)
	return z
}

// waitNetns waits until p runs in a network namespace other than host (the
// test's) and returns its path. unshare switches namespaces only after it
// has started, and a path read before that would name the test's own.
func waitNetns(t *testing.T, p *process, host string, timeout time.Duration) string {
	t.Helper()
	path := fmt.Sprintf("/proc/%d/ns/net", p.cmd.Process.Pid)
	deadline := time.Now().Add(timeout)
	for {
		if done, err := p.exited(); done {
			t.Fatalf("%s exited before it had its own network namespace (unshare --net needs CAP_SYS_ADMIN): %v", p.name, err)
		}
		ns, err := os.Readlink(path)
		if err == nil && ns != host {
			return path
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no network namespace of its own within %v (last: %q, %v)", p.name, timeout, ns, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inNetns runs fn on an OS thread that has joined the network namespace
// at path; sockets fn opens stay in that namespace. The thread then goes
// back to its own namespace; if it cannot, it stays locked, so the Go
// runtime ends it with its goroutine and no other goroutine runs there.
func inNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer own.Close()
		target, err := os.Open(path)
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		err = fn()
		if unix.Setns(int(own.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// loopbackUp sets the flag IFF_UP on "lo": a new network namespace starts
// with its loopback interface down.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS: %w", err)
	}
	return nil
}

// forwardLoopback listens on 127.0.0.1:port and, where the machine has
// IPv6, [::1]:port (the issuer's host is localhost, which names both), and
// relays each connection to 127.0.0.1:port inside the network namespace at
// ns, until t's cleanup.
func forwardLoopback(t *testing.T, port int, ns string) {
	t.Helper()
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var lns []net.Listener
	for _, host := range []string{"127.0.0.1", "::1"} {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if host == "::1" && (errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.EAFNOSUPPORT)) {
			continue // no IPv6 loopback: localhost is 127.0.0.1 only
		}
		if err != nil {
			// Also when another program holds [::1]:port: it would get
			// the requests meant for the provider.
			for _, l := range lns {
				l.Close()
			}
			t.Fatalf("forward %s: %v", net.JoinHostPort(host, strconv.Itoa(port)), err)
		}
		lns = append(lns, ln)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	track := func(c net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if conns == nil { // closing
			return false
		}
		conns[c] = true
		return true
	}
	relay := func(down net.Conn) {
		var up net.Conn
		err := inNetns(ns, func() error {
			var err error
			up, err = net.DialTimeout("tcp", target, 5*time.Second)
			return err
		})
		if err != nil {
			down.Close()
			return
		}
		if !track(down) || !track(up) {
			down.Close()
			up.Close()
			return
		}
		// When either side ends, close both: HTTP needs no half-close.
		var once sync.Once
		closeBoth := func() { once.Do(func() { down.Close(); up.Close() }) }
		wg.Go(func() { _, _ = io.Copy(up, down); closeBoth() })
		_, _ = io.Copy(down, up)
		closeBoth()
	}
	for _, ln := range lns {
		wg.Go(func() {
			for {
				down, err := ln.Accept()
				if err != nil {
					return // the listener was closed
				}
				wg.Go(func() { relay(down) })
			}
		})
	}
	t.Cleanup(func() {
		for _, ln := range lns {
			ln.Close()
		}
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		conns = nil
		mu.Unlock()
		wg.Wait()
	})
}

var (
	zitadelFormID = regexp.MustCompile(`<input type="hidden" name="id" value="([^"]*)">`)
	zitadelAction = regexp.MustCompile(`<form method="POST" action="([^"]*)"`)
)

// zitadelFormLogin follows start to the example's login form, submits u's
// username and password there, and returns the response the redirects end
// in. The body of the returned response is open.
func zitadelFormLogin(t *testing.T, c *http.Client, start string, u zitadelUser) *http.Response {
	t.Helper()
	resp, err := c.Get(start)
	if err != nil {
		t.Fatalf("GET %s: %v", start, err)
	}
	body := readBody(t, resp)
	id, action := zitadelFormID.FindStringSubmatch(body), zitadelAction.FindStringSubmatch(body)
	if id == nil || action == nil || !strings.Contains(body, `name="password"`) {
		t.Fatalf("GET %s ended at %s (%s) without the example's login form:\n%s", start, resp.Request.URL, resp.Status, body)
	}
	target, err := resp.Request.URL.Parse(html.UnescapeString(action[1]))
	if err != nil {
		t.Fatalf("login form action %q: %v", action[1], err)
	}
	resp, err = c.PostForm(target.String(), url.Values{
		"id":       {html.UnescapeString(id[1])},
		"username": {u.Username},
		"password": {u.password},
	})
	if err != nil {
		t.Fatalf("POST login form as %s: %v", u.Username, err)
	}
	return resp
}

// TestZitadelProvider checks the example server's set-up itself, so a
// failure of TestZitadelBrowserJourney can be told apart from a broken
// provider: each user signs in through the login form; the ID token
// verifies, carries the user's ID as sub and no email; UserInfo carries
// the email and email_verified. If a later version of the example puts the
// email into the ID token, this test says so, because the journey would
// then no longer prove that rezigate reads UserInfo.
func TestZitadelProvider(t *testing.T) {
	codes := make(chan url.Values, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case codes <- r.URL.Query():
		default:
		}
		_, _ = w.Write([]byte("callback"))
	}))
	defer cb.Close()
	alice, mallory, bob := zitadelUsers(t)
	z := startZitadel(t, []zitadelUser{alice, mallory, bob}, cb.URL+"/callback")

	ctx, cancel := withTimeout(t, 60*time.Second)
	defer cancel()
	provider, err := gooidc.NewProvider(ctx, z.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := oauth2.Config{
		ClientID:     z.ClientID,
		ClientSecret: z.ClientSecret,
		Endpoint:     provider.Endpoint(),
		RedirectURL:  cb.URL + "/callback",
		Scopes:       []string{gooidc.ScopeOpenID, "email", "profile"},
	}
	verifier := provider.Verifier(&gooidc.Config{ClientID: z.ClientID})
	for _, u := range []zitadelUser{alice, mallory, bob} {
		t.Run(u.Username, func(t *testing.T) {
			pkce, nonce, state := oauth2.GenerateVerifier(), "nonce-"+u.ID, "state-"+u.ID
			start := conf.AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce))
			resp := zitadelFormLogin(t, newJarClient(t, 10*time.Second), start, u)
			body := readBody(t, resp)
			var q url.Values
			select {
			case q = <-codes:
			default:
				t.Fatalf("login as %s ended at %s (%s) without reaching the callback:\n%s", u.Username, resp.Request.URL, resp.Status, body)
			}
			if got := q.Get("state"); got != state {
				t.Fatalf("callback state = %q; want %q", got, state)
			}
			tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pkce))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := verifier.Verify(ctx, raw)
			if err != nil {
				t.Fatalf("verify ID token: %v", err)
			}
			if idt.Subject != u.ID || idt.Nonce != nonce {
				t.Errorf("ID token sub, nonce = %q, %q; want %q, %q", idt.Subject, idt.Nonce, u.ID, nonce)
			}
			var claims map[string]any
			if err := idt.Claims(&claims); err != nil {
				t.Fatalf("claims: %v", err)
			}
			for _, name := range []string{"email", "email_verified"} {
				if v, ok := claims[name]; ok {
					t.Errorf("ID token has %s = %v; want none (the example keeps it for UserInfo)", name, v)
				}
			}
			info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			if info.Subject != u.ID || info.Email != u.Email || info.EmailVerified != u.EmailVerified {
				t.Errorf("UserInfo sub, email, email_verified = %q, %q, %v; want %q, %q, %v",
					info.Subject, info.Email, info.EmailVerified, u.ID, u.Email, u.EmailVerified)
			}
		})
	}
}

// zitadelUID is the uid rezigate must derive for a user of the example
// server, by the formula docs/configuration.md documents; the sub is the user's ID.
func zitadelUID(rg *rezigate, u zitadelUser) string {
	m := hmac.New(sha256.New, []byte(rg.uidSecret))
	m.Write([]byte(rg.issuer + "|" + u.ID))
	return hex.EncodeToString(m.Sum(nil))
}

// expectZitadelForm checks that the tab shows the example's login form,
// served under the issuer.
func expectZitadelForm(ctx context.Context, z *zitadel) error {
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("username")), chromedp.WaitVisible(chromedp.ID("password"))); err != nil {
		return fmt.Errorf("the zitadel example's login form did not show: %w", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return err
	}
	if !strings.HasPrefix(loc, z.Issuer+"login/username?") {
		return fmt.Errorf("login form at %s; want it at %slogin/username", loc, z.Issuer)
	}
	return nil
}

// submitZitadelForm types u's username and password into the example's
// form and submits it.
func submitZitadelForm(ctx context.Context, u zitadelUser) error {
	return chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("username"), u.Username),
		chromedp.SendKeys(chromedp.ID("password"), u.password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
	)
}

// waitLanding waits after the login form until the browser has loaded a
// page under one of prefixes, and returns that page load. rezigate's
// callback appears among the page loads only when it answers with a page
// (a refusal), not when it redirects.
func waitLanding(ctx context.Context, tb *tab, prefixes ...string) (docResponse, error) {
	for {
		for _, p := range prefixes {
			if d, ok := tb.document(p); ok {
				if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
					return d, err
				}
				return d, nil
			}
		}
		select {
		case <-ctx.Done():
			return docResponse{}, fmt.Errorf("no page under %s loaded: %w", strings.Join(prefixes, " or "), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestZitadelBrowserJourney drives headless Chromium through rezigate with
// the zitadel example as the OpenID provider, whose ID token carries no
// email: rezigate must take email and email_verified from UserInfo (for
// the same sub) and apply its rules to them. alice opens /rezi, signs in
// at the example's login form and lands in the RMS with a token for her
// email and uid; the upstream and /oauth2/userinfo name her. mallory
// (outside the allowed domain) and bob (email_verified false in UserInfo)
// get rezigate's 403 page for that reason.
func TestZitadelBrowserJourney(t *testing.T) {
	alice, mallory, bob := zitadelUsers(t)
	rgPort := freePorts(t, 1)[0]
	publicURL := fmt.Sprintf("http://127.0.0.1:%d", rgPort)
	z := startZitadel(t, []zitadelUser{alice, mallory, bob}, publicURL+"/oauth2/callback")
	parts := startDemoParts(t)
	// startRezigate reads only the issuer and the client from its provider.
	provider := &dex{Issuer: z.Issuer, ClientID: z.ClientID, ClientSecret: z.ClientSecret}
	rg := startRezigate(t, provider, parts, rezigateOptions{Port: rgPort, Upstream: parts.RMSURL})
	browser := startBrowser(t)

	const (
		intranetLink = "/rezi?openOnboarding=true&closeOnboardingRedirect=/dashboard/education"
		stepTimeout  = 30 * time.Second
	)
	aliceUID := zitadelUID(rg, alice)

	t.Run("alice", func(t *testing.T) {
		tb := newTab(t, browser, "zitadel-alice")

		tb.step("z1-zitadel-login-page", stepTimeout, func(ctx context.Context) error {
			if err := chromedp.Do(ctx, chromedp.Navigate(rg.URL+intranetLink)); err != nil {
				return err
			}
			return expectZitadelForm(ctx, z)
		})

		tb.step("z2-signed-in-lands-in-rms", stepTimeout, func(ctx context.Context) error {
			before := len(parts.RMS.Logins())
			if err := submitZitadelForm(ctx, alice); err != nil {
				return err
			}
			doc, err := waitLanding(ctx, tb, parts.RMSURL+"/login/", rg.URL+"/oauth2/callback")
			if err != nil {
				return err
			}
			if !strings.HasPrefix(doc.URL, parts.RMSURL+"/login/") {
				return fmt.Errorf("rezigate's callback answered %d; want a redirect into the RMS", doc.Status)
			}
			if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("token"))); err != nil {
				return fmt.Errorf("the RMS login page did not show: %w", err)
			}
			return checkRMSLogin(ctx, parts, before, alice.Email, aliceUID)
		})

		tb.step("z3-upstream-names-her", stepTimeout, func(ctx context.Context) error {
			if err := chromedp.Do(ctx,
				chromedp.Navigate(rg.URL+"/"),
				chromedp.WaitVisible(chromedp.ID("email")),
			); err != nil {
				return fmt.Errorf("the RMS home page did not load through the proxy: %w", err)
			}
			for _, h := range []struct{ id, header, want string }{
				{"email", "X-Forwarded-Email", alice.Email},
				{"uid", "X-Forwarded-User", aliceUID},
			} {
				got, err := text(ctx, h.id)
				if err != nil {
					return err
				}
				if got != h.want {
					return fmt.Errorf("upstream got %s %q; want %q", h.header, got, h.want)
				}
			}
			return nil
		})

		tb.step("z4-userinfo", stepTimeout, func(ctx context.Context) error {
			if err := chromedp.Do(ctx, chromedp.Navigate(rg.URL+"/oauth2/userinfo")); err != nil {
				return err
			}
			d, err := tb.waitDocument(ctx, rg.URL+"/oauth2/userinfo")
			if err != nil {
				return err
			}
			if d.Status != http.StatusOK {
				return fmt.Errorf("GET /oauth2/userinfo = %d; want 200", d.Status)
			}
			body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("body > pre") || document.body).innerText`))
			if err != nil {
				return err
			}
			var got struct{ Email, UID string }
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				return fmt.Errorf("/oauth2/userinfo: %v in %q", err, body)
			}
			if got.Email != alice.Email || got.UID != aliceUID {
				return fmt.Errorf("/oauth2/userinfo = email %q uid %q; want %q, %q", got.Email, got.UID, alice.Email, aliceUID)
			}
			return nil
		})

		tb.step("z5-rezi-again-needs-no-password", stepTimeout, func(ctx context.Context) error {
			before := len(parts.RMS.Logins())
			if err := chromedp.Do(ctx,
				chromedp.Navigate(rg.URL+intranetLink),
				chromedp.WaitVisible(chromedp.ID("token")),
			); err != nil {
				return fmt.Errorf("signed in, /rezi did not lead straight to the RMS: %w", err)
			}
			return checkRMSLogin(ctx, parts, before, alice.Email, aliceUID)
		})
	})

	refusals := []struct {
		name   string
		user   zitadelUser
		reason string // a word the 403 page must say
	}{
		{"zitadel-outsider", mallory, "company account"},
		{"zitadel-unverified", bob, "verified"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			tb := newTab(t, browser, tc.name)
			calls := parts.Rezi.Calls()
			logins := len(parts.RMS.Logins())

			tb.step("1-login-form", stepTimeout, func(ctx context.Context) error {
				if err := chromedp.Do(ctx, chromedp.Navigate(rg.URL+intranetLink)); err != nil {
					return err
				}
				return expectZitadelForm(ctx, z)
			})

			tb.step("2-forbidden-page", stepTimeout, func(ctx context.Context) error {
				if err := submitZitadelForm(ctx, tc.user); err != nil {
					return err
				}
				doc, err := waitLanding(ctx, tb, rg.URL+"/oauth2/callback", parts.RMSURL+"/")
				if err != nil {
					return err
				}
				if doc.Status != http.StatusForbidden || !strings.HasPrefix(doc.URL, rg.URL+"/oauth2/callback") {
					return fmt.Errorf("after sign-in, %s answered %d; want rezigate's callback to answer 403", doc.URL, doc.Status)
				}
				body, err := pageText(ctx)
				if err != nil {
					return err
				}
				if !strings.Contains(strings.ToLower(body), tc.reason) {
					return fmt.Errorf("the 403 page does not say why (%q)", tc.reason)
				}
				if got := parts.Rezi.Calls(); got != calls {
					return fmt.Errorf("Rezi calls = %d; want %d (no token for a refused user)", got, calls)
				}
				if got := len(parts.RMS.Logins()); got != logins {
					return fmt.Errorf("RMS logins = %d; want %d", got, logins)
				}
				return nil
			})

			tb.step("3-still-signed-out", stepTimeout, func(ctx context.Context) error {
				if err := chromedp.Do(ctx, chromedp.Navigate(rg.URL+"/oauth2/userinfo")); err != nil {
					return err
				}
				d, err := tb.waitDocument(ctx, rg.URL+"/oauth2/userinfo")
				if err != nil {
					return err
				}
				if d.Status != http.StatusUnauthorized {
					return fmt.Errorf("GET /oauth2/userinfo = %d; want 401 (no session)", d.Status)
				}
				return nil
			})
		})
	}
}
