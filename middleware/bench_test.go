package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/localpath"
	"github.com/rezigate/rezigate/internal/session"
)

func benchAuth(b *testing.B) *Auth {
	b.Helper()
	a := &Auth{opts: Options{CookieName: DefaultCookieName, UIDSecret: []byte(testUIDSecret), SessionSecrets: [][]byte{[]byte(testSessionKey)}, SessionMaxAge: time.Hour},
		statePrefix: DefaultCookieName + "_st_", sessions: newSessionCache(sessionCacheSize)}
	if err := a.initStore(); err != nil {
		b.Fatal(err)
	}
	return a
}

func benchRequest(b *testing.B, a *Auth) *http.Request {
	v, err := testCodec(a).Encode(DefaultCookieName, &session.Session{Email: "alice@example.com", UID: strings.Repeat("ab", 32), Expires: time.Now().Add(time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/app", nil)
	r.Header.Set("Cookie", "theme=dark; "+DefaultCookieName+"="+v+"; lang=en")
	return r
}

// BenchmarkSessionCheck is the per-request cost of recognising a
// signed-in user: find the cookie, open it, check expiry.
func BenchmarkSessionCheck(b *testing.B) {
	a := benchAuth(b)
	r := benchRequest(b, a)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, _ := a.sessionUser(r); !ok {
			b.Fatal("not signed in")
		}
	}
}

// BenchmarkSessionCheckCold opens the cookie every time, as on a
// user's first request after a restart.
func BenchmarkSessionCheckCold(b *testing.B) {
	a := benchAuth(b)
	r := benchRequest(b, a)
	b.ReportAllocs()
	for b.Loop() {
		a.sessions = newSessionCache(1)
		if _, ok, _ := a.sessionUser(r); !ok {
			b.Fatal("not signed in")
		}
	}
}

func BenchmarkUID(b *testing.B) {
	a := benchAuth(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = a.uid("https://login.example.com", "248289761001")
	}
}

func BenchmarkRedirectValidator(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !localpath.Valid("/rezi?openOnboarding=true&closeOnboardingRedirect=/dashboard/education") {
			b.Fatal("rejected")
		}
	}
}
