// Package redistest gives a test a Redis: the one named by
// $REZIGATE_TEST_REDIS_URL (.ci/redis.sh starts one and prints it), or a
// redis-server of the test's own (package redisserver), stopped by PID
// when the test ends.
//
// Without $REZIGATE_TEST_REDIS_URL, -short skips the test; otherwise a
// missing redis-server fails it, so CI cannot skip Redis tests by
// accident.
package redistest

import (
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

	"github.com/rezigate/rezigate/internal/testsupport/redisserver"
)

// EnvURL names the environment variable holding the URL of a Redis that
// tests may share.
const EnvURL = "REZIGATE_TEST_REDIS_URL"

// URL returns the URL of a Redis for t: $REZIGATE_TEST_REDIS_URL, or else
// that of a redis-server started for t alone. Tests sharing one Redis
// keep apart with Prefix.
func URL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return Start(t).URL()
}

// Server is a redis-server of one test, on a free loopback port with a
// random password and nothing kept on disk. Its methods fail the test
// instead of returning errors.
type Server struct {
	t   testing.TB
	srv *redisserver.Server
}

// Start starts a redis-server for t alone, for a test that stops,
// restarts or pauses its Redis, and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	if os.Getenv(EnvURL) == "" && testing.Short() {
		t.Skip(EnvURL + " is unset and -short is on: skipping the tests against a real Redis (eval \"$(bash .ci/redis.sh)\" to run them)")
	}
	s, err := redisserver.Start(context.Background(), redisserver.Options{Dir: t.TempDir()})
	if errors.Is(err, exec.ErrNotFound) {
		t.Fatalf("these tests need a real Redis, and redis-server is not on PATH: run `eval \"$(bash .ci/redis.sh)\"` (it installs and starts one, and sets %s), or install Debian's redis-server", EnvURL)
	}
	if err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(s.Stop)
	return &Server{t: t, srv: s}
}

// URL returns the server's redis:// URL, password included.
func (s *Server) URL() string { return s.srv.URL() }

// Port returns the loopback port the server listens on; Restart keeps it.
func (s *Server) Port() int { return s.srv.Port() }

// Stop kills the server by its PID and waits for it to exit. Stopping a
// stopped server does nothing.
func (s *Server) Stop() { s.srv.Stop() }

// Restart starts the server again on the same port with the same
// password. Its data is gone: nothing was kept on disk.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.srv.Restart(); err != nil {
		s.t.Fatalf("restart redis-server: %v", err)
	}
}

// Signal sends sig to the server's PID, such as SIGSTOP and SIGCONT to
// make it hang and resume.
func (s *Server) Signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.srv.Signal(sig); err != nil {
		s.t.Fatalf("signal redis-server: %v", err)
	}
}

// Prefix returns a key prefix of t's own, starting with name, so that
// tests sharing one Redis never see each other's keys, and deletes every
// key under it at url when t ends (best effort: the server may be gone).
func Prefix(t testing.TB, url, name string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := name + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() { deleteKeys(url, prefix) })
	return prefix
}

func deleteKeys(url, prefix string) {
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
}
