package middleware

import (
	"context"
	"testing"

	"github.com/rezigate/rezigate/internal/testsupport/redistest"
	"github.com/rezigate/rezigate/sessions"
	"github.com/rezigate/rezigate/sessions/redisstore"
)

// useRedis gives the session settings of o (the test harness's: the test
// session secret, insecure cookies, PublicURL's deployment) to a Redis
// store at url, under a key prefix of t's own, closed when t ends, and
// makes it o's Store: the settings are given once, to the store.
func useRedis(t testing.TB, o *Options, url string) *redisstore.Store {
	t.Helper()
	return useRedisAt(t, o, url, redistest.Prefix(t, url, "mwt"))
}

// useRedisAt is useRedis under the key prefix given.
func useRedisAt(t testing.TB, o *Options, url, prefix string) *redisstore.Store {
	t.Helper()
	st := o.Session
	if st.Deployment == "" {
		st.Deployment = sessions.DeploymentOf(o.PublicURL)
	}
	s := newRedisStoreAt(t, url, prefix, st)
	o.Store, o.Session = s, sessions.Settings{}
	return s
}

// newRedisStoreAt returns a Redis store at url with the settings given,
// under the key prefix given, closed when t ends.
func newRedisStoreAt(t testing.TB, url, prefix string, st sessions.Settings) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(context.Background(), redisstore.Options{Settings: st, URL: url, Prefix: prefix})
	if err != nil {
		t.Fatalf("redisstore.New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
