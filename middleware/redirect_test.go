package middleware

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/localpath"
	"github.com/rezigate/rezigate/internal/session"
	"github.com/rezigate/rezigate/sessions"
)

// TestReturnPathsAsTheServerReadsThem checks rd against what a browser and
// the server make of it: decoded once, dot segments resolved, UTF-8 and
// printable only.
func TestReturnPathsAsTheServerReadsThem(t *testing.T) {
	tests := []struct{ name, rd, want string }{
		{"encoded sign-out", "/%6fauth2/sign_out", "/"},
		{"encoded start", "/%6Fauth2/start?rd=/x", "/"},
		{"dot into oauth2", "/x/../oauth2/sign_out", "/"},
		{"encoded dot into oauth2", "/x/%2e%2e/oauth2/callback", "/"},
		{"dot-dot double slash", "/..//evil.example", "/"},
		{"dot double slash", "/.//evil.example", "/"},
		{"encoded dots", "/%2e%2e//evil.example", "/"},
		{"invalid UTF-8", "/a\xffb", "/"},
		{"U+0085", "/a\u0085b", "/"},
		{"U+2028", "/a\u2028b", "/"},
		{"plain page", "/dashboard/x?y=1", "/dashboard/x?y=1"},
		{"oauth2 lookalike", "/oauth2x/page", "/oauth2x/page"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			cb := e.loginAt(e.client, e.authURL(e.client, tc.rd), "alice@example.com", alicePassword)
			r := e.do(e.client, "GET", cb, navigate, nil)
			if got := r.Header.Get("Location"); r.StatusCode != http.StatusFound || got != tc.want {
				t.Errorf("after sign-in with rd=%q: %d Location %q; want 302 %q", tc.rd, r.StatusCode, got, tc.want)
			}
		})
	}
}

// TestLongReturnPath: a long rd, or a signed-out navigation to a long URL,
// signs the user in and lands on / instead of failing to seal the state.
func TestLongReturnPath(t *testing.T) {
	for _, size := range []int{3 << 10, 100 << 10} {
		long := "/" + strings.Repeat("a", size)
		t.Run("rd "+long[:8]+"…", func(t *testing.T) {
			e := newEnv(t, envOptions{})
			cb := e.loginAt(e.client, e.authURL(e.client, long), "alice@example.com", alicePassword)
			r := e.do(e.client, "GET", cb, navigate, nil)
			if got := r.Header.Get("Location"); r.StatusCode != http.StatusFound || got != "/" {
				t.Errorf("after sign-in with a %d-byte rd: %d Location %q; want 302 /", size, r.StatusCode, got)
			}
		})
		t.Run("navigation", func(t *testing.T) {
			e := newEnv(t, envOptions{})
			r := e.signIn(e.client, long, "alice@example.com", alicePassword)
			if got := r.Header.Get("Location"); r.StatusCode != http.StatusFound || got != "/" {
				t.Errorf("after signing in from a %d-byte URL: %d Location %q; want 302 /", size, r.StatusCode, got)
			}
			if r := e.get("/oauth2/userinfo"); r.StatusCode != http.StatusOK {
				t.Errorf("signed in after a long URL: userinfo = %d; want 200", r.StatusCode)
			}
		})
	}
}

// TestStateCookieFitsWhateverTheInput seals the largest state the
// middleware can make and checks it stays a cookie browsers keep.
func TestStateCookieFitsWhateverTheInput(t *testing.T) {
	e := newEnv(t, envOptions{mod: func(o *Options) { o.Session.InsecureCookies = false }})
	st := session.State{
		Nonce:    strings.Repeat("n", 43),
		Verifier: strings.Repeat("v", 43),
		Redirect: "/" + strings.Repeat("%", localpath.MaxLen-1),
		Created:  time.Now(),
	}
	name := e.auth.statePrefix + strings.Repeat("s", 43)
	v, err := e.auth.stateCodec.Encode(name, &st)
	if err != nil {
		t.Fatalf("sealing a state with a %d-byte return path: %v", localpath.MaxLen, err)
	}
	if n := len(name) + len(v); n >= 4096 {
		t.Errorf("largest state cookie is %d bytes; browsers keep at most 4096", n)
	}
}

