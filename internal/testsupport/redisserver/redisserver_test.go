package redisserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needRedis skips under -short and fails when redis-server is missing,
// so CI cannot skip these tests by accident.
func needRedis(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the tests that run a real redis-server")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("these tests need redis-server on PATH: install Debian's redis-server")
	}
}

// start starts a server for t and stops it when t ends.
func start(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// do sends each command (its words) over one connection to the server at
// rawURL, after AUTH with the URL's password, and returns the first line
// of each reply.
func do(t *testing.T, rawURL string, cmds ...[]string) []string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("url.Parse(URL()): %v", err)
	}
	pass, _ := u.User.Password()
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", u.Host, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	var got []string
	for _, cmd := range append([][]string{{"AUTH", pass}}, cmds...) {
		var b strings.Builder
		fmt.Fprintf(&b, "*%d\r\n", len(cmd))
		for _, w := range cmd {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(w), w)
		}
		if _, err := c.Write([]byte(b.String())); err != nil {
			t.Fatalf("write %s: %v", cmd[0], err)
		}
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read reply to %s: %v", cmd[0], err)
		}
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, "$") && line != "$-1" { // a bulk string: read its body
			body, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("read reply to %s: %v", cmd[0], err)
			}
			line = strings.TrimRight(body, "\r\n")
		}
		got = append(got, line)
	}
	if got[0] != "+OK" {
		t.Fatalf("AUTH = %q; want +OK", got[0])
	}
	return got[1:]
}

// A started server answers PING after AUTH on loopback; Restart keeps
// its port and password and loses its data; Stop is idempotent.
func TestStartRestartStop(t *testing.T) {
	needRedis(t)
	s := start(t, Options{})
	if s.PID() <= 0 {
		t.Fatalf("PID() = %d; want > 0", s.PID())
	}
	if want := "redis://:"; !strings.HasPrefix(s.URL(), want) || !strings.HasSuffix(s.URL(), "@127.0.0.1:"+strconv.Itoa(s.Port())+"/0") {
		t.Fatalf("URL() = %q; want redis://:PASSWORD@127.0.0.1:%d/0", s.URL(), s.Port())
	}
	if got := do(t, s.URL(), []string{"PING"}, []string{"SET", "k", "v"}, []string{"GET", "k"}); strings.Join(got, " ") != "+PONG +OK v" {
		t.Fatalf("PING, SET, GET = %q; want [+PONG +OK v]", got)
	}

	url, port, pid := s.URL(), s.Port(), s.PID()
	if err := s.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if s.URL() != url || s.Port() != port {
		t.Fatalf("after Restart: URL() = %q, Port() = %d; want %q, %d", s.URL(), s.Port(), url, port)
	}
	if s.PID() == pid || s.PID() <= 0 {
		t.Fatalf("after Restart: PID() = %d; want a new process (was %d)", s.PID(), pid)
	}
	if got := do(t, s.URL(), []string{"PING"}, []string{"GET", "k"}); strings.Join(got, " ") != "+PONG $-1" {
		t.Fatalf("after Restart: PING, GET = %q; want [+PONG $-1] (nothing kept)", got)
	}

	s.Stop()
	s.Stop() // idempotent
	if s.PID() != 0 {
		t.Fatalf("after Stop: PID() = %d; want 0", s.PID())
	}
	if err := s.Signal(syscall.SIGCONT); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("after Stop: Signal = %v; want ErrNotRunning", err)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second); err == nil {
		c.Close()
		t.Fatalf("after Stop: port %d still accepts connections", port)
	}
}

// A given password and port are used as they are, and the password is
// not in the command line.
func TestGivenPasswordAndPort(t *testing.T) {
	needRedis(t)
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	const pass = "given-Pa55word!"
	s := start(t, Options{Password: pass, Port: port})
	if want := "redis://:" + pass + "@127.0.0.1:" + strconv.Itoa(port) + "/0"; s.URL() != want {
		t.Fatalf("URL() = %q; want %q", s.URL(), want)
	}
	if got := do(t, s.URL(), []string{"PING"}); got[0] != "+PONG" {
		t.Fatalf("PING = %q; want +PONG", got[0])
	}
	out, err := exec.Command("ps", "-o", "args=", "-p", strconv.Itoa(s.PID())).Output()
	if err != nil {
		t.Fatalf("ps: %v", err)
	}
	if strings.Contains(string(out), pass) {
		t.Fatalf("the command line of redis-server holds the password: %q", out)
	}
}

// Start refuses bad options and reports a server that cannot start with
// the end of its output, never the password.
func TestStartErrors(t *testing.T) {
	needRedis(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	const pass = "secret-never-shown"
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no dir", Options{}, "Options.Dir is required"},
		{"bad port", Options{Dir: t.TempDir(), Port: 70000}, "out of range"},
		{"newline in password", Options{Dir: t.TempDir(), Password: "x\nreplicaof 10.0.0.1 6379"}, "Options.Password"},
		{"space in password", Options{Dir: t.TempDir(), Password: "a b"}, "Options.Password"},
		{"missing binary", Options{Dir: t.TempDir(), Bin: "/nonexistent/redis-server"}, "start redis-server"},
		{"port taken", Options{Dir: t.TempDir(), Password: pass, Port: taken.Addr().(*net.TCPAddr).Port}, "exited"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Start(context.Background(), tc.opts)
			if err == nil {
				s.Stop()
				t.Fatalf("Start(%+v) = nil error; want one containing %q", tc.opts, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "redisserver: ") {
				t.Fatalf("Start error = %q; want it to start with %q and contain %q", err, "redisserver: ", tc.want)
			}
			if strings.Contains(err.Error(), pass) {
				t.Fatalf("Start error holds the password: %q", err)
			}
		})
	}
}

// A cancelled context ends the wait for readiness and leaves no server.
func TestStartCancelled(t *testing.T) {
	needRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, err := Start(ctx, Options{Dir: t.TempDir()})
	if err == nil {
		s.Stop()
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Start(cancelled) = %v; want an error wrapping context.Canceled", err)
	}
}
