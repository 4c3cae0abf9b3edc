package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/localpath"
	"github.com/rezigate/rezigate/internal/session"
	"github.com/rezigate/rezigate/sessions"
)

func benchAuth(b *testing.B) *Auth {
	b.Helper()
	a := &Auth{opts: Options{PublicURL: "http://127.0.0.1", UIDSecret: []byte(testUIDSecret),
		Session: sessions.Settings{Secrets: [][]byte{[]byte(testSessionKey)}, MaxAge: time.Hour, InsecureCookies: true}},
		sessions: newSessionCache(sessionCacheSize)}
	if err := a.initStore(); err != nil {
		b.Fatal(err)
	}
	return a
}

func benchRequest(b *testing.B, a *Auth) *http.Request {
	v, err := testCodec(a).Encode(sessions.DefaultCookieName, &session.Session{Email: "alice@example.com", UID: strings.Repeat("ab", 32), Expires: time.Now().Add(time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/app", nil)
	r.Header.Set("Cookie", "theme=dark; "+sessions.DefaultCookieName+"="+v+"; lang=en")
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
