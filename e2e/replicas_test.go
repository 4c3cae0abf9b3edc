//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/internal/testsupport/lockedbuf"
	"gopkg.in/yaml.v3"
)

// redisBinary is redis-server from PATH (Debian's package, which
// install.sh installs).
func redisBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found in PATH: run e2e/install.sh first")
	}
	return p
}

// redisServer is a redis-server the test started on loopback, with a
// password and no persistence.
type redisServer struct {
	Port     int
	Password string
	proc     *process
}

// URL is the redis:// URL rezigate reads from REZIGATE_REDIS_URL.
func (r *redisServer) URL() string {
	return fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", r.Password, r.Port)
}

// startRedis runs redis-server on 127.0.0.1:port with password and
// nothing on disk, and waits until it answers PING after AUTH. The
// password is in a 0600 config file, not on the command line.
func startRedis(t *testing.T, port int, password string) *redisServer {
	t.Helper()
	bin := redisBinary(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "redis.conf")
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode yes\nrequirepass %s\nsave \"\"\nappendonly no\ndaemonize no\ndir %s\nmaxmemory-policy noeviction\n",
		port, password, dir)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatalf("redis.conf: %v", err)
	}
	r := &redisServer{Port: port, Password: password}
	r.proc = startProcess(t, "redis-server", bin, []string{conf}, baseEnv())
	deadline := time.Now().Add(10 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		if done, err := r.proc.exited(); done {
			t.Fatalf("redis-server exited before it answered: %v", err)
		}
		if last = redisPing(port, password); last == nil {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("redis-server on port %d did not answer PING within 10s: %v", port, last)
	return nil
}

// kill ends redis-server at once with SIGKILL, as a crash would, and waits
// for it to be gone.
func (r *redisServer) kill(t *testing.T) {
	t.Helper()
	if err := r.proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill redis-server PID %d: %v", r.proc.cmd.Process.Pid, err)
	}
	select {
	case <-r.proc.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("redis-server PID %d still runs 10s after SIGKILL", r.proc.cmd.Process.Pid)
	}
}

// redisPing sends AUTH and PING in RESP and expects +OK and +PONG.
func redisPing(port int, password string) error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	cmd := fmt.Sprintf("*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n", len(password), password)
	if _, err := io.WriteString(c, cmd); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	for _, want := range []string{"+OK", "+PONG"} {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if got := strings.TrimRight(line, "\r\n"); got != want {
			return fmt.Errorf("redis answered %q; want %q", got, want)
		}
	}
	return nil
}

// balancerConf is nginx as a plain round-robin load balancer in front of
// the rezigate replicas. Every answer names the replica that gave it, and
// a request is never retried on the other replica, so each answer is one
// replica's.
var balancerConf = template.Must(template.New("balancer.conf").Parse(`# written by TestReplicasWithRedis
daemon off;
master_process off;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log info;

events {
    worker_connections 64;
}

http {
    access_log {{.Dir}}/access.log;
    client_body_temp_path {{.Dir}}/client_body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;

    upstream rezigate {
{{- range .Replicas}}
        server {{.}};
{{- end}}
    }

    server {
        listen {{.Listen}};

        location = /nginx-health {
            return 204;
        }

        location / {
            proxy_pass http://rezigate;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream off;
            add_header X-Upstream $upstream_addr always;
        }
    }
}
`))

// replicaSet is the deployment under test: replicas sharing secrets and
// one Redis, behind nginx.
type replicaSet struct {
	Edge      string   // nginx's URL: every replica's public_url
	Replicas  []string // each replica's own base URL
	procs     []*process
	config    string // a replica's config file, for rezigate revoke
	env       []string
	provider  *demo.Provider
	parts     *demoParts
	passwords map[string]string // by email
	subjects  map[string]string // by email
}

const replicaCookie = "_rezigate"

