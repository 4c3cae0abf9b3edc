//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/internal/testsupport/lockedbuf"
)

// shotCounter numbers screenshots across the run, so their names sort in
// the order the steps ran.
var shotCounter atomic.Int32

// shotsDir is where screenshots go: $REZIGATE_E2E_SHOTS when set (so they
// outlive the run), else the test's temporary directory.
func shotsDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("REZIGATE_E2E_SHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("screenshot directory: %v", err)
		}
		return dir
	}
	return t.TempDir()
}

// startBrowser starts headless Chromium and returns a context that owns it.
// Each tab made from it with newTab gets its own browser context: its own
// cookies, as a fresh incognito window.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	exe := chromiumBinary(t)
	profile, err := os.MkdirTemp("", "rezigate-e2e-chromium-")
	if err != nil {
		t.Fatalf("chromium profile: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) }) // runs last: after Chromium has exited
	out := &lockedbuf.Buffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(out),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			t.Logf("---- chromium output ----\n%s---- end of chromium output ----", out.String())
		}
	})
	// The first Do starts the browser; its context has no deadline because
	// it owns the browser's life. Chromium's start is bounded by chromedp's
	// own read timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// docResponse is the response to a top-level page load.
type docResponse struct {
	URL    string
	Status int64
}

// tab is one browser tab in its own browser context, with the statuses of
// the pages it loaded (the browser shows a page, not its status).
type tab struct {
	t     *testing.T
	name  string
	ctx   context.Context
	shots string

	mu       sync.Mutex
	docs     []docResponse
	requests []string // URLs of every top-level request, redirects included
}

func newTab(t *testing.T, browser context.Context, name string) *tab {
	t.Helper()
	tb := &tab{t: t, name: name, shots: shotsDir(t)}
	ctx, cancel := chromedp.NewContext(browser,
		chromedp.WithNewBrowserContext(),
		chromedp.WithListener(func(ev any) {
			if ev, ok := ev.(*network.EventResponseReceived); ok && ev.Type == network.ResourceTypeDocument && ev.Response != nil {
				tb.mu.Lock()
				tb.docs = append(tb.docs, docResponse{URL: ev.Response.URL, Status: ev.Response.Status})
				tb.mu.Unlock()
			}
			if ev, ok := ev.(*network.EventRequestWillBeSent); ok && ev.Type == network.ResourceTypeDocument && ev.Request != nil {
				tb.mu.Lock()
				tb.requests = append(tb.requests, ev.Request.URL)
				tb.mu.Unlock()
			}
		}),
	)
	t.Cleanup(cancel)
	tb.ctx = ctx
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab %s: %v", name, err)
	}
	return tb
}

// document returns the last page load whose URL starts with prefix.
func (tb *tab) document(prefix string) (docResponse, bool) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for i := len(tb.docs) - 1; i >= 0; i-- {
		if strings.HasPrefix(tb.docs[i].URL, prefix) {
			return tb.docs[i], true
		}
	}
	return docResponse{}, false
}

// waitDocument waits until a page whose URL starts with prefix has loaded.
func (tb *tab) waitDocument(ctx context.Context, prefix string) (docResponse, error) {
	for {
		if d, ok := tb.document(prefix); ok {
			if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
				return d, err
			}
			return d, nil
		}
		select {
		case <-ctx.Done():
			return docResponse{}, fmt.Errorf("no page under %s loaded: %w", prefix, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// requested reports whether the tab requested a page whose URL starts
// with prefix, whether or not it was a redirect.
func (tb *tab) requested(prefix string) bool {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, u := range tb.requests {
		if strings.HasPrefix(u, prefix) {
			return true
		}
	}
	return false
}

// docCount is how many page loads the tab has seen; waitDocumentAfter
// waits for one after that many.
func (tb *tab) docCount() int {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return len(tb.docs)
}

// waitDocumentAfter waits until a page whose URL starts with prefix has
// loaded after the first n loads, and returns it.
func (tb *tab) waitDocumentAfter(ctx context.Context, prefix string, n int) (docResponse, error) {
	for {
		tb.mu.Lock()
		var found *docResponse
		for i := len(tb.docs) - 1; i >= n; i-- {
			if strings.HasPrefix(tb.docs[i].URL, prefix) {
				found = &tb.docs[i]
				break
			}
		}
		tb.mu.Unlock()
		if found != nil {
			return *found, chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("body")))
		}
		select {
		case <-ctx.Done():
			return docResponse{}, fmt.Errorf("no new page under %s loaded: %w", prefix, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// step runs one step of the journey within timeout, then saves a
// screenshot of the page and logs its path. A failing step fails the test
// with the page's URL and text.
func (tb *tab) step(name string, timeout time.Duration, fn func(ctx context.Context) error) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, timeout)
	err := fn(ctx)
	cancel()
	shot := tb.screenshot(name, err != nil)
	if err != nil {
		loc, text := tb.pageState()
		tb.t.Fatalf("step %s/%s: %v\npage URL: %s\nscreenshot: %s\npage text:\n%s", tb.name, name, err, loc, shot, text)
	}
	tb.t.Logf("step %s/%s: ok; screenshot: %s", tb.name, name, shot)
}

func (tb *tab) screenshot(name string, failed bool) string {
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return "(none: " + err.Error() + ")"
	}
	suffix := ""
	if failed {
		suffix = "-FAILED"
	}
	path := filepath.Join(tb.shots, fmt.Sprintf("%02d-%s-%s%s.png", shotCounter.Add(1), tb.name, name, suffix))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return "(none: " + err.Error() + ")"
	}
	return path
}

// pageState is the page's URL and visible text, for failure messages.
func (tb *tab) pageState() (loc, text string) {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		loc = "(unknown: " + err.Error() + ")"
	}
	text, err = pageText(ctx)
	if err != nil {
		text = "(unknown: " + err.Error() + ")"
	}
	return loc, text
}

