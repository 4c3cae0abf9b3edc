package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/testsupport/redisserver"
	"github.com/rezigate/rezigate/internal/testsupport/redistest"
)

// signalHandler sends every record's message to msgs, without blocking.
type signalHandler struct{ msgs chan string }

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h.msgs <- r.Message:
	default:
	}
	return nil
}
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalHandler) WithGroup(string) slog.Handler      { return h }

// TestConnect: Connect keeps trying while nothing listens, connects once
// redis-server starts there, gives up when its context ends, and refuses
// invalid options without trying at all. Nothing it logs or returns holds
// the password.
func TestConnect(t *testing.T) {
	if os.Getenv(redistest.EnvURL) == "" && testing.Short() {
		t.Skip("-short: skipping a test that starts redis-server")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("this test needs Debian's redis-server on PATH (bash .ci/redis.sh installs it)")
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	const password = "connect-test-password-0123456789"
	opts := testOptions(fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", password, port), "connect:")

	t.Run("waits for redis", func(t *testing.T) {
		msgs := make(chan string, 1)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		type result struct {
			s   *Store
			err error
		}
		done := make(chan result, 1)
		go func() {
			s, err := Connect(ctx, opts, slog.New(signalHandler{msgs}))
			done <- result{s, err}
		}()
		if m := <-msgs; !strings.Contains(m, "not reachable yet") || strings.Contains(m, password) {
			t.Fatalf("first log line %q; want one saying Redis is not reachable yet, without the password", m)
		}
		srv, err := redisserver.Start(ctx, redisserver.Options{Dir: t.TempDir(), Port: port, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Stop()
		r := <-done
		if r.err != nil {
			t.Fatalf("Connect after redis-server started = %v", r.err)
		}
		defer r.s.Close()
		if err := r.s.Ping(ctx); err != nil {
			t.Errorf("Ping = %v", err)
		}
	})

	t.Run("gives up with its context", func(t *testing.T) {
		other, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		o := opts
		o.URL = fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", password, other)
		msgs := make(chan string, 1)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := Connect(ctx, o, slog.New(signalHandler{msgs}))
			done <- err
		}()
		<-msgs
		cancel()
		err = <-done
		if err == nil || !strings.Contains(err.Error(), "redisstore: not reachable") || strings.Contains(err.Error(), password) {
			t.Errorf("Connect after cancel = %v; want redisstore: not reachable, without the password", err)
		}
	})

	t.Run("invalid options", func(t *testing.T) {
		msgs := make(chan string, 1)
		o := opts
		o.Settings.MaxAge = -1
		_, err := Connect(context.Background(), o, slog.New(signalHandler{msgs}))
		var fe interface{ Unwrap() []error }
		if err == nil || !errors.As(err, &fe) || len(msgs) != 0 {
			t.Errorf("Connect(MaxAge -1) = %v with %d log lines; want Validate's error at once", err, len(msgs))
		}
	})
}
