//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/testsupport/freeport"
	"github.com/rezigate/rezigate/internal/testsupport/lockedbuf"
)

// The parts e2e/install.sh provides. A missing part fails the tests rather
// than skipping them: a skipped proof is no proof.
const (
	chromiumPath = "/usr/bin/chromium"
	nginxPath    = "/usr/sbin/nginx"
	// tomcatHome is CATALINA_HOME of Debian's tomcat10.
	tomcatHome = "/usr/share/tomcat10"
	// dexVersion must match DEX_VERSION in install.sh.
	dexVersion = "v0.0.0-20260303133905-11d2eeb52b42"
)

func requireFile(t *testing.T, what, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("%s not found at %s: run e2e/install.sh first", what, path)
	}
	return path
}

// cachedBinary returns a program install.sh builds: the path in $env
// when it is set, else rel under install.sh's cache
// ($XDG_CACHE_HOME or ~/.cache, then rezigate-e2e).
func cachedBinary(t *testing.T, what, env, rel string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return requireFile(t, what+" ("+env+")", p)
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatalf("%s: no home directory to find its cache in (%v): set %s or run e2e/install.sh", what, err, env)
		}
		cache = filepath.Join(home, ".cache")
	}
	return requireFile(t, what, filepath.Join(cache, "rezigate-e2e", rel))
}

// dexBinary returns the Dex binary install.sh builds.
func dexBinary(t *testing.T) string {
	t.Helper()
	return cachedBinary(t, "dex", "REZIGATE_E2E_DEX", filepath.Join("dex-"+dexVersion, "dex"))
}

func chromiumBinary(t *testing.T) string { t.Helper(); return requireFile(t, "chromium", chromiumPath) }

func nginxBinary(t *testing.T) string { t.Helper(); return requireFile(t, "nginx", nginxPath) }

// tomcatBinary returns Tomcat's catalina.sh.
func tomcatBinary(t *testing.T) string {
	t.Helper()
	return requireFile(t, "tomcat10", filepath.Join(tomcatHome, "bin", "catalina.sh"))
}

// freePorts returns n distinct free loopback ports, from outside the
// kernel's ephemeral range (see package freeport).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports, err := freeport.Distinct(n)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

// process is a child process the test started and will stop.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *lockedbuf.Buffer
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, valid once done is closed
}

// startProcess starts bin and registers its stop in t.Cleanup. Its output
// goes to the test log when the test fails, or always with -v and
// REZIGATE_E2E_VERBOSE=1.
func startProcess(t *testing.T, name, bin string, args, env []string) *process {
	t.Helper()
	p := &process{name: name, out: &lockedbuf.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	// Its own process group, so a signal to the test does not reach it
	// twice and nothing it starts outlives it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() || os.Getenv("REZIGATE_E2E_VERBOSE") == "1" {
			t.Logf("---- %s output ----\n%s---- end of %s output ----", name, p.out.String(), name)
		}
	})
	return p
}

// stop sends SIGTERM, waits up to 5 s for a graceful exit, then kills the
// process group.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// exited reports whether the process has ended, with its status.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// waitHTTP polls url until it answers want, the process exits, or timeout.
func waitHTTP(t *testing.T, p *process, url string, want int, timeout time.Duration) {
	t.Helper()
	client := &http.Client{
		Timeout:       2 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		if done, err := p.exited(); done {
			t.Fatalf("%s exited before %s answered %d: %v", p.name, url, want, err)
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: GET %s did not answer %d within %v; last: %s", p.name, url, want, timeout, last)
}

// baseEnv is the test's environment without REZIGATE_* variables, so a
// developer's shell cannot change what the tests configure.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REZIGATE_") {
			env = append(env, kv)
		}
	}
	return env
}

// goTool finds the go command that runs the tests.
func goTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("go command not found in PATH")
}

// moduleRoot is the directory of the rezigate module: this package's parent.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root := filepath.Dir(wd)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("no go.mod in %s: %w", root, err)
	}
	return root, nil
}

// withTimeout is a context bounded by d and by the test's own deadline.
func withTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	ctx := t.Context()
	return context.WithTimeout(ctx, d)
}

// randomHex returns n random bytes in hex: fresh secrets for each run.
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return hex.EncodeToString(b)
}
