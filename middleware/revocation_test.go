package middleware

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/internal/testsupport/redistest"
	"github.com/rezigate/rezigate/sessions"
	"github.com/rezigate/rezigate/sessions/redisstore"
)

// redisEnvOptions are the harness options of a deployment whose sessions
// live in a Redis store at url.
func redisEnvOptions(t *testing.T, url string, mod func(*Options)) envOptions {
	return envOptions{mod: func(o *Options) {
		useRedis(t, o, url)
		if mod != nil {
			mod(o)
		}
	}}
}

// withCookie is a header carrying only the session cookie value v.
func withCookie(v string, h http.Header) http.Header {
	out := http.Header{"Cookie": {sessions.DefaultCookieName + "=" + v}}
	for k, vs := range h {
		out[k] = vs
	}
	return out
}

// userinfo asks /oauth2/userinfo with session cookie v, from a client
// without a cookie jar of its own.
func (e *env) userinfo(v string) response {
	e.t.Helper()
	return e.do(newClient(), "GET", "/oauth2/userinfo", withCookie(v, nil), nil)
}

// signedInCookie signs a fresh browser in as alice and returns it with its
// session cookie's value.
func (e *env) signedInCookie(email, password string) (*http.Client, string) {
	e.t.Helper()
	c := newClient()
	cb := e.signIn(c, "/", email, password)
	sc := sessionCookie(cb)
	if sc == nil {
		e.t.Fatalf("sign-in set no session cookie: %d %s", cb.StatusCode, cb.body)
	}
	return c, sc.Value
}

var sameOrigin = http.Header{"Sec-Fetch-Site": {"same-origin"}}

// TestRedisSignOutRevokes: with the Redis store, signing out deletes the
// session, so a copy of the cookie replayed afterwards is signed out (401
// for an API client, sign-in for a browser), and the signed-out page says
// so.
func TestRedisSignOutRevokes(t *testing.T) {
	e := newEnv(t, redisEnvOptions(t, redistest.URL(t), func(o *Options) { o.SkipProviderSignOut = true }))
	c, v := e.signedInCookie("alice@example.com", alicePassword)
	if r := e.userinfo(v); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "alice@example.com") {
		t.Fatalf("before sign-out: userinfo = %d %s; want 200 with alice", r.StatusCode, r.body)
	}
	for _, tc := range []struct {
		name   string
		method string
	}{{"GET", "GET"}, {"POST", "POST"}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.method == "POST" { // a second session for the second case
				c, v = e.signedInCookie("alice@example.com", alicePassword)
			}
			var form url.Values
			if tc.method == "POST" {
				form = url.Values{}
			}
			r := e.do(c, tc.method, "/oauth2/sign_out", sameOrigin, form)
			if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/oauth2/signed_out" {
				t.Fatalf("sign-out = %d %q; want 302 to /oauth2/signed_out", r.StatusCode, r.Header.Get("Location"))
			}
			if r := e.userinfo(v); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("replayed cookie after sign-out: userinfo = %d; want 401", r.StatusCode)
			}
			r = e.do(newClient(), "GET", "/app", withCookie(v, navigate), nil)
			if r.StatusCode != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), "/oauth2/start") {
				t.Errorf("replayed cookie, browser: GET /app = %d %q; want 302 to sign-in", r.StatusCode, r.Header.Get("Location"))
			}
			page := e.do(newClient(), "GET", "/oauth2/signed_out", navigate, nil)
			if !strings.Contains(page.body, `<p id="revoked">`) {
				t.Errorf("signed-out page does not say the session was ended for good:\n%s", page.body)
			}
		})
	}
	e.checkNoLeaks()
}

