package redisstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"go.uber.org/goleak"

	"github.com/rezigate/rezigate/internal/testsupport/redisserver"
)

// The client's goroutines must all be gone when the tests end: every
// store is closed by its test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, ignoreDelayedRefresh)
}

// ignoreDelayedRefresh: when rueidis.NewClient fails to connect, it leaves
// one goroutine asleep for a random delay of under a second before a last
// cluster refresh, which then ends by itself.
var ignoreDelayedRefresh = goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*call).DelayDo.func1")

// envURL names the Redis the tests use when it is set; .ci/redis.sh
// starts one and prints it.
const envURL = "REZIGATE_TEST_REDIS_URL"

var (
	secretA = bytes.Repeat([]byte("a"), 32)
	secretB = bytes.Repeat([]byte("b"), 32)
)

// redisURL returns the URL of a Redis for t: $REZIGATE_TEST_REDIS_URL, or
// else a redis-server started for t alone.
func redisURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(envURL); u != "" {
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
// ends. Without REZIGATE_TEST_REDIS_URL, -short skips; otherwise a missing
// redis-server fails the test, so CI cannot skip these tests by accident.
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	if os.Getenv(envURL) == "" && testing.Short() {
		t.Skip(envURL + " is unset and -short is on: skipping the tests against a real Redis (eval \"$(bash .ci/redis.sh)\" to run them)")
	}
	s, err := redisserver.Start(context.Background(), redisserver.Options{Dir: t.TempDir()})
	if errors.Is(err, exec.ErrNotFound) {
		t.Fatalf("these tests need a real Redis, and redis-server is not on PATH: run `eval \"$(bash .ci/redis.sh)\"` (it installs and starts one, and sets %s), or install Debian's redis-server", envURL)
	}
	if err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(s.Stop)
	return &redisServer{t: t, Server: s}
}

// freePort returns a loopback port that nothing listened on a moment ago.
var freePort = redisserver.FreePort

func (r *redisServer) url() string { return r.URL() }

// stop kills the server by its PID and waits for it to exit. Stopping a
// stopped server does nothing.
func (r *redisServer) stop() { r.Stop() }

// signal sends sig to the server's PID.
func (r *redisServer) signal(sig syscall.Signal) {
	r.t.Helper()
	if err := r.Signal(sig); err != nil {
		r.t.Fatalf("signal redis-server: %v", err)
	}
}

// restart starts the server again on the same port with the same
// password. Its data is gone: nothing was kept on disk.
func (r *redisServer) restart() {
	r.t.Helper()
	if err := r.Restart(); err != nil {
		r.t.Fatalf("restart redis-server: %v", err)
	}
}

// testPrefix returns a key prefix of t's own, so tests sharing one Redis
// never see each other's keys, and deletes every key under it when t
// ends.
func testPrefix(t testing.TB, url string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "rzt" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() { // best effort: the server may be gone already
		opt, err := rueidis.ParseURL(url)
		if err != nil {
			return
		}
		opt.DisableCache, opt.Dialer.Timeout = true, time.Second
		c, err := rueidis.NewClient(opt)
		if err != nil {
			return
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var cursor uint64
		for {
			e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
			if err != nil {
				return
			}
			for _, k := range e.Elements {
				c.Do(ctx, c.B().Del().Key(k).Build())
			}
			if cursor = e.Cursor; cursor == 0 {
				return
			}
		}
	})
	return prefix
}

// rawClient is a plain client without local caching, for looking at what
// the store wrote. It is closed when t ends.
func rawClient(t testing.TB, url string) rueidis.Client {
	t.Helper()
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		t.Fatalf("ParseURL: %v", err)
	}
	opt.DisableCache = true
	opt.Dialer.Timeout = 2 * time.Second
	opt.ConnWriteTimeout = 2 * time.Second
	c, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatalf("connect to Redis: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// scanKeys returns every key under prefix.
func scanKeys(t testing.TB, c rueidis.Client, prefix string) []string {
	t.Helper()
	var keys []string
	var cursor uint64
	for {
		e, err := c.Do(context.Background(), c.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
		if err != nil {
			t.Fatalf("SCAN: %v", err)
		}
		keys = append(keys, e.Elements...)
		if cursor = e.Cursor; cursor == 0 {
			return keys
		}
	}
}

// testDeployment is the Deployment of the tests' stores.
const testDeployment = "https://rms.example.com"

// testOptions returns the Options of a store for tests: one hour
// sessions, the first secret only.
func testOptions(url, prefix string) Options {
	return Options{Deployment: testDeployment, URL: url, Secrets: [][]byte{secretA}, Name: "_rezigate", MaxAge: time.Hour, Prefix: prefix}
}

// newTestStore builds a store and closes it when t ends.
func newTestStore(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
