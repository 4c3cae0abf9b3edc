package middleware

import (
	"context"
	"testing"

	"github.com/rezigate/rezigate/internal/testsupport/redistest"
	"github.com/rezigate/rezigate/sessions/redisstore"
)

// newRedisStore returns a Redis store at url for the middleware of the
// test harness (cookie "_rezigate", the test session secret), bound to
// deployment, under a key prefix of t's own, closed when t ends.
func newRedisStore(t testing.TB, url, deployment string) *redisstore.Store {
	t.Helper()
	return newRedisStoreAt(t, url, redistest.Prefix(t, url, "mwt"), deployment)
}

// newRedisStoreAt is newRedisStore under the key prefix given.
func newRedisStoreAt(t testing.TB, url, prefix, deployment string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(context.Background(), redisstore.Options{
		Deployment: deployment, URL: url, Secrets: [][]byte{[]byte(testSessionKey)}, Name: DefaultCookieName,
		MaxAge: DefaultSessionMaxAge, Prefix: prefix,
	})
	if err != nil {
		t.Fatalf("redisstore.New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