// startReplicaSet starts n rezigate replicas with session.store redis at
// redisURL (REZIGATE_REDIS_URL: one server, Sentinel or Cluster), the
// demo provider (as the OpenID provider, so it can send back-channel
// logouts), the Rezi stand-in and RMS, and nginx balancing over them.
func startReplicaSet(t *testing.T, redisURL string, users []string, n int) *replicaSet {
	t.Helper()
	nginx := nginxBinary(t)
	bin := rezigateBinary(t)
	ports := freePorts(t, n+1)
	edgePort := ports[0]
	rs := &replicaSet{
		Edge:      fmt.Sprintf("http://127.0.0.1:%d", edgePort),
		passwords: map[string]string{},
		subjects:  map[string]string{},
	}

	clientSecret := "replicas-" + randomHex(t, 16)
	provSrv := httptest.NewUnstartedServer(nil)
	t.Cleanup(provSrv.Close)
	var demoUsers []demo.User
	for _, email := range users {
		local, _, _ := strings.Cut(email, "@")
		rs.passwords[email] = local + "-" + randomHex(t, 8)
		rs.subjects[email] = "replicas-" + local
		demoUsers = append(demoUsers, demo.User{Email: email, Password: rs.passwords[email], Subject: rs.subjects[email], Name: local, EmailVerified: true})
	}
	provider, err := demo.NewProvider(demo.ProviderOptions{
		Issuer:       "http://" + provSrv.Listener.Addr().String(),
		ClientID:     "rezigate",
		ClientSecret: clientSecret,
		RedirectURIs: []string{rs.Edge + "/oauth2/callback"},
		Users:        demoUsers,
		Logger:       slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatalf("demo.NewProvider: %v", err)
	}
	provSrv.Config.Handler = provider
	provSrv.Start()
	rs.provider = provider
	rs.parts = startDemoParts(t)

	rs.env = append(baseEnv(),
		"REZIGATE_OIDC_CLIENT_SECRET="+clientSecret,
		"REZIGATE_SESSION_SECRETS="+randomHex(t, 32)+","+randomHex(t, 32),
		"REZIGATE_IDENTITY_UID_SECRET="+randomHex(t, 32),
		"REZIGATE_REZI_PRIVATE_KEY="+rs.parts.PrivateKey,
		"REZIGATE_REDIS_URL="+redisURL,
	)
	dir := t.TempDir()
	for i := range n {
		listen := "127.0.0.1:" + strconv.Itoa(ports[i+1])
		cfg := map[string]any{
			"listen":           listen,
			"public_url":       rs.Edge,
			"upstream":         rs.parts.RMSURL,
			"shutdown_timeout": "2s",
			"oidc": map[string]any{
				"issuer_url":             provider.Issuer(),
				"client_id":              "rezigate",
				"scopes":                 []string{"openid", "email", "profile"},
				"allowed_email_domains":  []string{"example.com"},
				"require_email_verified": true,
			},
			"session": map[string]any{
				"cookie_name": replicaCookie,
				"max_age":     "1h",
				"secure":      false, // plain http on loopback
				"store":       "redis",
			},
			"rezi": map[string]any{
				"api_url":   rs.parts.ReziURL + "/v1",
				"login_url": rs.parts.RMSURL + "/login/",
				"timeout":   "10s",
			},
		}
		data, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("rezigate config: %v", err)
		}
		path := filepath.Join(dir, fmt.Sprintf("rezigate-%d.yaml", i+1))
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatalf("rezigate config: %v", err)
		}
		if i == 0 {
			rs.config = path
		}
		p := startProcess(t, fmt.Sprintf("rezigate-%d", i+1), bin, []string{"-config", path}, rs.env)
		rs.procs = append(rs.procs, p)
		rs.Replicas = append(rs.Replicas, "http://"+listen)
	}
	for i, base := range rs.Replicas {
		waitHTTP(t, rs.procs[i], base+"/readyz", http.StatusOK, 20*time.Second)
	}

	ndir := t.TempDir()
	conf := filepath.Join(ndir, "nginx.conf")
	f, err := os.Create(conf)
	if err != nil {
		t.Fatalf("nginx.conf: %v", err)
	}
	var upstreams []string
	for _, base := range rs.Replicas {
		upstreams = append(upstreams, strings.TrimPrefix(base, "http://"))
	}
	err = balancerConf.Execute(f, map[string]any{
		"Dir":      ndir,
		"Listen":   fmt.Sprintf("127.0.0.1:%d", edgePort),
		"Replicas": upstreams,
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("nginx.conf: %v", err)
	}
	proc := startProcess(t, "nginx", nginx, []string{"-p", ndir, "-c", conf, "-e", filepath.Join(ndir, "error.log")}, baseEnv())
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range []string{"error.log", "access.log"} {
				b, _ := os.ReadFile(filepath.Join(ndir, name))
				t.Logf("---- nginx %s ----\n%s", name, b)
			}
		}
	})
	waitHTTP(t, proc, rs.Edge+"/nginx-health", http.StatusNoContent, 10*time.Second)
	return rs
}

