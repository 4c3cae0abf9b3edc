package middleware

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
	t    testing.TB
	bin  string
	dir  string
	pass string
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error
}

// startRedis starts a redis-server for t and stops it, by PID, when t
// ends. -short skips when no Redis is given; otherwise a missing
// redis-server fails the test, so CI cannot skip these tests by accident.
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the tests against a real Redis (eval \"$(bash .ci/redis.sh)\" and run without -short)")
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("these tests need a real Redis, and redis-server is not on PATH: run `eval \"$(bash .ci/redis.sh)\"`, or install Debian's redis-server")
	}
	var p [16]byte
	_, _ = rand.Read(p[:])
	r := &redisServer{t: t, bin: bin, dir: t.TempDir(), pass: hex.EncodeToString(p[:])}
	t.Cleanup(r.stop)
	var lastErr error
	for range 3 { // another process may take the free port first
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		r.port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		if lastErr = r.start(); lastErr == nil {
			return r
		}
	}
	t.Fatalf("start redis-server: %v", lastErr)
	return nil
}

func (r *redisServer) url() string {
	return fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", r.pass, r.port)
}

// redisReady collects a server's output and closes ready at the line
// saying it accepts connections.
type redisReady struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	done  bool
}

func (w *redisReady) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && bytes.Contains(w.buf.Bytes(), []byte("Ready to accept connections")) {
		w.done = true
		close(w.ready)
	}
	return len(p), nil
}

func (w *redisReady) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// start runs redis-server on r.port; the password reaches it on standard
// input, not in its command line.
func (r *redisServer) start() error {
	cmd := exec.Command(r.bin, "-",
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir,
		"--daemonize", "no", "--logfile", "")
	cmd.Stdin = strings.NewReader("requirepass " + r.pass + "\n")
	out := &redisReady{ready: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-out.ready:
	case err := <-exited:
		return fmt.Errorf("redis-server exited (%v): %s", err, out)
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("redis-server not ready after 10s: %s", out)
	}
	r.mu.Lock()
	r.cmd, r.exited = cmd, exited
	r.mu.Unlock()
	return nil
}

// stop kills the server by its PID and waits for it to exit. Stopping a
// stopped server does nothing.
func (r *redisServer) stop() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	<-exited
}

// restart starts the server again on the same port with the same
// password. Its data is gone: nothing was kept on disk.
func (r *redisServer) restart() {
	r.t.Helper()
	if err := r.start(); err != nil {
		r.t.Fatalf("restart redis-server: %v", err)
	}
}

// newRedisStore returns a Redis store at url for the middleware of the
// test harness (cookie "_rezigate", the test session secret), under a key
// prefix of t's own, closed when t ends.
func newRedisStore(t testing.TB, url string) *redisstore.Store {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	s, err := redisstore.New(context.Background(), redisstore.Options{
		URL: url, Secrets: [][]byte{[]byte(testSessionKey)}, Name: DefaultCookieName,
		MaxAge: DefaultSessionMaxAge, Prefix: "mwt" + hex.EncodeToString(b[:]) + ":",
	})
	if err != nil {
		t.Fatalf("redisstore.New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
