package middleware

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/internal/testsupport/redistest"
)

// idTokens records the ID tokens a provider's token endpoint issues.
type idTokens struct {
	mu  sync.Mutex
	all []string
}

func (it *idTokens) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/token" {
			h.ServeHTTP(w, r)
			return
		}
		tw := &teeWriter{ResponseWriter: w}
		h.ServeHTTP(tw, r)
		var body struct {
			IDToken string `json:"id_token"`
		}
		if json.Unmarshal(tw.buf.Bytes(), &body) == nil && body.IDToken != "" {
			it.mu.Lock()
			it.all = append(it.all, body.IDToken)
			it.mu.Unlock()
		}
	})
}

// last is the ID token issued last, and how many were issued.
func (it *idTokens) last() (string, int) {
	it.mu.Lock()
	defer it.mu.Unlock()
	if len(it.all) == 0 {
		return "", 0
	}
	return it.all[len(it.all)-1], len(it.all)
}

type teeWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (t *teeWriter) Write(b []byte) (int, error) {
	t.buf.Write(b)
	return t.ResponseWriter.Write(b)
}

// TestSignOutIDTokenHint: sign-out sends the browser to the provider's
// end_session_endpoint with id_token_hint (the very ID token the session
// was signed in with, or the one its latest refresh returned),
// post_logout_redirect_uri and client_id, with the cookie store and the
// Redis store alike (RP-Initiated Logout 1.0 section 2; Okta and Ory
// Hydra refuse a logout without the hint).
func TestSignOutIDTokenHint(t *testing.T) {
	redis := redistest.URL(t)
	tests := []struct {
		name    string
		redis   bool
		refresh bool
	}{
		{"cookie store", false, false},
		{"redis store", true, false},
		{"redis store, after a refresh", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tokens := &idTokens{}
			var offset atomic.Int64
			eo := envOptions{providerWrap: tokens.wrap}
			if tc.redis {
				eo = redisEnvOptions(t, redis, func(o *Options) {
					if tc.refresh {
						o.RefreshInterval, o.RefreshGrace = time.Hour, time.Hour
					}
				})
				eo.providerWrap = tokens.wrap
			}
			if tc.refresh {
				eo.scopes = []string{"openid", "email", "offline_access"}
				eo.tweak = func(a *Auth) { a.now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) } }
			}
			e := newEnv(t, eo)
			c, v := e.signedInCookie("alice@example.com", alicePassword)
			want, n := tokens.last()
			if tc.refresh {
				offset.Add(int64(61 * time.Minute))
				if r := e.userinfo(v); r.StatusCode != http.StatusOK {
					t.Fatalf("after the refresh: userinfo = %d; want 200", r.StatusCode)
				}
				var n2 int
				if want, n2 = tokens.last(); n2 != n+1 {
					t.Fatalf("the provider issued %d ID tokens at refresh; want 1", n2-n)
				}
			}
			if want == "" {
				t.Fatal("the provider issued no ID token")
			}
			r := e.do(c, "POST", "/oauth2/sign_out", sameOrigin, url.Values{})
			loc := mustURL(r.Header.Get("Location"))
			q := loc.Query()
			if r.StatusCode != http.StatusFound || loc.Path != "/logout" {
				t.Fatalf("sign_out = %d to %q; want 302 to the provider's logout", r.StatusCode, loc)
			}
			if got := q.Get("id_token_hint"); got != want {
				t.Errorf("id_token_hint = %q; want the session's ID token %q", got, want)
			}
			if got := q.Get("client_id"); got != "rezigate" {
				t.Errorf("client_id = %q; want rezigate", got)
			}
			if got := q.Get("post_logout_redirect_uri"); got != e.srv.URL+"/oauth2/signed_out" {
				t.Errorf("post_logout_redirect_uri = %q; want %q", got, e.srv.URL+"/oauth2/signed_out")
			}
			if e.signedIn(c) {
				t.Error("still signed in after sign-out")
			}
			e.checkNoLeaks()
		})
	}
}