// signInManually walks the sign-in with explicit Cookie headers, for
// Secure cookies a cookie jar would not send over plain http.
func signInManually(t *testing.T, e *env) (state, session *http.Cookie) {
	t.Helper()
	c := newClient()
	c.Jar = nil
	r := e.do(c, "GET", "/oauth2/start", navigate, nil)
	if r.StatusCode != http.StatusFound || len(r.Cookies()) != 1 {
		t.Fatalf("/oauth2/start = %d with cookies %v", r.StatusCode, r.Cookies())
	}
	state = r.Cookies()[0]
	pc := newClient() // the provider's own cookies
	r = e.do(pc, "POST", r.Header.Get("Location"), nil, url.Values{"login": {"alice@example.com"}, "password": {alicePassword}})
	if r.StatusCode != http.StatusFound {
		t.Fatalf("provider login = %d", r.StatusCode)
	}
	cb := r.Header.Get("Location")
	r = e.do(c, "GET", cb, http.Header{"Cookie": {state.Name + "=" + state.Value}}, nil)
	for _, ck := range r.Cookies() {
		if ck.MaxAge > 0 {
			session = ck
		}
	}
	if r.StatusCode != http.StatusFound || session == nil {
		t.Fatalf("callback = %d with cookies %v; want 302 and a session", r.StatusCode, r.Cookies())
	}
	return state, session
}

func TestHostPrefixedCookies(t *testing.T) {
	e := newEnv(t, envOptions{mod: func(o *Options) { o.Session.InsecureCookies = false }})
	state, sess := signInManually(t, e)
	for _, c := range []*http.Cookie{state, sess} {
		if !strings.HasPrefix(c.Name, "__Host-"+sessions.DefaultCookieName) || !c.Secure || c.Path != "/" || c.Domain != "" {
			t.Errorf("cookie %q: Secure=%v Path=%q Domain=%q; want the __Host- prefix, Secure, Path=/, no Domain", c.Name, c.Secure, c.Path, c.Domain)
		}
	}
	if sess.Name != "__Host-"+sessions.DefaultCookieName {
		t.Errorf("session cookie name = %q; want %q", sess.Name, "__Host-"+sessions.DefaultCookieName)
	}
	good := sess.Name + "=" + sess.Value
	tests := []struct {
		name   string
		cookie string
		want   int
	}{
		{"alone", good, http.StatusOK},
		{"planted junk first", sess.Name + "=junk; " + good, http.StatusOK},
		{"planted expired-looking value first", sess.Name + "=" + sess.Value[:len(sess.Value)/2] + "; " + good, http.StatusOK},
		{"planted in another header line first", sess.Name + "=junk\n" + good, http.StatusOK},
		{"planted unprefixed copy", sessions.DefaultCookieName + "=" + sess.Value, http.StatusUnauthorized},
		{"junk only", sess.Name + "=junk; " + sess.Name + "=also-junk", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(newClient(), "GET", "/oauth2/userinfo", http.Header{"Cookie": strings.Split(tc.cookie, "\n")}, nil)
			if r.StatusCode != tc.want {
				t.Errorf("Cookie %q: userinfo = %d; want %d", tc.cookie, r.StatusCode, tc.want)
			}
		})
	}
	for _, name := range []string{sess.Name, state.Name, sessions.DefaultCookieName, sessions.DefaultCookieName + "_st_x"} {
		if !e.auth.OwnCookie(name) {
			t.Errorf("OwnCookie(%q) = false; want true (it must never reach the upstream)", name)
		}
	}
}

func TestInsecureCookiesKeepTheirNames(t *testing.T) {
	e := newEnv(t, envOptions{})
	cb := e.signIn(e.client, "/", "alice@example.com", alicePassword)
	if sessionCookie(cb) == nil {
		t.Fatalf("with InsecureCookies, no session cookie named %q in %v", sessions.DefaultCookieName, cb.Cookies())
	}
}