func pageText(ctx context.Context) (string, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
}

// text is the text content of the element with the given id.
func text(ctx context.Context, id string) (string, error) {
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID(id)))
	return strings.TrimSpace(s), err
}

// expectDexForm checks that the tab shows Dex's password form.
func expectDexForm(ctx context.Context, d *dex) error {
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("password"))); err != nil {
		return fmt.Errorf("Dex's login form did not show: %w", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return err
	}
	if !strings.HasPrefix(loc, d.Issuer+"/") {
		return fmt.Errorf("login form at %s; want it under the issuer %s", loc, d.Issuer)
	}
	return nil
}

// submitDexForm types u's email and password into Dex's form and submits it.
func submitDexForm(ctx context.Context, u dexUser) error {
	return chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("login"), u.Email),
		chromedp.SendKeys(chromedp.ID("password"), u.Password),
		chromedp.Click(chromedp.ID("submit-login")),
	)
}

// TestBrowserJourney drives headless Chromium through what an employee
// does: an intranet link to /rezi, Dex's login form, the RMS with a token;
// an upstream page through the proxy; sign-out; and the refusals for a
// user outside the allowed domain and one with an unverified email.
func TestBrowserJourney(t *testing.T) {
	ports := freePorts(t, 2)
	dexPort, rgPort := ports[0], ports[1]
	publicURL := fmt.Sprintf("http://127.0.0.1:%d", rgPort)
	d := startDex(t, dexPort, publicURL+"/oauth2/callback")
	parts := startDemoParts(t)
	rg := startRezigate(t, d, parts, rezigateOptions{Port: rgPort, Upstream: parts.RMSURL})
	browser := startBrowser(t)

	const (
		intranetLink = "/rezi?openOnboarding=true&closeOnboardingRedirect=/dashboard/education"
		stepTimeout  = 30 * time.Second
	)
	aliceUID := rg.uid(alice)

	t.Run("alice", func(t *testing.T) {
		tb := newTab(t, browser, "alice")

		tb.step("a1-intranet-link-asks-for-password", stepTimeout, func(ctx context.Context) error {
			if err := chromedp.Do(ctx, chromedp.Navigate(rg.URL+intranetLink)); err != nil {
				return err
			}
			return expectDexForm(ctx, d)
		})

		tb.step("a2-signed-in-lands-in-rms", stepTimeout, func(ctx context.Context) error {
			before := len(parts.RMS.Logins())
			if err := submitDexForm(ctx, alice); err != nil {
				return err
			}
			if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("token"))); err != nil {
				return fmt.Errorf("the RMS login page did not show: %w", err)
			}
			return checkRMSLogin(ctx, parts, before, alice.Email, aliceUID)
		})

		tb.step("b1-upstream-page-through-proxy", stepTimeout, func(ctx context.Context) error {
			if err := chromedp.Do(ctx,
				chromedp.Navigate(rg.URL+"/"),
				chromedp.WaitVisible(chromedp.CSS(`body[data-js="loaded"]`)),
			); err != nil {
				return fmt.Errorf("the RMS home page did not load with its JS: %w", err)
			}
			loc, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				return err
			}
			if loc != rg.URL+"/" {
				return fmt.Errorf("location = %q; want %q (served through the proxy)", loc, rg.URL+"/")
			}
			css, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
				`[...document.styleSheets].some(s => s.href && new URL(s.href).pathname === "/static/app.css" && s.cssRules.length > 0)`))
			if err != nil {
				return err
			}
			if !css {
				return fmt.Errorf("stylesheet /static/app.css not loaded through the proxy")
			}
			for id, want := range map[string]string{"email": alice.Email, "uid": aliceUID} {
				got, err := text(ctx, id)
				if err != nil {
					return err
				}
				if got != want {
					return fmt.Errorf("#%s = %q; want %q", id, got, want)
				}
			}
			return nil
		})

		tb.step("b2-rezi-again-needs-no-password", stepTimeout, func(ctx context.Context) error {
			before := len(parts.RMS.Logins())
			if err := chromedp.Do(ctx,
				chromedp.Navigate(rg.URL+intranetLink),
				chromedp.WaitVisible(chromedp.ID("token")),
			); err != nil {
				return fmt.Errorf("signed in, /rezi did not lead straight to the RMS: %w", err)
			}
			return checkRMSLogin(ctx, parts, before, alice.Email, aliceUID)
		})

		tb.step("c1-sign-out", stepTimeout, func(ctx context.Context) error {
			// A typed URL is a same-origin request, so it signs out at once.
			// Dex offers no end_session_endpoint, so the browser goes
			// straight to the signed-out page; Dex keeps no login session
			// for password users, so the next sign-in must ask again.
			if err := chromedp.Do(ctx, chromedp.Navigate(rg.URL+"/oauth2/sign_out")); err != nil {
				return err
			}
			return expectSignedOutPage(ctx, tb, rg.URL, "/rezi")
		})

		tb.step("c2-rezi-asks-for-password-again", stepTimeout, func(ctx context.Context) error {
			before := len(parts.RMS.Logins())
			if err := chromedp.Do(ctx, chromedp.Navigate(rg.URL+intranetLink)); err != nil {
				return err
			}
			if err := expectDexForm(ctx, d); err != nil {
				return err
			}
			if n := len(parts.RMS.Logins()); n != before {
				return fmt.Errorf("RMS logins = %d after sign-out; want %d", n, before)
			}
			return nil
		})
	})

	refusals := []struct {
		name   string
		user   dexUser
		reason string // a word the 403 page must say
	}{
		{"d-outsider", mallory, "company account"},
		{"e-unverified", bob, "verified"},
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
				return expectDexForm(ctx, d)
			})

			tb.step("2-forbidden-page", stepTimeout, func(ctx context.Context) error {
				if err := submitDexForm(ctx, tc.user); err != nil {
					return err
				}
				doc, err := tb.waitDocument(ctx, rg.URL+"/oauth2/callback")
				if err != nil {
					return err
				}
				if doc.Status != 403 {
					return fmt.Errorf("GET %s = %d; want 403", doc.URL, doc.Status)
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
				if err := chromedp.Do(ctx, chromedp.Navigate(rg.URL+"/")); err != nil {
					return err
				}
				return expectDexForm(ctx, d)
			})
		})
	}
}

