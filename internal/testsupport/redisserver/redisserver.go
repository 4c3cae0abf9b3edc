// Package redisserver runs a throwaway redis-server for tests and the
// demo: on loopback only, with a password that never appears in its
// command line, and nothing kept on disk, so a restart comes back empty.
package redisserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rezigate/rezigate/internal/testsupport/freeport"
)

// ReadyTimeout bounds how long Start and Restart wait for redis-server
// to say it accepts connections.
const ReadyTimeout = 10 * time.Second

// startAttempts is how many free ports Start tries when Options.Port is
// zero: another process may take a free port before redis-server does.
const startAttempts = 3

// readyLine is what redis-server prints once it accepts connections.
const readyLine = "Ready to accept connections"

// sentinelReadyLine is what a Sentinel prints once it accepts connections.
const sentinelReadyLine = "Sentinel ID is"

// ErrNotRunning is returned by Signal when the server has been stopped.
var ErrNotRunning = errors.New("redisserver: redis-server is not running")

// Options say which redis-server to run and where.
type Options struct {
	// Bin is the redis-server executable; "" looks up redis-server on
	// PATH. When it is not found, Start's error wraps exec.ErrNotFound.
	Bin string
	// Dir is the server's working directory (its --dir), for example
	// t.TempDir(). It is required. Nothing is saved there.
	Dir string
	// Password is the one the server requires; "" means a random one. It
	// may hold printable ASCII only, without spaces, quotes or
	// backslashes, since it travels in a configuration line.
	Password string
	// Port is the loopback port to listen on; 0 means a free one, tried
	// again on another free port, a few times, if it is taken first.
	Port int
	// NoPassword runs the server without requirepass (Password is then
	// ignored), as Sentinels often are.
	NoPassword bool
	// Config holds more redis.conf lines, such as "replicaof 127.0.0.1
	// 6380" or "cluster-enabled yes". They reach the server like the
	// password, never on its command line.
	Config []string
	// Sentinel runs redis-server --sentinel. A Sentinel rewrites its
	// configuration, so it is written to Dir/sentinel.conf (mode 0600),
	// and it is ready once it prints its ID.
	Sentinel bool
}

// Server is a running (or stopped) redis-server. Its methods are safe
// for concurrent use.
type Server struct {
	bin, dir, pass string
	port           int
	config         []string
	sentinel       bool

	mu     sync.Mutex
	cmd    *exec.Cmd     // nil when stopped
	exited chan struct{} // closed when cmd has been waited for
}

// Start starts redis-server on 127.0.0.1 and waits, for at most
// ReadyTimeout or until ctx ends, until it accepts connections. ctx only
// bounds that wait: the server runs until Stop. The caller must Stop it.
// Errors include the end of the server's output, never the password.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("redisserver: Options.Dir is required")
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("redisserver: Options.Port %d is out of range", opts.Port)
	}
	if !validPassword(opts.Password) {
		return nil, errors.New("redisserver: Options.Password may hold printable ASCII only, without spaces, quotes or backslashes")
	}
	bin := opts.Bin
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			return nil, fmt.Errorf("redisserver: redis-server is not on PATH: %w", err)
		}
	}
	s := &Server{bin: bin, dir: opts.Dir, pass: opts.Password, port: opts.Port, config: opts.Config, sentinel: opts.Sentinel}
	for _, l := range opts.Config {
		if strings.ContainsAny(l, "\r\n") {
			return nil, errors.New("redisserver: Options.Config lines must not hold line breaks")
		}
	}
	if opts.NoPassword {
		s.pass = ""
	} else if s.pass == "" {
		var p [16]byte
		_, _ = rand.Read(p[:])
		s.pass = hex.EncodeToString(p[:])
	}
	if s.port != 0 {
		if err := s.start(ctx); err != nil {
			return nil, err
		}
		return s, nil
	}
	var lastErr error
	for range startAttempts {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		s.port = port
		if lastErr = s.start(ctx); lastErr == nil || ctx.Err() != nil {
			break
		}
	}
	if lastErr != nil {
		return nil, lastErr
	}
	return s, nil
}

// FreePort returns a loopback port that nothing listened on a moment ago
// (see package freeport).
func FreePort() (int, error) { return freeport.Loopback() }

// validPassword reports whether p can be written, unquoted, on one
// redis.conf line.
func validPassword(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c > '~' || c == '"' || c == '\'' || c == '\\' {
			return false
		}
	}
	return true
}

