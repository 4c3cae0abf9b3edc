package middleware

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/rezigate/rezigate/internal/testsupport/redisserver"
	"github.com/rezigate/rezigate/sessions/redisstore"
)

// envRedisURL names the Redis the tests use when it is set; .ci/redis.sh
// starts one and prints it. Tests that stop Redis start their own.
const envRedisURL = "REZIGATE_TEST_REDIS_URL"

// redisURL returns the URL of a Redis for t: $REZIGATE_TEST_REDIS_URL, or
// else a redis-server started for t alone.
func redisURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(envRedisURL); u != "" {
		return u
	}
	return startRedis(t).url()
}

// redisServer is a redis-server process of a test, on a free loopback
// port with a random password and nothing kept on disk.
type redisServer struct {
	t testing.TB
	*redisserver.Server
}

// startRedis starts a redis-server for t and stops it, by PID, when t
// ends. -short skips when no Redis is given; otherwise a missing
// redis-server fails the test, so CI cannot skip these tests by accident.
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the tests against a real Redis (eval \"$(bash .ci/redis.sh)\" and run without -short)")
	}
	s, err := redisserver.Start(context.Background(), redisserver.Options{Dir: t.TempDir()})
	if errors.Is(err, exec.ErrNotFound) {
		t.Fatalf("these tests need a real Redis, and redis-server is not on PATH: run `eval \"$(bash .ci/redis.sh)\"`, or install Debian's redis-server")
	}
	if err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(s.Stop)
	return &redisServer{t: t, Server: s}
}

func (r *redisServer) url() string { return r.URL() }

// stop kills the server by its PID and waits for it to exit. Stopping a
// stopped server does nothing.
func (r *redisServer) stop() { r.Stop() }

// restart starts the server again on the same port with the same
// password. Its data is gone: nothing was kept on disk.
func (r *redisServer) restart() {
	r.t.Helper()
	if err := r.Restart(); err != nil {
		r.t.Fatalf("restart redis-server: %v", err)
	}
}

// newRedisStore returns a Redis store at url for the middleware of the
// test harness (cookie "_rezigate", the test session secret), bound to
// deployment, under a key prefix of t's own, closed when t ends.
func newRedisStore(t testing.TB, url, deployment string) *redisstore.Store {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return newRedisStoreAt(t, url, "mwt"+hex.EncodeToString(b[:])+":", deployment)
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