// checkRMSLogin checks the page the browser is on is the RMS login URL with
// a fresh token for email and uid and both options, and that the RMS recorded it.
func checkRMSLogin(ctx context.Context, parts *demoParts, before int, email, uid string) error {
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return err
	}
	u, err := url.Parse(loc)
	if err != nil {
		return err
	}
	if got, want := u.Scheme+"://"+u.Host+u.Path, parts.RMSURL+"/login/"; got != want {
		return fmt.Errorf("landed at %s; want the RMS login URL %s", got, want)
	}
	q := u.Query()
	logins := parts.RMS.Logins()
	if len(logins) != before+1 {
		return fmt.Errorf("RMS recorded %d logins; want %d", len(logins), before+1)
	}
	l := logins[len(logins)-1]
	want := map[string]string{
		"token":                   l.Token,
		"openOnboarding":          "true",
		"closeOnboardingRedirect": "/dashboard/education",
	}
	if l.Token == "" {
		return fmt.Errorf("RMS recorded an empty token")
	}
	if l.OpenOnboarding != want["openOnboarding"] || l.CloseOnboardingRedirect != want["closeOnboardingRedirect"] {
		return fmt.Errorf("RMS recorded openOnboarding=%q closeOnboardingRedirect=%q; want %q, %q",
			l.OpenOnboarding, l.CloseOnboardingRedirect, want["openOnboarding"], want["closeOnboardingRedirect"])
	}
	for name, w := range want {
		if got := q.Get(name); got != w {
			return fmt.Errorf("query %s = %q; want %q", name, got, w)
		}
		got, err := text(ctx, name)
		if err != nil {
			return err
		}
		if got != w {
			return fmt.Errorf("page #%s = %q; want %q", name, got, w)
		}
	}
	tokEmail, tokUID, err := reziTokenClaims(l.Token)
	if err != nil {
		return err
	}
	if tokEmail != email || tokUID != uid {
		return fmt.Errorf("token issued for email=%q uid=%q; want %q, %q", tokEmail, tokUID, email, uid)
	}
	// The hand-off page says who arrived, as the RMS would key the account.
	for id, w := range map[string]string{"email": email, "uid": uid} {
		got, err := text(ctx, id)
		if err != nil {
			return err
		}
		if got != w {
			return fmt.Errorf("RMS hand-off page #%s = %q; want %q", id, got, w)
		}
	}
	if e, u := parts.Rezi.LastRequest(); e != email || u != uid {
		return fmt.Errorf("Rezi stand-in last asked for email=%q uid=%q; want %q, %q", e, u, email, uid)
	}
	return nil
}