// TestCookieStoreSignedOutPage: the cookie store cannot revoke, so its
// signed-out page does not claim to.
func TestCookieStoreSignedOutPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	page := e.do(newClient(), "GET", "/oauth2/signed_out", navigate, nil)
	if page.StatusCode != http.StatusOK || strings.Contains(page.body, `id="revoked"`) {
		t.Errorf("cookie store signed-out page = %d, says the session was ended for good: %v", page.StatusCode, strings.Contains(page.body, `id="revoked"`))
	}
	if r := e.do(newClient(), "POST", "/oauth2/backchannel_logout", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, url.Values{"logout_token": {"x"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("cookie store: POST /oauth2/backchannel_logout = %d; want 404", r.StatusCode)
	}
}

// TestRedisSignOutEverywhere: a same-origin POST with everywhere=true
// ends every session of the user; a GET with everywhere=true ends only
// its own.
func TestRedisSignOutEverywhere(t *testing.T) {
	e := newEnv(t, redisEnvOptions(t, redistest.URL(t), func(o *Options) { o.SkipProviderSignOut = true }))
	first, v1 := e.signedInCookie("alice@example.com", alicePassword)
	_, v2 := e.signedInCookie("alice@example.com", alicePassword)
	third, v3 := e.signedInCookie("alice@example.com", alicePassword)

	e.do(first, "GET", "/oauth2/sign_out?everywhere=true", sameOrigin, nil)
	if r := e.userinfo(v1); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET everywhere=true: own session = %d; want 401", r.StatusCode)
	}
	if r := e.userinfo(v2); r.StatusCode != http.StatusOK {
		t.Errorf("GET everywhere=true: another client's session = %d; want 200 (a GET never signs out everywhere)", r.StatusCode)
	}

	r := e.do(third, "POST", "/oauth2/sign_out", sameOrigin, url.Values{"everywhere": {"true"}})
	if r.StatusCode != http.StatusFound {
		t.Fatalf("POST everywhere=true = %d; want 302", r.StatusCode)
	}
	for name, v := range map[string]string{"own": v3, "second client's": v2} {
		if r := e.userinfo(v); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST everywhere=true: %s session = %d; want 401", name, r.StatusCode)
		}
	}

	// A cross-site POST is refused and ends nothing.
	_, v4 := e.signedInCookie("alice@example.com", alicePassword)
	r = e.do(newClient(), "POST", "/oauth2/sign_out", withCookie(v4, http.Header{"Sec-Fetch-Site": {"cross-site"}}), url.Values{"everywhere": {"true"}})
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST everywhere=true = %d; want 403", r.StatusCode)
	}
	if r := e.userinfo(v4); r.StatusCode != http.StatusOK {
		t.Errorf("after a refused cross-site sign-out: session = %d; want 200", r.StatusCode)
	}
}