// TestBackchannelLogoutWithoutExp: through POST /oauth2/backchannel_logout,
// a logout token without exp (as Ory Hydra up to 2.3 sends) ends the
// provider session's sessions when its iat is recent, and is refused (400)
// when its iat is older than two minutes; a replay of the recent one is
// refused too, its jti remembered.
func TestBackchannelLogoutWithoutExp(t *testing.T) {
	e := newEnv(t, redisEnvOptions(t, redistest.URL(t), nil))
	_, v := e.signedInCookie("alice@example.com", alicePassword)
	sid := e.provider.SID("alice@example.com")
	post := func(lt demo.LogoutToken) response {
		t.Helper()
		return e.do(newClient(), "POST", "/oauth2/backchannel_logout", nil, url.Values{"logout_token": {mustLogoutToken(t, e, lt)}})
	}
	if r := post(demo.LogoutToken{SID: sid, NoExpiry: true, IssuedAt: time.Now().Add(-3 * time.Minute)}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("no exp, iat 3 min ago = %d; want 400", r.StatusCode)
	}
	if r := e.userinfo(v); r.StatusCode != http.StatusOK {
		t.Fatalf("after a refused token: session = %d; want 200", r.StatusCode)
	}
	if r := post(demo.LogoutToken{SID: sid, NoExpiry: true, JTI: "jti-no-exp"}); r.StatusCode != http.StatusOK {
		t.Errorf("no exp, iat now = %d %s; want 200", r.StatusCode, r.body)
	}
	if r := e.userinfo(v); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("after the logout: session = %d; want 401", r.StatusCode)
	}
	if r := post(demo.LogoutToken{SID: sid, NoExpiry: true, JTI: "jti-no-exp"}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("replay of the token without exp = %d; want 400", r.StatusCode)
	}
	e.checkNoLeaks()
}

// TestFrontchannelLogout: GET /oauth2/frontchannel_logout?iss=…&sid=…,
// loaded by the provider in an iframe without rezigate's cookie, ends the
// sessions of that provider session with the Redis store, and no other;
// iss must be the provider's issuer and sid given; the answer may be
// framed by the provider's origin only, and is never cached. With the
// cookie store, which cannot revoke, the path is not served (404).
func TestFrontchannelLogout(t *testing.T) {
	e := newEnv(t, redisEnvOptions(t, redistest.URL(t), nil))
	_, v1 := e.signedInCookie("alice@example.com", alicePassword)
	sid1 := e.provider.SID("alice@example.com")
	_, v2 := e.signedInCookie("alice@example.com", alicePassword)
	iss := e.provider.Issuer()
	get := func(method string, q url.Values) response {
		t.Helper()
		return e.do(newClient(), method, "/oauth2/frontchannel_logout?"+q.Encode(), nil, nil)
	}
	bad := []struct {
		name   string
		method string
		q      url.Values
		status int
	}{
		{"another issuer", "GET", url.Values{"iss": {"https://idp.attacker.example"}, "sid": {sid1}}, http.StatusBadRequest},
		{"no iss", "GET", url.Values{"sid": {sid1}}, http.StatusBadRequest},
		{"no sid", "GET", url.Values{"iss": {iss}}, http.StatusBadRequest},
		{"empty sid", "GET", url.Values{"iss": {iss}, "sid": {""}}, http.StatusBadRequest},
		{"two sids", "GET", url.Values{"iss": {iss}, "sid": {"x", sid1}}, http.StatusBadRequest},
		{"POST", "POST", url.Values{"iss": {iss}, "sid": {sid1}}, http.StatusMethodNotAllowed},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if r := get(tc.method, tc.q); r.StatusCode != tc.status {
				t.Errorf("%s = %d; want %d", tc.name, r.StatusCode, tc.status)
			}
			if r := e.userinfo(v1); r.StatusCode != http.StatusOK {
				t.Errorf("after a refused request: session = %d; want 200", r.StatusCode)
			}
		})
	}

	r := get("GET", url.Values{"iss": {iss}, "sid": {sid1}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("front-channel logout = %d %q; want 200 text/html", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if got, want := r.Header.Get("Content-Security-Policy"), "default-src 'none'; frame-ancestors "+iss; got != want {
		t.Errorf("Content-Security-Policy = %q; want %q", got, want)
	}
	if xfo := r.Header.Values("X-Frame-Options"); len(xfo) != 0 {
		t.Errorf("X-Frame-Options = %q; want none (the provider frames the page)", xfo)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", cc)
	}
	if r := e.userinfo(v1); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("session of the sid = %d; want 401", r.StatusCode)
	}
	if r := e.userinfo(v2); r.StatusCode != http.StatusOK {
		t.Errorf("session of another sid = %d; want 200", r.StatusCode)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "front-channel logout") || strings.Contains(logs, sid1) {
		t.Error("the log has no front-channel logout line, or names the sid")
	}
	e.checkNoLeaks()

	t.Run("cookie store", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		r := e.do(newClient(), "GET", "/oauth2/frontchannel_logout?"+url.Values{"iss": {e.provider.Issuer()}, "sid": {"s"}}.Encode(), nil, nil)
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("with the cookie store = %d; want 404", r.StatusCode)
		}
	})
}