// expectSignedOutPage checks that the tab shows rezigate's signed-out page
// under base, with a sign-in link to signIn.
func expectSignedOutPage(ctx context.Context, tb *tab, base, signIn string) error {
	doc, err := tb.waitDocument(ctx, base+"/oauth2/signed_out")
	if err != nil {
		return err
	}
	if doc.Status != 200 {
		return fmt.Errorf("GET %s = %d; want 200", doc.URL, doc.Status)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("sign-in"))); err != nil {
		return fmt.Errorf("the signed-out page did not show: %w", err)
	}
	body, err := pageText(ctx)
	if err != nil {
		return err
	}
	if !strings.Contains(body, "You are signed out") {
		return fmt.Errorf("the signed-out page does not say so")
	}
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("sign-in").getAttribute("href")`))
	if err != nil {
		return err
	}
	if href != signIn {
		return fmt.Errorf("sign-in link = %q; want %q", href, signIn)
	}
	return nil
}

// expectErrorPage checks that the last page load under prefix answered
// status and shows rezigate's error page with a request id.
func expectErrorPage(ctx context.Context, tb *tab, prefix string, after, status int) error {
	doc, err := tb.waitDocumentAfter(ctx, prefix, after)
	if err != nil {
		return err
	}
	if doc.Status != int64(status) {
		return fmt.Errorf("GET %s = %d; want %d", doc.URL, doc.Status, status)
	}
	id, err := text(ctx, "request-id")
	if err != nil {
		return fmt.Errorf("the %d page shows no request id: %w", status, err)
	}
	if id == "" {
		return fmt.Errorf("the %d page shows an empty request id", status)
	}
	return nil
}

// TestBrowserPages walks Chromium through every page of rezigate and the
// demo a person can see, with the demo OpenID provider in place of Dex,
// and screenshots each: the provider's login page, the RMS hand-off, a
// 400, a 404, a 502 from an upstream that is down, the 403 for a sign-out
// posted from another site, the confirmation a sign-out link on another
// site gets, and the signed-out page after the provider's logout.
func TestBrowserPages(t *testing.T) {
	ports := freePorts(t, 2)
	rgPort, deadPort := ports[0], ports[1] // nothing ever listens on deadPort
	rgURL := fmt.Sprintf("http://127.0.0.1:%d", rgPort)

	password := "alice-pages-" + randomHex(t, 8)
	clientSecret := "pages-" + randomHex(t, 16)
	provSrv := httptest.NewUnstartedServer(nil)
	t.Cleanup(provSrv.Close)
	provider, err := demo.NewProvider(demo.ProviderOptions{
		Issuer:       "http://" + provSrv.Listener.Addr().String(),
		ClientID:     "rezigate",
		ClientSecret: clientSecret,
		RedirectURIs: []string{rgURL + "/oauth2/callback"},
		Users:        []demo.User{{Email: alice.Email, Password: password, Subject: "pages-alice", Name: "Alice", EmailVerified: true}},
		Logger:       slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatalf("demo.NewProvider: %v", err)
	}
	provSrv.Config.Handler = provider
	provSrv.Start()
	// startRezigate needs only the issuer and client of a dex.
	idp := &dex{Issuer: provider.Issuer(), ClientID: "rezigate", ClientSecret: clientSecret}

	parts := startDemoParts(t)
	rg := startRezigate(t, idp, parts, rezigateOptions{Port: rgPort, Upstream: fmt.Sprintf("http://127.0.0.1:%d", deadPort)})

	// Another site: "localhost" is a different site from "127.0.0.1" to
	// the browser, so its links and forms are cross-site requests.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Another site</title></head><body>
<h1>Another site</h1>
<p><a id="link" href="%[1]s/oauth2/sign_out?rd=%%2Freports">A sign-out link</a></p>
<form method="post" action="%[1]s/oauth2/sign_out"><input type="hidden" name="rd" value="/reports">
<button id="post" type="submit">A sign-out form</button></form>
</body></html>`, rg.URL)
	}))
	t.Cleanup(other.Close)
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)

	browser := startBrowser(t)
	tb := newTab(t, browser, "pages")
	const stepTimeout = 30 * time.Second

	tb.step("p1-provider-login-page", stepTimeout, func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.Navigate(rg.URL+"/rezi?openOnboarding=true")); err != nil {
			return err
		}
		return chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("password")))
	})

	tb.step("p2-rms-hand-off-page", stepTimeout, func(ctx context.Context) error {
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("login"), alice.Email),
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.Click(chromedp.ID("submit-login")),
			chromedp.WaitVisible(chromedp.ID("token")),
		); err != nil {
			return fmt.Errorf("the RMS hand-off page did not show: %w", err)
		}
		for id, want := range map[string]string{"email": alice.Email, "openOnboarding": "true"} {
			got, err := text(ctx, id)
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("#%s = %q; want %q", id, got, want)
			}
		}
		if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#closeOnboardingRedirect").length`)); err != nil || n != 0 {
			return fmt.Errorf("the hand-off page shows closeOnboardingRedirect, which was not sent (%d, %v)", n, err)
		}
		return nil
	})

	errorPages := []struct {
		name, path string
		status     int
	}{
		{"p3-400-page", "/rezi?openOnboarding=maybe", 400},
		{"p4-404-page", "/oauth2/nothing-here", 404},
		{"p5-502-page-upstream-down", "/reports", 502},
	}
	for _, ep := range errorPages {
		tb.step(ep.name, stepTimeout, func(ctx context.Context) error {
			n := tb.docCount()
			if err := chromedp.Do(ctx, chromedp.Navigate(rg.URL+ep.path)); err != nil {
				return err
			}
			return expectErrorPage(ctx, tb, rg.URL+ep.path, n, ep.status)
		})
	}

	tb.step("p6-403-sign-out-posted-from-another-site", stepTimeout, func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.Navigate(otherURL+"/"), chromedp.WaitVisible(chromedp.ID("post"))); err != nil {
			return err
		}
		n := tb.docCount()
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("post"))); err != nil {
			return err
		}
		return expectErrorPage(ctx, tb, rg.URL+"/oauth2/sign_out", n, 403)
	})

	tb.step("p7-sign-out-link-on-another-site-asks-first", stepTimeout, func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.Navigate(otherURL+"/"), chromedp.WaitVisible(chromedp.ID("link"))); err != nil {
			return err
		}
		n := tb.docCount()
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("link"))); err != nil {
			return err
		}
		doc, err := tb.waitDocumentAfter(ctx, rg.URL+"/oauth2/sign_out", n)
		if err != nil {
			return err
		}
		if doc.Status != 200 {
			return fmt.Errorf("GET %s = %d; want 200", doc.URL, doc.Status)
		}
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("sign-out"))); err != nil {
			return fmt.Errorf("no sign-out button: %w", err)
		}
		// The 403 before and this link left the session alone.
		if got, err := text(ctx, "email"); err != nil || got != alice.Email {
			return fmt.Errorf("confirmation page names %q (%v); want %q, still signed in", got, err, alice.Email)
		}
		return nil
	})

	tb.step("p8-signed-out-page-after-provider-logout", stepTimeout, func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("sign-out"))); err != nil {
			return err
		}
		if err := expectSignedOutPage(ctx, tb, rg.URL, "/oauth2/start?rd=%2Freports"); err != nil {
			return err
		}
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			return err
		}
		if want := rg.URL + "/oauth2/signed_out?rd=%2Freports"; loc != want {
			return fmt.Errorf("signed out at %s; want %s (back from the provider's logout)", loc, want)
		}
		if !tb.requested(provider.Issuer() + "/logout?") {
			return fmt.Errorf("the browser never went through the provider's logout")
		}
		return nil
	})

	tb.step("p9-sign-in-again-asks-for-password", stepTimeout, func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("sign-in"))); err != nil {
			return err
		}
		return chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("password")))
	})
}
