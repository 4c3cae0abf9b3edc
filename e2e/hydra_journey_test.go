//go:build e2e

package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	// refusedRefreshLog is what rezigate logs when the provider refused a
	// refresh, which signs the session out.
	refusedRefreshLog = "the provider refused to refresh the session: signed out"
	// backchannelLog is what rezigate logs when a logout token ended
	// sessions; backchannelRefusedLog when it refused one.
	backchannelLog        = `msg="back-channel logout"`
	backchannelRefusedLog = "back-channel logout refused"
)

// hydraDeployment is two rezigate replicas with session.store redis on one
// redis-server, in front of the demo RMS, signing in with Hydra. The first
// replica's URL is the public_url of both.
type hydraDeployment struct {
	hydra     *hydra
	replicas  []*rezigate
	uidSecret string
}

// URL is the deployment's public_url.
func (d *hydraDeployment) URL() string { return d.replicas[0].URL }

// uid is the uid rezigate derives for u: hex(HMAC-SHA256(uid_secret,
// issuer + "|" + sub)).
func (d *hydraDeployment) uid(u hydraUser) string {
	m := hmac.New(sha256.New, []byte(d.uidSecret))
	m.Write([]byte(d.hydra.Issuer + "|" + u.Subject))
	return hex.EncodeToString(m.Sum(nil))
}

// logs is every replica's output so far.
func (d *hydraDeployment) logs() string {
	var b strings.Builder
	for _, rg := range d.replicas {
		b.WriteString(rg.proc.out.String())
	}
	return b.String()
}

