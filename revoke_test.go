package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/identity"
	"github.com/rezigate/rezigate/internal/testsupport/redistest"
	"github.com/rezigate/rezigate/sessions"
	"github.com/rezigate/rezigate/sessions/redisstore"
)

// runBinary runs the built rezigate with args and env, and returns its
// exit status and output.
func runBinary(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

// TestRevoke runs `rezigate revoke` as a process against a real Redis:
// -uid and -sub end every session of the person and say how many, the
// cookie store and bad usage are refused with status 2, a store that
// cannot be reached gives status 1.
func TestRevoke(t *testing.T) {
	url := redistest.URL(t)
	const issuer = "http://127.0.0.1:9"
	cfg := writeConfig(t, "127.0.0.1:4180", issuer, "", "")
	env := append(secretEnv(), "REZIGATE_SESSION_STORE=redis", "REZIGATE_REDIS_URL="+url)

	store, err := redisstore.New(context.Background(), redisstore.Options{
		Settings: sessions.Settings{ // writeConfig's
			Deployment: sessions.DeploymentOf("http://127.0.0.1:4180"), Secrets: [][]byte{[]byte(sessionKey)}, InsecureCookies: true,
		},
		URL: url,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	put := func(uid string) string {
		t.Helper()
		c, err := store.Put(ctx, sessions.Session{UID: uid, Email: "alice@example.com", Expires: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	aliceUID := identity.UID([]byte(uidSecret), issuer, "alice-sub")
	bobUID := identity.UID([]byte(uidSecret), issuer, "bob-sub")
	a1, a2, b1 := put(aliceUID), put(aliceUID), put(bobUID)

	tests := []struct {
		name       string
		env        []string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"by uid", env, []string{"revoke", "-config", cfg, "-uid", aliceUID}, 0, "revoked 2 sessions\n", ""},
		{"again", env, []string{"revoke", "-config", cfg, "-uid", aliceUID}, 0, "revoked 0 sessions\n", ""},
		{"by sub", env, []string{"revoke", "-config", cfg, "-sub", "bob-sub"}, 0, "revoked 1 sessions\n", ""},
		{"cookie store", secretEnv(), []string{"revoke", "-config", cfg, "-uid", aliceUID}, 2, "", "needs session.store: redis"},
		{"both -uid and -sub", env, []string{"revoke", "-config", cfg, "-uid", "u", "-sub", "s"}, 2, "", "exactly one of -uid or -sub"},
		{"neither", env, []string{"revoke", "-config", cfg}, 2, "", "exactly one of -uid or -sub"},
		{"unknown flag", env, []string{"revoke", "-config", cfg, "-everyone"}, 2, "", "flag provided but not defined"},
		{"store unreachable", append(secretEnv(), "REZIGATE_SESSION_STORE=redis", "REZIGATE_REDIS_URL=redis://127.0.0.1:1/0"), []string{"revoke", "-config", cfg, "-uid", aliceUID}, 1, "", "redisstore"},
		{"no such file", env, []string{"revoke", "-config", cfg + ".missing", "-uid", aliceUID}, 1, "", "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runBinary(t, tc.env, tc.args...)
			if code != tc.wantCode || stdout != tc.wantStdout || !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("rezigate %v = %d, stdout %q, stderr %q; want %d, %q, stderr containing %q",
					tc.args[1:], code, stdout, stderr, tc.wantCode, tc.wantStdout, tc.wantStderr)
			}
			for _, s := range []string{sessionKey, uidSecret, clientSecret, privateKey} {
				if strings.Contains(stdout+stderr, s) {
					t.Errorf("output shows a secret")
				}
			}
			if i := strings.Index(url, "@"); i > 0 && strings.Contains(stdout+stderr, url[:i]) {
				t.Errorf("output shows the Redis password")
			}
		})
	}
	for name, c := range map[string]string{"alice 1": a1, "alice 2": a2, "bob": b1} {
		if _, err := store.Get(ctx, c); !errors.Is(err, sessions.ErrNotFound) {
			t.Errorf("%s's session after revoke: Get = %v; want ErrNotFound", name, err)
		}
	}
}

// TestRevokeBadInput: a -uid that is not exactly 64 lower-case hex
// characters, or an empty -sub, names nobody; revoke refuses it with
// status 2 and says why, before it reads the configuration or touches
// Redis, instead of reporting "revoked 0 sessions".
func TestRevokeBadInput(t *testing.T) {
	good := identity.UID([]byte(uidSecret), "http://127.0.0.1:9", "alice-sub")
	const uidMsg = "-uid must be exactly 64 lower-case hex characters"
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"uid empty", []string{"-uid", ""}, uidMsg},
		{"uid too short", []string{"-uid", good[:63]}, uidMsg},
		{"uid too long", []string{"-uid", good + "0"}, uidMsg},
		{"uid upper case", []string{"-uid", strings.ToUpper(good)}, uidMsg},
		{"uid not hex", []string{"-uid", strings.Repeat("g", 64)}, uidMsg},
		{"uid with spaces", []string{"-uid", " " + good}, uidMsg},
		{"uid an email", []string{"-uid", "alice@example.com"}, uidMsg},
		{"sub empty", []string{"-sub", ""}, "-sub must not be empty"},
		{"sub spaces", []string{"-sub", " \t "}, "-sub must not be empty"},
		{"uid and empty sub", []string{"-uid", good, "-sub", ""}, "exactly one of -uid or -sub"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"-config", "/nonexistent/config.yaml"}, tc.args...)
			code := runRevoke(args, nil, &stdout, &stderr)
			if code != 2 || stdout.Len() != 0 || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("rezigate revoke %q = %d, stdout %q, stderr %q; want 2, no output, stderr containing %q",
					tc.args, code, stdout.String(), stderr.String(), tc.wantErr)
			}
		})
	}
}
