package redisstore

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

	"github.com/redis/rueidis"
	"go.uber.org/goleak"
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
	t    testing.TB
	bin  string
	dir  string
	pass string
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error // receives cmd.Wait's result
}

// startRedis starts a redis-server for t and stops it, by PID, when t
// ends. Without REZIGATE_TEST_REDIS_URL, -short skips; otherwise a missing
// redis-server fails the test, so CI cannot skip these tests by accident.
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	if os.Getenv(envURL) == "" && testing.Short() {
		t.Skip(envURL + " is unset and -short is on: skipping the tests against a real Redis (eval \"$(bash .ci/redis.sh)\" to run them)")
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("these tests need a real Redis, and redis-server is not on PATH: run `eval \"$(bash .ci/redis.sh)\"` (it installs and starts one, and sets %s), or install Debian's redis-server", envURL)
	}
	var p [16]byte
	_, _ = rand.Read(p[:])
	r := &redisServer{t: t, bin: bin, dir: t.TempDir(), pass: hex.EncodeToString(p[:])}
	t.Cleanup(r.stop)
	var lastErr error
	for range 3 { // another process may take the free port first
		if r.port, err = freePort(); err != nil {
			t.Fatal(err)
		}
		if lastErr = r.start(); lastErr == nil {
			return r
		}
	}
	t.Fatalf("start redis-server: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (r *redisServer) url() string {
	return fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", r.pass, r.port)
}

// readyWriter collects a server's output and closes ready at the line
// saying it accepts connections.
type readyWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	done  bool
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && bytes.Contains(w.buf.Bytes(), []byte("Ready to accept connections")) {
		w.done = true
		close(w.ready)
	}
	return len(p), nil
}

func (w *readyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// start runs redis-server on r.port and waits until it accepts
// connections. The password reaches it on standard input, not in its
// command line.
func (r *redisServer) start() error {
	cmd := exec.Command(r.bin, "-",
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir,
		"--daemonize", "no", "--logfile", "")
	cmd.Stdin = strings.NewReader("requirepass " + r.pass + "\n")
	out := &readyWriter{ready: make(chan struct{})}
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

// signal sends sig to the server's PID.
func (r *redisServer) signal(sig syscall.Signal) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		r.t.Fatal("signal: redis-server is not running")
	}
	if err := syscall.Kill(r.cmd.Process.Pid, sig); err != nil {
		r.t.Fatalf("kill -%d %d: %v", sig, r.cmd.Process.Pid, err)
	}
}

// restart starts the server again on the same port with the same
// password. Its data is gone: nothing was kept on disk.
func (r *redisServer) restart() {
	r.t.Helper()
	if err := r.start(); err != nil {
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

// testOptions returns the Options of a store for tests: one hour
// sessions, the first secret only.
func testOptions(url, prefix string) Options {
	return Options{URL: url, Secrets: [][]byte{secretA}, Name: "_rezigate", MaxAge: time.Hour, Prefix: prefix}
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