// TestBackchannelLogout: a logout token signed by the provider ends the
// sessions of its sid, or with only a sub every session of that user;
// every token a relying party must refuse gets 400 and ends nothing.
func TestBackchannelLogout(t *testing.T) {
	e := newEnv(t, redisEnvOptions(t, redistest.URL(t), nil))
	target := e.srv.URL + "/oauth2/backchannel_logout"
	ctx := context.Background()

	_, a1 := e.signedInCookie("alice@example.com", alicePassword)
	sid1 := e.provider.SID("alice@example.com")
	_, a2 := e.signedInCookie("alice@example.com", alicePassword)
	sid2 := e.provider.SID("alice@example.com")
	if sid1 == "" || sid1 == sid2 {
		t.Fatalf("the provider's sids %q, %q: want two different ones", sid1, sid2)
	}

	bad := []struct {
		name string
		tok  demo.LogoutToken
	}{
		{"nonce present", demo.LogoutToken{Subject: "alice-sub", Nonce: "n-1"}},
		{"wrong audience", demo.LogoutToken{Subject: "alice-sub", Audience: "another-client"}},
		{"bad signature", demo.LogoutToken{Subject: "alice-sub", WrongKey: true}},
		{"missing events", demo.LogoutToken{Subject: "alice-sub", NoEvents: true}},
		{"no jti", demo.LogoutToken{Subject: "alice-sub", NoJTI: true}},
		{"neither sub nor sid", demo.LogoutToken{}},
		{"expired", demo.LogoutToken{Subject: "alice-sub", IssuedAt: time.Now().Add(-time.Hour), Expiry: time.Now().Add(-time.Minute)}},
		{"iat in the future", demo.LogoutToken{Subject: "alice-sub", IssuedAt: time.Now().Add(time.Hour), Expiry: time.Now().Add(2 * time.Hour)}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			status, err := e.provider.SendBackchannelLogout(ctx, nil, target, tc.tok)
			if err != nil || status != http.StatusBadRequest {
				t.Errorf("SendBackchannelLogout = %d, %v; want 400", status, err)
			}
		})
	}
	for name, v := range map[string]string{"first": a1, "second": a2} {
		if r := e.userinfo(v); r.StatusCode != http.StatusOK {
			t.Fatalf("after refused tokens: %s session = %d; want 200", name, r.StatusCode)
		}
	}

	t.Run("not a form, or GET", func(t *testing.T) {
		tok, _ := e.provider.SignLogoutToken(demo.LogoutToken{Subject: "alice-sub"})
		if r := e.do(newClient(), "POST", "/oauth2/backchannel_logout", http.Header{"Content-Type": {"application/json"}}, nil); r.StatusCode != http.StatusBadRequest {
			t.Errorf("JSON body = %d; want 400", r.StatusCode)
		}
		if r := e.do(newClient(), "GET", "/oauth2/backchannel_logout?logout_token="+tok, nil, nil); r.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET = %d; want 405", r.StatusCode)
		}
	})

	t.Run("by sid ends only that session", func(t *testing.T) {
		r := e.do(newClient(), "POST", "/oauth2/backchannel_logout", nil, url.Values{"logout_token": {mustLogoutToken(t, e, demo.LogoutToken{SID: sid1, JTI: "jti-sid-1"})}})
		if r.StatusCode != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("by sid = %d, Cache-Control %q; want 200, no-store", r.StatusCode, r.Header.Get("Cache-Control"))
		}
		if r := e.userinfo(a1); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("session of the sid = %d; want 401", r.StatusCode)
		}
		if r := e.userinfo(a2); r.StatusCode != http.StatusOK {
			t.Errorf("session of another sid = %d; want 200", r.StatusCode)
		}
	})

	t.Run("replayed jti", func(t *testing.T) {
		status, err := e.provider.SendBackchannelLogout(ctx, nil, target, demo.LogoutToken{SID: sid2, JTI: "jti-sid-1"})
		if err != nil || status != http.StatusBadRequest {
			t.Errorf("replayed jti = %d, %v; want 400", status, err)
		}
		if r := e.userinfo(a2); r.StatusCode != http.StatusOK {
			t.Errorf("after a replay: session = %d; want 200", r.StatusCode)
		}
	})

	t.Run("by sub ends every session of the uid", func(t *testing.T) {
		_, a3 := e.signedInCookie("alice@example.com", alicePassword)
		status, err := e.provider.SendBackchannelLogout(ctx, nil, target, demo.LogoutToken{Subject: "alice-sub"})
		if err != nil || status != http.StatusOK {
			t.Fatalf("by sub = %d, %v; want 200", status, err)
		}
		for name, v := range map[string]string{"second": a2, "third": a3} {
			if r := e.userinfo(v); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s session = %d; want 401", name, r.StatusCode)
			}
		}
	})
	e.checkNoLeaks()
}

// failingDeletes is a Redis store whose DeleteUser and DeleteSID fail,
// as if Redis had gone away, while fail is set; the failure clears it.
type failingDeletes struct {
	*redisstore.Store
	fail atomic.Bool
}

func (f *failingDeletes) DeleteUser(ctx context.Context, uid string) (int, error) {
	if f.fail.CompareAndSwap(true, false) {
		return 0, fmt.Errorf("test: delete user: %w", sessions.ErrUnavailable)
	}
	return f.Store.DeleteUser(ctx, uid)
}

func (f *failingDeletes) DeleteSID(ctx context.Context, sidHash string) (int, error) {
	if f.fail.CompareAndSwap(true, false) {
		return 0, fmt.Errorf("test: delete sid: %w", sessions.ErrUnavailable)
	}
	return f.Store.DeleteSID(ctx, sidHash)
}

