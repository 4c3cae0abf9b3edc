package middleware

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
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
