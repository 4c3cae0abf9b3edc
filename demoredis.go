package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// demoRedis is the redis-server of `rezigate -demo -demo-redis`: from
// PATH, on a free loopback port, with a random password and nothing kept
// on disk.
type demoRedis struct {
	cmd    *exec.Cmd
	exited chan struct{}
	url    string
}

// demoRedisStartTimeout bounds how long redis-server may take to start.
const demoRedisStartTimeout = 10 * time.Second

// startDemoRedis starts redis-server and waits until it accepts
// connections. The password reaches it on standard input, so it is not in
// the process list.
func startDemoRedis(ctx context.Context) (*demoRedis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("demo: -demo-redis needs redis-server on PATH (Debian: apt-get install redis-server)")
	}
	var p [16]byte
	_, _ = rand.Read(p[:])
	pass := hex.EncodeToString(p[:])
	var lastErr error
	for range 3 { // another process may take the free port first
		port, err := freeLoopbackPort()
		if err != nil {
			return nil, fmt.Errorf("demo: redis: %w", err)
		}
		r, err := runDemoRedis(ctx, bin, port, pass)
		if err == nil {
			return r, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func runDemoRedis(ctx context.Context, bin string, port int, pass string) (*demoRedis, error) {
	cmd := exec.Command(bin, "-",
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "")
	cmd.Stdin = strings.NewReader("requirepass " + pass + "\n")
	out := &readyWriter{ready: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("demo: start redis-server: %w", err)
	}
	r := &demoRedis{cmd: cmd, exited: make(chan struct{}), url: fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", pass, port)}
	go func() { _ = cmd.Wait(); close(r.exited) }()
	t := time.NewTimer(demoRedisStartTimeout)
	defer t.Stop()
	select {
	case <-out.ready:
		return r, nil
	case <-r.exited:
		return nil, fmt.Errorf("demo: redis-server exited: %s", lastLine(out.String()))
	case <-t.C:
	case <-ctx.Done():
	}
	r.stop()
	return nil, errors.New("demo: redis-server did not start in time")
}

// stop ends the server by its PID and waits for it.
func (r *demoRedis) stop() {
	_ = syscall.Kill(r.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.exited
	}
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
	if w.buf.Len() < 64<<10 {
		w.buf.Write(p)
	}
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

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