// browser is one person's browser: a cookie jar, following redirects.
type browser struct {
	name   string
	client *http.Client
}

func newBrowser(t *testing.T, name string) *browser {
	t.Helper()
	return &browser{name: name, client: newJarClient(t, 20*time.Second)}
}

// signIn goes through the balancer to the demo provider's login form,
// submits it and ends on the RMS's /headers page through rezigate. It
// returns the session cookie's value.
func (rs *replicaSet) signIn(t *testing.T, b *browser, email string) string {
	t.Helper()
	start := rs.Edge + "/oauth2/start?rd=%2Fheaders"
	resp, err := b.client.Get(start)
	if err != nil {
		t.Fatalf("%s: GET %s: %v", b.name, start, err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
		t.Fatalf("%s: GET %s ended at %s (%s) without the provider's login form:\n%s", b.name, start, resp.Request.URL, resp.Status, body)
	}
	authURL := resp.Request.URL.String()
	resp, err = b.client.PostForm(authURL, url.Values{"login": {email}, "password": {rs.passwords[email]}})
	if err != nil {
		t.Fatalf("%s: POST the login form as %s: %v", b.name, email, err)
	}
	body = readBody(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != rs.Edge+"/headers" {
		t.Fatalf("%s: sign-in as %s ended at %s with %s; want %s/headers with 200\n%s", b.name, email, resp.Request.URL, resp.Status, rs.Edge, body)
	}
	v := b.cookie(t, rs.Edge)
	if v == "" {
		t.Fatalf("%s: signed in as %s, but the jar holds no %s cookie", b.name, email, replicaCookie)
	}
	return v
}

// cookie is the session cookie the browser holds for base, or "".
func (b *browser) cookie(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == replicaCookie {
			return c.Value
		}
	}
	return ""
}

// answer is one response as the test saw it, body read.
type answer struct {
	status   int
	header   http.Header
	body     string
	upstream string // X-Upstream, set by nginx
}

// plain has no jar and follows no redirect: each response as sent.
var plain = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// call sends one request with the given session cookie ("" for none). An
// accept of "" is an API client's application/json.
func call(t *testing.T, method, target, cookie, accept string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	if cookie != "" {
		req.Header.Set("Cookie", replicaCookie+"="+cookie)
	}
	resp, err := plain.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: readBody(t, resp), upstream: resp.Header.Get("X-Upstream")}
}

// userinfo asks base's /oauth2/userinfo with the cookie and returns the
// answer and, on 200, the uid.
func userinfo(t *testing.T, base, cookie string) (answer, string) {
	t.Helper()
	a := call(t, http.MethodGet, base+"/oauth2/userinfo", cookie, "")
	var uid string
	if a.status == http.StatusOK {
		var v struct {
			Email string `json:"email"`
			UID   string `json:"uid"`
		}
		if err := json.Unmarshal([]byte(a.body), &v); err != nil {
			t.Fatalf("GET %s/oauth2/userinfo: %v\n%s", base, err, a.body)
		}
		uid = v.UID
	}
	return a, uid
}