// start runs redis-server on s.port and waits until it is ready. The
// password reaches it on standard input, not in its command line.
func (s *Server) start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisserver: start redis-server: %w", err)
	}
	var conf strings.Builder
	if s.pass != "" {
		conf.WriteString("requirepass " + s.pass + "\n")
	}
	for _, l := range s.config {
		conf.WriteString(l + "\n")
	}
	args := []string{"-", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--daemonize", "no", "--logfile", ""}
	ready := readyLine
	if s.sentinel {
		file := filepath.Join(s.dir, "sentinel.conf")
		if err := os.WriteFile(file, []byte(conf.String()), 0o600); err != nil {
			return fmt.Errorf("redisserver: write sentinel configuration: %w", err)
		}
		args = []string{file, "--sentinel", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
			"--dir", s.dir, "--daemonize", "no", "--logfile", ""}
		ready = sentinelReadyLine
	}
	cmd := exec.Command(s.bin, args...)
	if !s.sentinel {
		cmd.Stdin = strings.NewReader(conf.String())
	}
	out := &readyWriter{ready: make(chan struct{}), line: []byte(ready)}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redisserver: start redis-server: %w", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t := time.NewTimer(ReadyTimeout)
	defer t.Stop()
	var why string
	select {
	case <-out.ready:
		s.mu.Lock()
		s.cmd, s.exited = cmd, exited
		s.mu.Unlock()
		return nil
	case <-exited:
		return fmt.Errorf("redisserver: redis-server on port %d exited (%v): %s", s.port, waitErr, out.tail(s.pass))
	case <-t.C:
		why = fmt.Sprintf("not ready after %v", ReadyTimeout)
	case <-ctx.Done():
		why = fmt.Sprintf("not ready: %v", ctx.Err())
	}
	_ = cmd.Process.Kill()
	<-exited
	return fmt.Errorf("redisserver: redis-server on port %d %s: %s", s.port, why, out.tail(s.pass))
}

// URL returns the redis:// URL of the server, password included, for a
// client; it is the only place the password is given out.
func (s *Server) URL() string {
	if s.pass == "" {
		return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port)
	}
	return fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", s.pass, s.port)
}

// Password returns the password the server requires ("" with
// NoPassword), for the configuration of its replicas and Sentinels.
func (s *Server) Password() string { return s.pass }

// Port returns the loopback port the server listens on; Restart keeps it.
func (s *Server) Port() int { return s.port }

// PID returns the server's process id, or 0 when it is stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Stop kills the server's process (by its PID, with SIGKILL) and waits
// for it to exit. Stopping a stopped server does nothing. The process is
// signalled through os.Process, which never signals a PID once the
// process has been waited for, so a recycled PID is safe.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill() // does nothing once the process has been waited for
	<-exited
}

// Restart stops the server if it runs and starts it again on the same
// port with the same password, waiting as Start does. Its data is gone:
// nothing was kept on disk.
func (s *Server) Restart() error {
	s.Stop()
	return s.start(context.Background())
}

// Signal sends sig to the server's process, for example SIGSTOP and
// SIGCONT to make it hang and resume. It returns ErrNotRunning after Stop.
func (s *Server) Signal(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return ErrNotRunning
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("redisserver: signal %v to PID %d: %w", sig, s.cmd.Process.Pid, err)
	}
	return nil
}

// maxOutput bounds how much of the server's output is kept: its start,
// where redis-server says why it did not come up.
const maxOutput = 64 << 10

// tailBytes bounds how much of that output an error shows.
const tailBytes = 2 << 10

// readyWriter collects the start of a server's output and closes ready at
// the line saying it accepts connections.
type readyWriter struct {
	line  []byte
	mu    sync.Mutex
	buf   []byte
	ready chan struct{}
	done  bool
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) < maxOutput {
		w.buf = append(w.buf, p...)
	}
	if !w.done && bytes.Contains(w.buf, w.line) {
		w.done = true
		close(w.ready)
	}
	return len(p), nil
}

// tail returns the last lines of the kept output, with every copy of secret
// replaced: redis-server quotes a configuration line it rejects.
func (w *readyWriter) tail(secret string) string {
	w.mu.Lock()
	s := string(w.buf)
	w.mu.Unlock()
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "REDACTED")
	}
	s = strings.TrimSpace(s)
	if len(s) > tailBytes {
		s = s[len(s)-tailBytes:]
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	if s == "" {
		return "(no output)"
	}
	return s
}