// waitLog polls the replicas' output for any of lines, for at most
// within, and returns the first one there, or "".
func (d *hydraDeployment) waitLog(within time.Duration, lines ...string) string {
	deadline := time.Now().Add(within)
	for {
		logs := d.logs()
		for _, s := range lines {
			if strings.Contains(logs, s) {
				return s
			}
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// refreshes counts the refreshes replica i has logged.
func (d *hydraDeployment) refreshes(i int) int {
	return strings.Count(d.replicas[i].proc.out.String(), refreshedLog)
}

// signIn signs u in through the login form with browser c and returns
// the session cookie. The sign-in must show the form.
func (d *hydraDeployment) signIn(t *testing.T, c *http.Client, u hydraUser) string {
	t.Helper()
	start := d.URL() + "/oauth2/start?rd=%2Fheaders"
	resp, err := hydraFormLogin(t, c, start, u)
	body := readBody(t, resp)
	if err != nil {
		t.Fatalf("sign-in as %s ended at %s (%s) without Hydra's login form:\n%s", u.Email, resp.Request.URL, resp.Status, body)
	}
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != d.URL()+"/headers" {
		t.Fatalf("sign-in as %s ended at %s with %s; want %s/headers with 200\n%s", u.Email, resp.Request.URL, resp.Status, d.URL(), body)
	}
	return jarCookie(t, c, d.URL())
}

// jarCookie is the session cookie c holds for base.
func jarCookie(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	u, err := url.Parse(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == replicaCookie {
			return ck.Value
		}
	}
	return ""
}

// signedIn checks the cookie is u's session on every replica.
func (d *hydraDeployment) signedIn(t *testing.T, who, cookie string, u hydraUser) {
	t.Helper()
	for _, rg := range d.replicas {
		a, uid := userinfo(t, rg.URLDirect(), cookie)
		if a.status != http.StatusOK || !strings.Contains(a.body, u.Email) || uid != d.uid(u) {
			t.Errorf("%s: GET %s/oauth2/userinfo = %d %s; want 200 naming %s and uid %s", who, rg.URLDirect(), a.status, a.body, u.Email, d.uid(u))
		}
	}
}

// waitSignedOut polls every replica until the cookie answers 401 there,
// for at most within.
func (d *hydraDeployment) waitSignedOut(t *testing.T, cookie string, within time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, rg := range d.replicas {
		for {
			a := call(t, http.MethodGet, rg.URLDirect()+"/headers", cookie, "")
			if a.status == http.StatusUnauthorized {
				break
			}
			if a.status != http.StatusOK {
				t.Fatalf("GET %s/headers = %d while waiting for the session to end; want 200 or 401\n%s", rg.URLDirect(), a.status, a.body)
			}
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return true
}

// URLDirect is the replica's own address, whatever public_url says.
func (rg *rezigate) URLDirect() string { return "http://" + rg.Listen }

// startHydraDeployment starts redis-server, Hydra with its login app and
// users, the demo parts and two rezigate replicas refreshing every
// session with Hydra every refresh.
func startHydraDeployment(t *testing.T, users []hydraUser, refresh time.Duration) *hydraDeployment {
	t.Helper()
	ports := freePorts(t, 3)
	redis := startRedis(t, ports[0], randomHex(t, 24))
	publicURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	h := startHydra(t, users, publicURL)
	parts := startDemoParts(t)
	d := &hydraDeployment{hydra: h, uidSecret: randomHex(t, 32)}
	// startRezigate reads only the issuer and the client from its provider.
	provider := &dex{Issuer: h.Issuer, ClientID: h.ClientID, ClientSecret: h.ClientSecret}
	secrets := randomHex(t, 32) + "," + randomHex(t, 32)
	for _, port := range ports[1:] {
		d.replicas = append(d.replicas, startRezigate(t, provider, parts, rezigateOptions{
			Port:      port,
			PublicURL: publicURL,
			Upstream:  parts.RMSURL,
			Config: map[string]any{
				"oidc": map[string]any{"scopes": []string{"openid", "email"}},
				"session": map[string]any{
					"store":            "redis",
					"refresh_interval": refresh.String(),
					"refresh_grace":    "1h",
				},
			},
			Env:            []string{"REZIGATE_REDIS_URL=" + redis.URL()},
			SessionSecrets: secrets,
			UIDSecret:      d.uidSecret,
		}))
	}
	return d
}

// TestHydraJourney runs Ory Hydra as the provider of two rezigate
// replicas on one Redis, refreshing sessions every 2 s:
//   - a sign-in through the login form is a session on both replicas;
//   - the replicas refresh it in turn, and both at once, for several
//     intervals, and it lives on: Hydra revokes the whole refresh-token
//     chain when a refresh token is used twice, so this proves each
//     refresh was done once, across replicas;
//   - revoking the user's consent at Hydra ends the session at the next
//     refresh;
//   - ending a login session at Hydra by its sid makes Hydra send a
//     back-channel logout that ends the session within seconds;
//   - sign-out ends the Hydra session too: the next sign-in shows the
//     login form again.
func TestHydraJourney(t *testing.T) {
	const refresh = 2 * time.Second
	users := []hydraUser{
		{Email: "alice@example.com", Subject: "hydra-alice", Groups: []string{"staff"}},
		{Email: "bob@example.com", Subject: "hydra-bob", Groups: []string{"staff"}},
		{Email: "carol@example.com", Subject: "hydra-carol", Groups: []string{"staff"}},
		{Email: "erin@example.com", Subject: "hydra-erin", Groups: []string{"staff"}},
	}
	for i := range users {
		users[i].password = "pw-" + randomHex(t, 8)
	}
	alice, bob, carol, erin := users[0], users[1], users[2], users[3]
	d := startHydraDeployment(t, users, refresh)

	// What the replica step relies on, checked against Hydra alone.
	ok := t.Run("Hydra revokes the chain of a refresh token used twice", func(t *testing.T) {
		hydraRefreshReuse(t, d.hydra, erin)
	})
	if !ok {
		t.FailNow()
	}

	// erin is a bystander: nothing done to the others may end her session.
	erinB := newJarClient(t, 20*time.Second)
	erinCookie := d.signIn(t, erinB, erin)
	d.signedIn(t, "erin", erinCookie, erin)

	aliceB := newJarClient(t, 20*time.Second)
	var aliceCookie string
	ok = t.Run("sign in through the login form", func(t *testing.T) {
		aliceCookie = d.signIn(t, aliceB, alice)
		d.signedIn(t, "alice", aliceCookie, alice)
		if d.hydra.app.sid(alice.Subject) == "" {
			t.Errorf("hydra gave alice's consent no login session id")
		}
	})
	if !ok {
		t.FailNow()
	}

	ok = t.Run("two replicas refresh for several intervals", func(t *testing.T) {
		// Each replica in turn, alone: it refreshes with the refresh
		// token the other one stored in Redis.
		for round := range 4 {
			i := round % len(d.replicas)
			before := d.refreshes(i)
			waitRefresh(t, d, []int{i}, func() bool { return d.refreshes(i) > before }, aliceCookie, alice, 10*refresh)
		}
		// Then both at once, for two more refreshes: one of them wins the
		// lock, the other keeps using the session.
		total := func() int { return d.refreshes(0) + d.refreshes(1) }
		before := total()
		waitRefresh(t, d, []int{0, 1}, func() bool { return total() >= before+2 }, aliceCookie, alice, 20*refresh)
		if logs := d.logs(); strings.Contains(logs, refusedRefreshLog) || strings.Contains(logs, "session not refreshed") {
			t.Fatalf("a replica logged a failed refresh:\n%s", logs)
		}
		for i := range d.replicas {
			if d.refreshes(i) < 2 {
				t.Errorf("replica %d refreshed %d times; want at least 2", i+1, d.refreshes(i))
			}
		}
		d.signedIn(t, "alice after the refreshes", aliceCookie, alice)
	})
	if !ok {
		t.FailNow()
	}

	t.Run("revoking consent at Hydra ends the session at the next refresh", func(t *testing.T) {
		q := url.Values{"subject": {alice.Subject}, "all": {"true"}}
		if _, err := hydraAdmin(t.Context(), d.hydra.Admin, http.MethodDelete, "/admin/oauth2/auth/sessions/consent", q, nil, nil, http.StatusNoContent); err != nil {
			t.Fatal(err)
		}
		if !d.waitSignedOut(t, aliceCookie, 10*refresh) {
			t.Fatalf("alice's session still works %v after her consent was revoked (refresh every %v)", 10*refresh, refresh)
		}
		// The line may still be on its way through the pipe.
		if d.waitLog(5*time.Second, refusedRefreshLog) == "" {
			t.Errorf("the session ended, but no replica logged %q", refusedRefreshLog)
		}
		d.signedIn(t, "erin (bystander)", erinCookie, erin)
	})

	t.Run("back-channel logout from Hydra", func(t *testing.T) {
		c := newJarClient(t, 20*time.Second)
		cookie := d.signIn(t, c, carol)
		d.signedIn(t, "carol", cookie, carol)
		sid := d.hydra.app.sid(carol.Subject)
		if sid == "" {
			t.Fatal("no login session id for carol")
		}
		// By sid: Hydra 2.3 sends a logout token only then (by subject
		// it ends the login sessions silently).
		q := url.Values{"sid": {sid}}
		if _, err := hydraAdmin(t.Context(), d.hydra.Admin, http.MethodDelete, "/admin/oauth2/auth/sessions/login", q, nil, nil, http.StatusNoContent); err != nil {
			t.Fatal(err)
		}
		// Hydra delivers the token from a goroutine of its own: wait for
		// rezigate's verdict.
		const within = 10 * time.Second
		if d.waitLog(within, backchannelLog, backchannelRefusedLog) == "" {
			t.Fatalf("no replica logged a back-channel logout within %v of ending carol's login session at Hydra", within)
		}
		if !strings.Contains(d.logs(), backchannelLog) {
			if logs := d.logs(); strings.Contains(logs, "token is expired") {
				// Hydra 2.3 sends logout tokens without exp.
				t.Skipf("rezigate refused Hydra's logout token, which has no exp: needs logout tokens without exp accepted by iat and jti")
			}
			t.Fatalf("rezigate refused Hydra's back-channel logout:\n%s", d.logs())
		}
		if !strings.Contains(d.logs(), "by_sid=true") {
			t.Errorf("the back-channel logout did not name carol's sid; want a logout by sid")
		}
		if !d.waitSignedOut(t, cookie, time.Second) {
			t.Fatalf("carol's session still works after rezigate logged the back-channel logout")
		}
		d.signedIn(t, "erin (bystander)", erinCookie, erin)
	})

	t.Run("sign-out ends the Hydra session", func(t *testing.T) {
		c := newJarClient(t, 20*time.Second)
		d.signIn(t, c, bob)
		// Hydra remembers bob: signing in again shows no form.
		forms, _ := d.hydra.app.counts()
		resp, err := hydraFormLogin(t, c, d.URL()+"/oauth2/start?rd=%2Fheaders", bob)
		body := readBody(t, resp)
		if !errors.Is(err, errNoHydraForm) || resp.StatusCode != http.StatusOK || resp.Request.URL.String() != d.URL()+"/headers" {
			t.Fatalf("a second sign-in of bob ended at %s with %s (%v); want %s/headers without the login form\n%s", resp.Request.URL, resp.Status, err, d.URL(), body)
		}
		if after, _ := d.hydra.app.counts(); after != forms {
			t.Fatalf("a second sign-in of bob showed the login form")
		}
		cookie := jarCookie(t, c, d.URL())

		// Sign-out, stopping at the redirect to Hydra's end_session
		// endpoint to read it.
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, d.URL()+"/oauth2/sign_out", nil)
		if err != nil {
			t.Fatal(err)
		}
		stop := *c
		stop.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err = stop.Do(req)
		if err != nil {
			t.Fatalf("GET /oauth2/sign_out: %v", err)
		}
		body = readBody(t, resp)
		end, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(end.String(), d.hydra.Issuer) {
			t.Fatalf("GET /oauth2/sign_out = %s, Location %q; want 302 to Hydra's end_session endpoint\n%s", resp.Status, resp.Header.Get("Location"), body)
		}
		if !d.waitSignedOut(t, cookie, time.Second) {
			t.Errorf("bob's session still works after sign-out")
		}
		// Hydra refuses post_logout_redirect_uri without id_token_hint
		// (an error page, and its session lives on).
		if end.Query().Get("id_token_hint") == "" {
			t.Skipf("the end_session redirect carries no id_token_hint, which Hydra requires with post_logout_redirect_uri: %s", end.Redacted())
		}
		_, logouts := d.hydra.app.counts()
		resp, err = c.Get(end.String())
		if err != nil {
			t.Fatalf("GET Hydra's end_session endpoint: %v", err)
		}
		body = readBody(t, resp)
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/oauth2/signed_out" || !strings.HasPrefix(resp.Request.URL.String(), d.URL()) {
			t.Fatalf("Hydra's logout ended at %s with %s; want rezigate's signed-out page\n%s", resp.Request.URL, resp.Status, body)
		}
		if _, after := d.hydra.app.counts(); after != logouts+1 {
			t.Errorf("the login app accepted %d logout requests; want 1", after-logouts)
		}
		// Hydra's session is gone: the next sign-in shows the form.
		d.signIn(t, c, bob)
	})

	d.signedIn(t, "erin (bystander, at the end)", erinCookie, erin)
}

// waitRefresh sends requests with cookie to the replicas named by which
// (all at once when more than one) until done reports true, each answer
// 200 for u, for at most within. It stops the test when the session ends
// or done stays false.
func waitRefresh(t *testing.T, d *hydraDeployment, which []int, done func() bool, cookie string, u hydraUser, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("replicas %v did not refresh within %v; refreshes so far: %d and %d", which, within, d.refreshes(0), d.refreshes(1))
		}
		var wg sync.WaitGroup
		answers := make([]answer, len(which))
		errs := make([]error, len(which))
		for k, i := range which {
			wg.Go(func() {
				answers[k], errs[k] = get(t, d.replicas[i].URLDirect()+"/headers", cookie)
			})
		}
		wg.Wait()
		for k, a := range answers {
			if errs[k] != nil {
				t.Fatal(errs[k])
			}
			if a.status != http.StatusOK {
				t.Fatalf("GET %s/headers = %d while refreshing; want 200\n%s", d.replicas[which[k]].URLDirect(), a.status, a.body)
			}
			checkIdentityHeaders(t, a.body, u.Email, d.uid(u))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// get is call's GET for an API client, safe to run on any goroutine: it
// returns the error instead of stopping the test.
func get(t *testing.T, target, cookie string) (answer, error) {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, target, nil)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Cookie", replicaCookie+"="+cookie)
	resp, err := plain.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("GET %s: %w", target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return answer{}, fmt.Errorf("GET %s: %w", target, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}, nil
}

// hydraRefreshReuse signs u in at h with a client of its own (no
// rezigate), refreshes once, and then uses the first refresh token again:
// Hydra must refuse it with invalid_grant and revoke the refresh token the
// first refresh gave too.
func hydraRefreshReuse(t *testing.T, h *hydra, u hydraUser) {
	t.Helper()
	codes := make(chan url.Values, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case codes <- r.URL.Query():
		default:
		}
		_, _ = w.Write([]byte("callback"))
	}))
	defer cb.Close()
	conf := oauth2.Config{
		ClientID:     "e2e-direct",
		ClientSecret: "direct-" + randomHex(t, 16),
		RedirectURL:  cb.URL + "/callback",
		Scopes:       strings.Fields(hydraScope),
	}
	client := map[string]any{
		"client_id":                  conf.ClientID,
		"client_secret":              conf.ClientSecret,
		"redirect_uris":              []string{conf.RedirectURL},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"scope":                      hydraScope,
		"token_endpoint_auth_method": "client_secret_basic",
	}
	if _, err := hydraAdmin(t.Context(), h.Admin, http.MethodPost, "/admin/clients", nil, client, nil, http.StatusCreated); err != nil {
		t.Fatalf("create a client at hydra: %v", err)
	}
	ctx, cancel := withTimeout(t, 60*time.Second)
	defer cancel()
	provider, err := gooidc.NewProvider(ctx, h.Issuer)
	if err != nil {
		t.Fatalf("hydra discovery: %v", err)
	}
	conf.Endpoint = provider.Endpoint()
	pkce := oauth2.GenerateVerifier()
	resp, err := hydraFormLogin(t, newJarClient(t, 20*time.Second), conf.AuthCodeURL("state-direct", oauth2.S256ChallengeOption(pkce)), u)
	body := readBody(t, resp)
	if err != nil {
		t.Fatalf("sign-in at hydra as %s ended at %s (%s) without the login form:\n%s", u.Email, resp.Request.URL, resp.Status, body)
	}
	var q url.Values
	select {
	case q = <-codes:
	default:
		t.Fatalf("sign-in at hydra as %s ended at %s (%s) without reaching the callback:\n%s", u.Email, resp.Request.URL, resp.Status, body)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Fatalf("hydra issued no refresh token for scopes %q", conf.Scopes)
	}
	refresh := func(rt string) (*oauth2.Token, error) {
		return conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	}
	second, err := refresh(tok.RefreshToken)
	if err != nil || second.RefreshToken == "" || second.RefreshToken == tok.RefreshToken {
		t.Fatalf("first refresh: %v; want a new refresh token", err)
	}
	invalidGrant := func(err error) bool {
		var re *oauth2.RetrieveError
		return errors.As(err, &re) && re.ErrorCode == "invalid_grant"
	}
	if _, err := refresh(tok.RefreshToken); !invalidGrant(err) {
		t.Fatalf("the first refresh token used again: %v; want invalid_grant", err)
	}
	if _, err := refresh(second.RefreshToken); !invalidGrant(err) {
		t.Fatalf("the refresh token of the first refresh, after the reuse: %v; want invalid_grant (the chain revoked)", err)
	}
}
