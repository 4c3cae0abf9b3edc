package middleware

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/rezigate/rezigate/internal/testsupport/redistest"
)

// TestSessionsBelongToDeployment: two deployments (different public URLs)
// that share the session secrets, and with the Redis store the Redis and
// its key prefix too, do not accept each other's session cookies. A cookie
// of the other deployment is simply not a session here: 401 for an API
// client, sign-in for a browser, never a 500.
func TestSessionsBelongToDeployment(t *testing.T) {
	redis := redistest.URL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "mwt" + hex.EncodeToString(b[:]) + ":"
	for _, tc := range []struct {
		name string
		mod  func(*Options)
	}{
		{"cookie store", nil},
		{"redis store", func(o *Options) { useRedisAt(t, o, redis, prefix) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			own := newEnv(t, envOptions{mod: tc.mod})
			other := newEnv(t, envOptions{mod: tc.mod})
			_, v := own.signedInCookie("alice@example.com", alicePassword)
			if r := own.userinfo(v); r.StatusCode != http.StatusOK {
				t.Fatalf("own deployment: userinfo = %d; want 200", r.StatusCode)
			}
			if r := other.userinfo(v); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("other deployment: userinfo with the cookie = %d %s; want 401", r.StatusCode, r.body)
			}
			r := other.do(newClient(), "GET", "/app", withCookie(v, navigate), nil)
			if r.StatusCode != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), "/oauth2/start") {
				t.Errorf("other deployment, browser: GET /app = %d %q; want 302 to sign-in", r.StatusCode, r.Header.Get("Location"))
			}
			if r := own.userinfo(v); r.StatusCode != http.StatusOK {
				t.Errorf("own deployment, afterwards: userinfo = %d; want 200", r.StatusCode)
			}
		})
	}
}
