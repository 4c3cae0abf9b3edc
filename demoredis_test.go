package main

import (
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemoRedis: `-demo -demo-redis` keeps sessions in a redis-server of
// its own, so signing out revokes the session (a replayed cookie is sent
// to sign in again), and the redis-server is gone once the demo exits.
func TestDemoRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the demo with a real redis-server")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("this test needs redis-server on PATH (Debian: apt-get install redis-server)")
	}
	cmd := exec.Command(binary, "-demo", "-demo-redis")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-exited
		}
	}()
	db := readDemoBanner(pipe)
	open, password, redisPID := db.open, db.password, db.redisPID
	go io.Copy(io.Discard, pipe)
	if open == "" || password == "" || redisPID == 0 {
		t.Fatalf("demo banner lacks the URL, alice's password or the redis-server PID:\n%s", db.text)
	}
	u, _ := url.Parse(open)
	base := u.Scheme + "://" + u.Host

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 15 * time.Second}
	resp, err := c.Get(open) // /rezi -> sign-in -> the provider's login form
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = c.PostForm(resp.Request.URL.String(), url.Values{"login": {"alice@example.com"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "_rezigate" {
			session = ck
		}
	}
	if resp.StatusCode != http.StatusOK || session == nil {
		t.Fatalf("sign-in ended at %d %s with session cookie %v", resp.StatusCode, resp.Request.URL, session)
	}
	resp, err = c.PostForm(base+"/oauth2/sign_out", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `<p id="revoked">`) {
		t.Errorf("signed-out page does not say the session was ended for good:\n%s", body)
	}
	noJar := &http.Client{Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", base+"/oauth2/userinfo", nil)
	req.AddCookie(session)
	resp, err = noJar.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("replayed cookie after sign-out: /oauth2/userinfo = %d; want 401", resp.StatusCode)
	}

	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-exited
	stopped = true
	if err := syscall.Kill(redisPID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("redis-server PID %d after the demo exited: kill -0 = %v; want no such process", redisPID, err)
	}
}