// TestBackchannelLogoutRetry: a back-channel logout whose deletion fails
// answers 503 and does not use up its token, so the provider's retry of
// the same token ends the session; once it has, the token is a replay.
func TestBackchannelLogoutRetry(t *testing.T) {
	redis := redistest.URL(t)
	store := &failingDeletes{}
	e := newEnv(t, envOptions{mod: func(o *Options) {
		store.Store = useRedis(t, o, redis)
		o.Store = store
	}})
	for _, tc := range []struct {
		name string
		tok  func(sid string) demo.LogoutToken
	}{
		{"by sid", func(sid string) demo.LogoutToken { return demo.LogoutToken{SID: sid, JTI: "jti-retry-sid"} }},
		{"by sub", func(string) demo.LogoutToken { return demo.LogoutToken{Subject: "alice-sub", JTI: "jti-retry-sub"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, v := e.signedInCookie("alice@example.com", alicePassword)
			form := url.Values{"logout_token": {mustLogoutToken(t, e, tc.tok(e.provider.SID("alice@example.com")))}}
			store.fail.Store(true)
			if r := e.do(newClient(), "POST", "/oauth2/backchannel_logout", nil, form); r.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("delivery while the store fails = %d; want 503", r.StatusCode)
			}
			if r := e.userinfo(v); r.StatusCode != http.StatusOK {
				t.Fatalf("after the failed delivery: session = %d; want 200 (nothing was deleted)", r.StatusCode)
			}
			if r := e.do(newClient(), "POST", "/oauth2/backchannel_logout", nil, form); r.StatusCode != http.StatusOK {
				t.Errorf("the provider's retry of the same token = %d; want 200", r.StatusCode)
			}
			if r := e.userinfo(v); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("after the retry: session = %d; want 401", r.StatusCode)
			}
			_, v2 := e.signedInCookie("alice@example.com", alicePassword)
			if r := e.do(newClient(), "POST", "/oauth2/backchannel_logout", nil, form); r.StatusCode != http.StatusBadRequest {
				t.Errorf("the same token once more, after it succeeded = %d; want 400 (a replay)", r.StatusCode)
			}
			if r := e.userinfo(v2); r.StatusCode != http.StatusOK {
				t.Errorf("a later sign-in after the replay: session = %d; want 200", r.StatusCode)
			}
		})
	}
}

func mustLogoutToken(t *testing.T, e *env, lt demo.LogoutToken) string {
	t.Helper()
	tok, err := e.provider.SignLogoutToken(lt)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// refreshEnv is a deployment on the Redis store that re-checks sessions
// every hour, with a clock the test moves forward.
func refreshEnv(t *testing.T) (*env, *atomic.Int64) {
	t.Helper()
	var offset atomic.Int64
	eo := redisEnvOptions(t, redistest.URL(t), func(o *Options) { o.RefreshInterval = time.Hour; o.RefreshGrace = time.Hour })
	eo.scopes = []string{"openid", "email", "offline_access"}
	eo.tweak = func(a *Auth) { a.now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) } }
	return newEnv(t, eo), &offset
}