// signedInEverywhere checks the cookie is a live session on every replica,
// asked directly: /oauth2/userinfo names email, and a proxied API request
// reaches the RMS with the identity headers.
func (rs *replicaSet) signedInEverywhere(t *testing.T, who, cookie, email string) string {
	t.Helper()
	var uid string
	for _, base := range rs.Replicas {
		a, got := userinfo(t, base, cookie)
		if a.status != http.StatusOK || !strings.Contains(a.body, email) {
			t.Errorf("%s: GET %s/oauth2/userinfo = %d %s; want 200 naming %s", who, base, a.status, a.body, email)
			continue
		}
		if uid != "" && got != uid {
			t.Errorf("%s: replicas disagree on the uid: %q and %q", who, uid, got)
		}
		uid = got
		p := call(t, http.MethodGet, base+"/headers", cookie, "")
		if p.status != http.StatusOK {
			t.Errorf("%s: GET %s/headers = %d; want 200\n%s", who, base, p.status, p.body)
			continue
		}
		checkIdentityHeaders(t, p.body, email, uid)
	}
	return uid
}

// signedOutEverywhere checks the cookie is no session on any replica: an
// API request answers 401, asked directly of each replica (right away, and
// polled for up to a second, since another replica learns of a deletion
// by an invalidation Redis pushes).
func (rs *replicaSet) signedOutEverywhere(t *testing.T, who, cookie string) {
	t.Helper()
	for _, base := range rs.Replicas {
		deadline := time.Now().Add(time.Second)
		var a answer
		for {
			a = call(t, http.MethodGet, base+"/headers", cookie, "")
			if a.status == http.StatusUnauthorized || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if a.status != http.StatusUnauthorized {
			t.Errorf("%s: GET %s/headers with the old cookie = %d; want 401 within 1s\n%s", who, base, a.status, a.body)
		}
		if u, _ := userinfo(t, base, cookie); u.status != http.StatusUnauthorized {
			t.Errorf("%s: GET %s/oauth2/userinfo with the old cookie = %d; want 401", who, base, u.status)
		}
	}
}

// TestReplicasWithRedis runs two rezigate replicas with session.store:
// redis behind nginx as a round-robin load balancer, one real
// redis-server, and the demo provider and Rezi stand-in: a session works
// on every replica, the Rezi token is fetched once for both, and every
// way of ending a session (sign-out, sign-out everywhere, back-channel
// logout, rezigate revoke) ends it on every replica at once. Then Redis
// dies: rezigate fails closed with 503 and keeps the cookie, /readyz says
// 503 and /healthz 200; when Redis is back (empty), /readyz recovers by
// itself and a fresh sign-in works.
func TestReplicasWithRedis(t *testing.T) {
	const (
		alice = "alice@example.com" // sign-out
		bob   = "bob@example.com"   // sign-out everywhere
		carol = "carol@example.com" // back-channel logout
		dave  = "dave@example.com"  // rezigate revoke
		erin  = "erin@example.com"  // a bystander no offboarding may touch
	)
	redisPort := freePorts(t, 1)[0]
	redisPassword := randomHex(t, 24)
	redis := startRedis(t, redisPort, redisPassword)
	rs := startReplicaSet(t, redis.URL(), []string{alice, bob, carol, dave, erin}, 2)

	erinB := newBrowser(t, "erin")
	erinCookie := rs.signIn(t, erinB, erin)
	rs.signedInEverywhere(t, "erin", erinCookie, erin)
	bystander := func(t *testing.T) {
		t.Helper()
		rs.signedInEverywhere(t, "erin (bystander)", erinCookie, erin)
	}

	aliceB := newBrowser(t, "alice")
	var aliceCookie, aliceUID string
	ok := t.Run("sign in through the balancer, session on both replicas", func(t *testing.T) {
		aliceCookie = rs.signIn(t, aliceB, alice)
		aliceUID = rs.signedInEverywhere(t, "alice", aliceCookie, alice)
		// Through the balancer: round robin must reach both replicas,
		// each answering for the same session.
		seen := map[string]bool{}
		for i := 0; i < 8 && len(seen) < len(rs.Replicas); i++ {
			resp, err := aliceB.client.Get(rs.Edge + "/headers")
			if err != nil {
				t.Fatalf("GET %s/headers: %v", rs.Edge, err)
			}
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s/headers through the balancer = %s; want 200\n%s", rs.Edge, resp.Status, body)
			}
			checkIdentityHeaders(t, body, alice, aliceUID)
			seen[resp.Header.Get("X-Upstream")] = true
		}
		for _, base := range rs.Replicas {
			if !seen[strings.TrimPrefix(base, "http://")] {
				t.Errorf("the balancer never sent alice to %s (answers came from %v)", base, seen)
			}
		}
	})
	if !ok {
		t.FailNow()
	}

	t.Run("one Rezi call for /rezi on two replicas", func(t *testing.T) {
		before := rs.parts.Rezi.Calls()
		var tokens []string
		for _, base := range rs.Replicas {
			a := call(t, http.MethodGet, base+"/rezi", aliceCookie, "text/html")
			loc := a.header.Get("Location")
			if a.status != http.StatusFound || !strings.HasPrefix(loc, rs.parts.RMSURL+"/login/") {
				t.Fatalf("GET %s/rezi = %d, Location %q; want 302 to the RMS login\n%s", base, a.status, loc, a.body)
			}
			u, err := url.Parse(loc)
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, u.Query().Get("token"))
		}
		if got := rs.parts.Rezi.Calls() - before; got != 1 {
			t.Errorf("Rezi token calls for /rezi on %d replicas = %d; want 1 (the token cache is shared through Redis)", len(rs.Replicas), got)
		}
		if tokens[0] == "" || tokens[0] != tokens[1] {
			t.Errorf("the replicas handed off different tokens (%.12q…, %.12q…); want the one cached token", tokens[0], tokens[1])
		}
		if email, uid, err := reziTokenClaims(tokens[0]); err != nil || email != alice || uid != aliceUID {
			t.Errorf("Rezi token names %q, %q (%v); want %q, %q", email, uid, err, alice, aliceUID)
		}
	})

	t.Run("sign-out ends the session on every replica", func(t *testing.T) {
		resp, err := aliceB.client.Get(rs.Edge + "/oauth2/sign_out")
		if err != nil {
			t.Fatalf("GET /oauth2/sign_out: %v", err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/oauth2/signed_out" {
			t.Fatalf("sign-out ended at %s with %s; want the signed-out page\n%s", resp.Request.URL, resp.Status, body)
		}
		if !strings.Contains(body, `<p id="revoked">`) {
			t.Errorf("the signed-out page does not say the session was ended for good:\n%s", body)
		}
		if v := aliceB.cookie(t, rs.Edge); v != "" {
			t.Errorf("the browser still holds a session cookie after sign-out")
		}
		rs.signedOutEverywhere(t, "alice", aliceCookie)
		bystander(t)
	})

	t.Run("sign out everywhere ends the user's other browsers", func(t *testing.T) {
		b1, b2 := newBrowser(t, "bob-1"), newBrowser(t, "bob-2")
		c1 := rs.signIn(t, b1, bob)
		c2 := rs.signIn(t, b2, bob)
		rs.signedInEverywhere(t, "bob-1", c1, bob)
		rs.signedInEverywhere(t, "bob-2", c2, bob)

		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, rs.Edge+"/oauth2/sign_out",
			strings.NewReader(url.Values{"everywhere": {"true"}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", rs.Edge)
		req.Header.Set("Accept", "text/html")
		resp, err := b1.client.Do(req)
		if err != nil {
			t.Fatalf("POST /oauth2/sign_out everywhere=true: %v", err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/oauth2/signed_out" {
			t.Fatalf("sign-out everywhere ended at %s with %s; want the signed-out page\n%s", resp.Request.URL, resp.Status, body)
		}
		rs.signedOutEverywhere(t, "bob-1", c1)
		rs.signedOutEverywhere(t, "bob-2 (the other browser)", c2)
		bystander(t)
	})

	t.Run("back-channel logout from the provider", func(t *testing.T) {
		// Two provider sessions of carol: a logout token naming the first
		// one's sid ends only that one; a token naming her subject ends
		// the rest. A replayed token is refused.
		b1, b2 := newBrowser(t, "carol-1"), newBrowser(t, "carol-2")
		c1 := rs.signIn(t, b1, carol)
		sid1 := rs.provider.SID(carol)
		c2 := rs.signIn(t, b2, carol)
		if sid1 == "" || sid1 == rs.provider.SID(carol) {
			t.Fatalf("the demo provider gave carol's sign-ins sids %q and %q; want two different ones", sid1, rs.provider.SID(carol))
		}
		rs.signedInEverywhere(t, "carol-1", c1, carol)
		rs.signedInEverywhere(t, "carol-2", c2, carol)
		ctx, cancel := withTimeout(t, 20*time.Second)
		defer cancel()
		target := rs.Edge + "/oauth2/backchannel_logout"
		jti := "e2e-" + randomHex(t, 12)
		status, err := rs.provider.SendBackchannelLogout(ctx, plain, target, demo.LogoutToken{SID: sid1, JTI: jti})
		if err != nil || status != http.StatusOK {
			t.Fatalf("back-channel logout for sid of carol-1 = %d, %v; want 200", status, err)
		}
		rs.signedOutEverywhere(t, "carol-1", c1)
		rs.signedInEverywhere(t, "carol-2 (another provider session)", c2, carol)
		// The same token again, through the balancer to either replica.
		for range rs.Replicas {
			status, err = rs.provider.SendBackchannelLogout(ctx, plain, target, demo.LogoutToken{SID: sid1, JTI: jti})
			if err != nil || status != http.StatusBadRequest {
				t.Errorf("replayed logout token = %d, %v; want 400", status, err)
			}
		}
		status, err = rs.provider.SendBackchannelLogout(ctx, plain, target, demo.LogoutToken{Subject: rs.subjects[carol]})
		if err != nil || status != http.StatusOK {
			t.Fatalf("back-channel logout for carol's subject = %d, %v; want 200", status, err)
		}
		rs.signedOutEverywhere(t, "carol-2", c2)
		bystander(t)
	})

	t.Run("rezigate revoke -uid", func(t *testing.T) {
		b1, b2 := newBrowser(t, "dave-1"), newBrowser(t, "dave-2")
		c1 := rs.signIn(t, b1, dave)
		c2 := rs.signIn(t, b2, dave)
		uid := rs.signedInEverywhere(t, "dave-1", c1, dave)
		rs.signedInEverywhere(t, "dave-2", c2, dave)
		if uid == "" {
			t.Fatal("no uid for dave")
		}
		ctx, cancel := withTimeout(t, 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, rezigateBinary(t), "revoke", "-config", rs.config, "-uid", uid)
		cmd.Env = rs.env
		var stdout, stderr lockedbuf.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil {
			t.Fatalf("rezigate revoke -uid %s: %v\nstdout: %s\nstderr: %s", uid, err, stdout.String(), stderr.String())
		}
		if got, want := strings.TrimSpace(stdout.String()), "revoked 2 sessions"; got != want {
			t.Errorf("rezigate revoke stdout = %q; want %q (stderr: %s)", got, want, stderr.String())
		}
		if strings.Contains(stdout.String()+stderr.String(), rs.passwordOfRedis()) {
			t.Errorf("rezigate revoke printed the Redis password")
		}
		rs.signedOutEverywhere(t, "dave-1", c1)
		rs.signedOutEverywhere(t, "dave-2", c2)
		bystander(t)
	})

	// Every replica has read erin's session, so it sits in their local
	// caches: a dead Redis must not be papered over with them.
	bystander(t)
	ok = t.Run("Redis down: 503, cookie kept, not ready but alive", func(t *testing.T) {
		redis.kill(t)
		killed := time.Now()
		// Both replicas must notice within a few seconds of the kill,
		// whether or not they hold the session in their local cache.
		deadline := killed.Add(3 * time.Second)
		for _, base := range rs.Replicas {
			var a answer
			for {
				a = call(t, http.MethodGet, base+"/headers", erinCookie, "")
				if a.status == http.StatusServiceUnavailable || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if a.status != http.StatusServiceUnavailable {
				t.Errorf("GET %s/headers (signed in) after Redis died = %d; want 503 within 3s\n%s", base, a.status, a.body)
			} else {
				t.Logf("%s answered 503 %v after Redis died", base, time.Since(killed).Round(time.Millisecond))
			}
		}
		for _, base := range rs.Replicas {
			checks := []struct {
				name, path, accept string
				want               int
			}{
				{"signed-in API request", "/headers", "", http.StatusServiceUnavailable},
				{"signed-in page", "/", "text/html", http.StatusServiceUnavailable},
				{"/rezi", "/rezi", "text/html", http.StatusServiceUnavailable},
				{"/oauth2/userinfo", "/oauth2/userinfo", "", http.StatusServiceUnavailable},
				{"sign-in", "/oauth2/start?rd=%2F", "text/html", http.StatusServiceUnavailable},
				{"/readyz", "/readyz", "", http.StatusServiceUnavailable},
				{"/healthz", "/healthz", "", http.StatusOK},
			}
			for _, c := range checks {
				a := call(t, http.MethodGet, base+c.path, erinCookie, c.accept)
				if a.status != c.want {
					t.Errorf("%s: GET %s%s = %d; want %d\n%s", c.name, base, c.path, a.status, c.want, a.body)
				}
				for _, sc := range a.header.Values("Set-Cookie") {
					if strings.HasPrefix(sc, replicaCookie+"=") {
						t.Errorf("%s: GET %s%s touched the session cookie while Redis was down: Set-Cookie %q", c.name, base, c.path, sc)
					}
				}
				if strings.Contains(a.body, redisPassword) {
					t.Errorf("%s: GET %s%s shows the Redis password", c.name, base, c.path)
				}
			}
		}
		// Through the balancer too.
		if a := call(t, http.MethodGet, rs.Edge+"/headers", erinCookie, ""); a.status != http.StatusServiceUnavailable {
			t.Errorf("GET %s/headers through the balancer = %d; want 503", rs.Edge, a.status)
		}
		if v := erinB.cookie(t, rs.Edge); v != erinCookie {
			t.Errorf("the browser's session cookie changed while Redis was down")
		}
	})
	if !ok {
		t.FailNow()
	}

	t.Run("Redis back: ready again by itself, fresh sign-in works", func(t *testing.T) {
		startRedis(t, redisPort, redisPassword)
		for i, base := range rs.Replicas {
			waitHTTP(t, rs.procs[i], base+"/readyz", http.StatusOK, 20*time.Second)
		}
		// The restarted Redis keeps nothing on disk: the old session is
		// gone, which is "signed out", not "unavailable".
		for _, base := range rs.Replicas {
			deadline := time.Now().Add(5 * time.Second)
			var a answer
			for {
				a = call(t, http.MethodGet, base+"/headers", erinCookie, "")
				if a.status == http.StatusUnauthorized || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if a.status != http.StatusUnauthorized {
				t.Errorf("GET %s/headers with a session the empty Redis lost = %d; want 401\n%s", base, a.status, a.body)
			}
		}
		b := newBrowser(t, "erin-again")
		c := rs.signIn(t, b, erin)
		rs.signedInEverywhere(t, "erin (after the restart)", c, erin)
	})
}

// passwordOfRedis is the Redis password from the replicas' environment.
func (rs *replicaSet) passwordOfRedis() string {
	for _, kv := range rs.env {
		if v, ok := strings.CutPrefix(kv, "REZIGATE_REDIS_URL="); ok {
			if u, err := url.Parse(v); err == nil {
				if p, ok := u.User.Password(); ok {
					return p
				}
			}
		}
	}
	return "\x00no password\x00"
}