// TestRefresh: once the interval has passed, the session is re-checked
// with the provider's token endpoint: a change of email shows, a refused
// refresh (a disabled user) signs out before the request is served, and an
// unreachable provider keeps the session within the grace only.
func TestRefresh(t *testing.T) {
	e, offset := refreshEnv(t)
	advance := func(d time.Duration) { offset.Add(int64(d)) }

	t.Run("due: refreshed, email change visible", func(t *testing.T) {
		_, v := e.signedInCookie("alice@example.com", alicePassword)
		before := e.provider.RefreshCount()
		e.provider.SetEmail("alice@example.com", "alice.new@example.com")
		if r := e.userinfo(v); !strings.Contains(r.body, `"alice@example.com"`) {
			t.Errorf("not due yet: userinfo = %s; want the old email", r.body)
		}
		if n := e.provider.RefreshCount() - before; n != 0 {
			t.Errorf("not due yet: %d refresh calls; want 0", n)
		}
		advance(61 * time.Minute)
		if r := e.userinfo(v); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "alice.new@example.com") {
			t.Errorf("due: userinfo = %d %s; want 200 with the new email", r.StatusCode, r.body)
		}
		if r := e.userinfo(v); r.StatusCode != http.StatusOK {
			t.Errorf("after the refresh: userinfo = %d; want 200", r.StatusCode)
		}
		if n := e.provider.RefreshCount() - before; n != 1 {
			t.Errorf("%d refresh calls; want 1", n)
		}
		e.provider.SetEmail("alice@example.com", "alice@example.com")
	})

	t.Run("provider down: kept within grace, signed out past it", func(t *testing.T) {
		_, v := e.signedInCookie("alice@example.com", alicePassword)
		e.provider.SetFault(demo.FaultRefreshUnavailable)
		defer e.provider.SetFault(demo.FaultNone)
		advance(61 * time.Minute)
		if r := e.userinfo(v); r.StatusCode != http.StatusOK {
			t.Errorf("provider down, within grace: userinfo = %d; want 200", r.StatusCode)
		}
		advance(time.Hour)
		if r := e.userinfo(v); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("provider down, past grace: userinfo = %d; want 401", r.StatusCode)
		}
		e.provider.SetFault(demo.FaultNone)
		advance(time.Minute) // past the replica's retry pause
		if r := e.userinfo(v); r.StatusCode != http.StatusOK {
			t.Errorf("provider back: userinfo = %d; want 200 again", r.StatusCode)
		}
	})

	t.Run("concurrent requests when due: one refresh", func(t *testing.T) {
		_, v := e.signedInCookie("alice@example.com", alicePassword)
		advance(61 * time.Minute)
		before := e.provider.RefreshCount()
		var wg sync.WaitGroup
		codes := make([]int, 8)
		for i := range codes {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", e.srv.URL+"/oauth2/userinfo", nil)
				req.Header.Set("Cookie", sessions.DefaultCookieName+"="+v)
				resp, err := newClient().Do(req)
				if err != nil {
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			})
		}
		wg.Wait()
		for i, c := range codes {
			if c != http.StatusOK {
				t.Errorf("request %d = %d; want 200", i, c)
			}
		}
		if n := e.provider.RefreshCount() - before; n != 1 {
			t.Errorf("%d refresh calls for 8 concurrent requests; want 1", n)
		}
	})

	t.Run("refused (disabled user): signed out", func(t *testing.T) {
		_, v := e.signedInCookie("alice@example.com", alicePassword)
		e.provider.DisableUser("alice@example.com")
		advance(61 * time.Minute)
		r := e.do(newClient(), "GET", "/app", withCookie(v, navigate), nil)
		if r.StatusCode != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), "/oauth2/start") {
			t.Errorf("refused refresh, browser: GET /app = %d %q; want 302 to sign-in", r.StatusCode, r.Header.Get("Location"))
		}
		if r := e.userinfo(v); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("refused refresh: userinfo = %d; want 401", r.StatusCode)
		}
	})
	e.checkNoLeaks()
}

// TestRefreshNeedsServerStore: the cookie store cannot keep a refresh
// token, so New refuses RefreshInterval with it.
func TestRefreshNeedsServerStore(t *testing.T) {
	o := Options{PublicURL: "https://rms.example.com", Session: sessions.Settings{Secrets: [][]byte{[]byte(testSessionKey)}}, UIDSecret: []byte(testUIDSecret), RefreshInterval: time.Hour}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "RefreshInterval") {
		t.Errorf("Validate() = %v; want a RefreshInterval error", err)
	}
	o.RefreshInterval = -time.Second
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "RefreshInterval: must not be negative") {
		t.Errorf("Validate() = %v; want RefreshInterval: must not be negative", err)
	}
}

// TestRedisUnavailable: with Redis gone, requests that need a session get
// 503 (a page for a browser, JSON for an API client) within seconds and no
// cookie is cleared; /readyz is 503 while /healthz stays 200; sign-in
// answers 503 too. When Redis is back, everything works again by itself.
func TestRedisUnavailable(t *testing.T) {
	rs := redistest.Start(t)
	eo := redisEnvOptions(t, rs.URL(), func(o *Options) { o.SkipProviderSignOut = true })
	eo.tweak = func(a *Auth) { a.probe.TTL = 0 }
	e := newEnv(t, eo)
	_, v := e.signedInCookie("alice@example.com", alicePassword)
	if r := e.userinfo(v); r.StatusCode != http.StatusOK {
		t.Fatalf("Redis up: userinfo = %d; want 200", r.StatusCode)
	}
	rs.Stop()

	// The replica learns of the loss when its connection closes, a moment
	// after the kill: until then its local cache still answers. Wait for
	// that, bounded, then check every route.
	start := time.Now()
	for e.userinfo(v).StatusCode != http.StatusServiceUnavailable {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("userinfo still served %v after Redis was killed; want 503 within seconds", time.Since(start))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("Redis killed: 503 after %v", time.Since(start))
	cases := []struct {
		name, method, path string
		hdr                http.Header
		want               int
		json               bool
	}{
		{"API client", "GET", "/app", withCookie(v, nil), http.StatusServiceUnavailable, true},
		{"browser", "GET", "/app", withCookie(v, navigate), http.StatusServiceUnavailable, false},
		{"userinfo", "GET", "/oauth2/userinfo", withCookie(v, nil), http.StatusServiceUnavailable, true},
		{"rezi", "GET", "/rezi", withCookie(v, navigate), http.StatusServiceUnavailable, false},
		{"sign-out", "POST", "/oauth2/sign_out", withCookie(v, sameOrigin), http.StatusServiceUnavailable, true},
		{"sign-in", "GET", "/oauth2/start", navigate, http.StatusServiceUnavailable, false},
		{"readyz", "GET", "/readyz", nil, http.StatusServiceUnavailable, false},
		{"healthz", "GET", "/healthz", nil, http.StatusOK, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var form url.Values
			if tc.method == "POST" {
				form = url.Values{}
			}
			r := e.do(newClient(), tc.method, tc.path, tc.hdr, form)
			if r.StatusCode != tc.want {
				t.Errorf("%s %s = %d; want %d", tc.method, tc.path, r.StatusCode, tc.want)
			}
			if sc := r.Header.Values("Set-Cookie"); tc.path != "/oauth2/start" && len(sc) > 0 {
				t.Errorf("%s %s set cookies %q; want none cleared while the store is down", tc.method, tc.path, sc)
			}
			if tc.json && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("%s %s Content-Type = %q; want JSON", tc.method, tc.path, r.Header.Get("Content-Type"))
			}
		})
	}
	if d := time.Since(start); d > 5*time.Second*time.Duration(len(cases)) {
		t.Errorf("answers took %v in all; want a couple of seconds each at most", d)
	}
	if !strings.Contains(e.logs.String(), "session store unavailable") {
		t.Error("no log line says the session store is unavailable")
	}

	rs.Restart() // empty: nothing was kept on disk
	if r := e.do(newClient(), "GET", "/readyz", nil, nil); r.StatusCode != http.StatusOK {
		t.Errorf("Redis back: /readyz = %d; want 200", r.StatusCode)
	}
	if r := e.userinfo(v); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("Redis back without its data: old session = %d; want 401 (not 503)", r.StatusCode)
	}
	_, v2 := e.signedInCookie("alice@example.com", alicePassword)
	if r := e.userinfo(v2); r.StatusCode != http.StatusOK {
		t.Errorf("Redis back: a new sign-in's session = %d; want 200", r.StatusCode)
	}
}

// TestSharedRateLimit: with Handoff.Limiter, the /rezi limit is shared by
// replicas: two middlewares on one Redis count the same uid together.
func TestSharedRateLimit(t *testing.T) {
	url := redistest.URL(t)
	// Replicas of one deployment share its public URL and the store.
	const public = "http://replicas.test"
	store := newRedisStoreAt(t, url, redistest.Prefix(t, url, "mwt"),
		sessions.Settings{Deployment: public, Secrets: [][]byte{[]byte(testSessionKey)}, InsecureCookies: true})
	lim, err := redisstore.NewLimiter(store, redisstore.LimiterOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	mod := func(o *Options) {
		o.PublicURL, o.Session, o.Store, o.Handoff.Limiter = public, sessions.Settings{}, store, lim
	}
	e1 := newEnv(t, envOptions{mod: mod})
	e2 := newEnv(t, envOptions{mod: mod})
	// Both replicas share the session secret and the store, so one
	// session works on either.
	_, v := e1.signedInCookie("alice@example.com", alicePassword)
	codes := []int{
		e1.do(newClient(), "GET", "/rezi", withCookie(v, navigate), nil).StatusCode,
		e2.do(newClient(), "GET", "/rezi", withCookie(v, navigate), nil).StatusCode,
		e1.do(newClient(), "GET", "/rezi", withCookie(v, navigate), nil).StatusCode,
	}
	if codes[0] != http.StatusFound || codes[1] != http.StatusFound || codes[2] != http.StatusTooManyRequests {
		t.Errorf("/rezi on replica 1, 2, 1 = %v; want [302 302 429]", codes)
	}
}
