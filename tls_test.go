package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"

	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"os"
	"path/filepath"

	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/testsupport/testca"
	"github.com/rezigate/rezigate/internal/testsupport/wsframe"
)

// tlsGateway is a rezigate process serving HTTPS with a certificate from
// files, and what a test needs to talk to it.
type tlsGateway struct {
	*proc
	ca                *testca.CA
	certFile, keyFile string
	redirect          string // the redirect listener's address, if any
}

// startTLSGateway starts rezigate on https://addr with a certificate of
// serial 1 from a CA made here, in front of upstream, signing in through
// the demo provider; extra is appended to the file.
func startTLSGateway(t *testing.T, upstream, extra string) *tlsGateway {
	t.Helper()
	g := &tlsGateway{ca: testca.New(t, "edge CA")}
	dir := t.TempDir()
	g.certFile, g.keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	g.ca.Server(t, 1).Write(t, g.certFile, g.keyFile)
	addr := freeAddr(t)
	issuer := startDemoProvider(t, "https://"+addr+"/oauth2/callback")
	extra = fmt.Sprintf("tls:\n  cert_file: %q\n  key_file: %q\n", g.certFile, g.keyFile) + extra
	if strings.Contains(extra, "redirect_listen") {
		g.redirect = freeAddr(t)
		extra = strings.ReplaceAll(extra, "REDIRECT", g.redirect)
	}
	cfg := writeConfig(t, addr, issuer, upstream, extra)
	data := strings.Replace(mustRead(t, cfg), `public_url: "http://`, `public_url: "https://`, 1)
	data = strings.Replace(data, "  secure: false\n", "  secure: true\n", 1)
	if err := os.WriteFile(cfg, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	g.proc = startWith(t, cfg, addr, "https://", g.client(true))
	return g
}

// client returns a client trusting the gateway's CA, offering HTTP/2
// when h2 is true and only HTTP/1.1 otherwise, with a cookie jar.
func (g *tlsGateway) client(h2 bool) *http.Client {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: g.ca.Pool()}, ForceAttemptHTTP2: h2}
	return &http.Client{Transport: tr, Jar: jar, Timeout: 10 * time.Second}
}

// serial returns the serial of the certificate a new handshake gets.
func (g *tlsGateway) serial(t *testing.T) int64 {
	t.Helper()
	c, err := tls.Dial("tcp", g.addr, &tls.Config{RootCAs: g.ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return testca.Serial(c.ConnectionState())
}

// TestHTTPSEdge: with tls.cert_file, a signed-in browser reaches the
// upstream over HTTP/2 and over HTTP/1.1, a WebSocket client (ALPN
// http/1.1) upgrades through the gateway, TLS 1.1 is refused, and the
// redirect listener sends plain HTTP to the https public URL.
func TestHTTPSEdge(t *testing.T) {
	seen := make(chan http.Header, 4)
	echo := wsframe.Echo(seen)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/live":
			echo.ServeHTTP(w, r)
		case "/app":
			_ = json.NewEncoder(w).Encode(r.Header)
		}
	}))
	defer upstream.Close()
	g := startTLSGateway(t, upstream.URL, "  redirect_listen: \"REDIRECT\"\n")
	base := "https://" + g.addr
	signedIn := g.client(true)
	signIn(t, signedIn, base)
	u, _ := url.Parse(base)
	var cookies []string
	for _, ck := range signedIn.Jar.Cookies(u) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}

	for _, tc := range []struct {
		name      string
		h2        bool
		wantProto string
	}{{"HTTP/2", true, "h2"}, {"HTTP/1.1", false, ""}} {
		t.Run("signed in over "+tc.name, func(t *testing.T) {
			c := g.client(tc.h2)
			c.Jar = signedIn.Jar
			resp, err := c.Get(base + "/app")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var h http.Header
			if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
				t.Fatalf("GET /app = %s, body not the upstream's: %v", resp.Status, err)
			}
			if resp.TLS.NegotiatedProtocol != tc.wantProto || (tc.h2 != (resp.ProtoMajor == 2)) {
				t.Errorf("served over %s, ALPN %q; want ALPN %q", resp.Proto, resp.TLS.NegotiatedProtocol, tc.wantProto)
			}
			if g := h.Get("X-Forwarded-Email"); g != "alice@example.com" {
				t.Errorf("upstream X-Forwarded-Email = %q; want alice@example.com", g)
			}
			if g := h.Get("X-Forwarded-Proto"); g != "https" {
				t.Errorf("upstream X-Forwarded-Proto = %q; want https", g)
			}
			// The gateway's own pages keep their headers.
			resp, err = c.Get(base + "/oauth2/userinfo")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("/oauth2/userinfo = %s, Cache-Control %q; want 200, no-store", resp.Status, resp.Header.Get("Cache-Control"))
			}
		})
	}

	t.Run("WebSocket over TLS", func(t *testing.T) {
		conn, err := tls.Dial("tcp", g.addr, &tls.Config{RootCAs: g.ca.Pool(), NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if p := conn.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
			t.Fatalf("ALPN = %q; want http/1.1", p)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // a bound, not an ordering
		fmt.Fprintf(conn, "GET /live HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nCookie: %s\r\n\r\n", g.addr, wsframe.Key, strings.Join(cookies, "; "))
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != wsframe.Accept {
			t.Fatalf("handshake = %s; want 101 with the accept key", resp.Status)
		}
		if h := <-seen; h.Get("X-Forwarded-Email") != "alice@example.com" {
			t.Errorf("upstream X-Forwarded-Email = %q; want alice@example.com", h.Get("X-Forwarded-Email"))
		}
		if err := wsframe.WriteText(conn, []byte("hello"), true); err != nil {
			t.Fatal(err)
		}
		if msg, err := wsframe.ReadText(br); err != nil || string(msg) != "hello" {
			t.Errorf("echo = %q, %v; want \"hello\"", msg, err)
		}
	})

	t.Run("TLS 1.1 refused", func(t *testing.T) {
		c, err := tls.Dial("tcp", g.addr, &tls.Config{RootCAs: g.ca.Pool(), MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			c.Close()
			t.Fatal("a TLS 1.1 handshake succeeded; want it refused")
		}
		if !strings.Contains(err.Error(), "protocol version") {
			t.Errorf("TLS 1.1 handshake error = %v; want a protocol version alert", err)
		}
	})

	t.Run("redirect listener", func(t *testing.T) {
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
		for _, rc := range []struct {
			method, path string
			wantStatus   int
			wantLocation string
		}{
			{"GET", "/some/path?q=1&r=%2F", 308, base + "/some/path?q=1&r=%2F"},
			{"POST", "/form", 308, base + "/form"},
			{"GET", "/.well-known/acme-challenge/token", 404, ""},
		} {
			req, _ := http.NewRequest(rc.method, "http://"+g.redirect+rc.path, nil)
			req.Host = "evil.example"
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != rc.wantStatus || resp.Header.Get("Location") != rc.wantLocation {
				t.Errorf("%s %s = %d %q; want %d %q", rc.method, rc.path, resp.StatusCode, resp.Header.Get("Location"), rc.wantStatus, rc.wantLocation)
			}
		}
	})
}

// TestTLSRotation: the certificate files replaced in place reach new
// handshakes in the same process while a connection opened before keeps
// working; a broken new pair is logged, without the key, and the last
// good one kept.
func TestTLSRotation(t *testing.T) {
	g := startTLSGateway(t, "", "")
	pid := g.cmd.Process.Pid
	old := g.client(false)
	var reused bool
	get := func() int64 {
		t.Helper()
		req, _ := http.NewRequest("GET", "https://"+g.addr+"/healthz", nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}))
		resp, err := old.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return testca.Serial(*resp.TLS)
	}
	if s := get(); s != 1 {
		t.Fatalf("serial = %d; want 1", s)
	}
	// waitFor polls a condition for up to 10 s: the gateway looks at its
	// files at most once a second, on a handshake.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10 s", what)
			}
		}
	}

	g.ca.Server(t, 2).Write(t, g.certFile, g.keyFile)
	waitFor("new handshakes get serial 2", func() bool { return g.serial(t) == 2 })
	if s := get(); s != 1 || !reused {
		t.Errorf("the connection opened before the rotation: serial %d, reused %v; want 1 on the same connection", s, reused)
	}

	broken := g.ca.Server(t, 3)
	testca.WriteFile(t, g.keyFile, broken.KeyPEM) // the key of serial 3, the certificate still serial 2's: no pair
	waitFor("the broken pair logged", func() bool { g.serial(t); return strings.Contains(g.log(), "new certificate not loaded") })
	if s := g.serial(t); s != 2 {
		t.Errorf("after a broken rotation new handshakes get serial %d; want 2, the last good pair", s)
	}
	if strings.Contains(g.log(), "PRIVATE KEY") || strings.Contains(g.log(), string(broken.KeyPEM[40:80])) {
		t.Errorf("the log holds the key:\n%s", g.log())
	}
	select {
	case err := <-g.done:
		t.Fatalf("rezigate exited: %v", err)
	default:
	}
	if g.cmd.Process.Pid != pid {
		t.Fatal("not the same process")
	}
}

// TestUpstreamTLSThroughGateway: with upstream_tls, a signed-in request
// reaches an upstream that requires a client certificate, whose
// certificate chains to a private CA and names a host other than the
// upstream URL's; trusting the wrong CA gives the 502 page, no error text.
func TestUpstreamTLSThroughGateway(t *testing.T) {
	ca, wrong := testca.New(t, "upstream CA"), testca.New(t, "another CA")
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		testca.WriteFile(t, p, data)
		return p
	}
	client := ca.Client(t, 7, "rezigate")
	caFile, wrongFile := write("ca.pem", ca.PEM), write("wrong.pem", wrong.PEM)
	clientCert, clientKey := write("client.crt", client.CertPEM), write("client.key", client.KeyPEM)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "client %d sni %s email %s", testca.Serial(*r.TLS), r.TLS.ServerName, r.Header.Get("X-Forwarded-Email"))
	}))
	up.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Server(t, 1, "upstream.internal").TLS},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()}
	up.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	up.StartTLS()
	defer up.Close()

	tests := []struct {
		name       string
		caFile     string
		wantStatus int
		wantBody   string
	}{
		{"private CA and client certificate", caFile, 200, "client 7 sni upstream.internal email alice@example.com"},
		{"wrong CA", wrongFile, 502, "could not be reached"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := freeAddr(t)
			issuer := startDemoProvider(t, "http://"+addr+"/oauth2/callback")
			extra := fmt.Sprintf("upstream_tls:\n  ca_file: %q\n  client_cert_file: %q\n  client_key_file: %q\n  server_name: upstream.internal\n", tc.caFile, clientCert, clientKey)
			p := start(t, writeConfig(t, addr, issuer, up.URL, extra), addr)
			c := signedInClient(t, addr)
			resp, err := c.Get("http://" + addr + "/app")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantBody) {
				t.Fatalf("GET /app = %d %q; want %d with %q", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			for _, leak := range []string{"x509", "tls:", "authority"} {
				if strings.Contains(string(body), leak) {
					t.Errorf("the page holds error text %q: %s", leak, body)
				}
			}
			// The log is flushed every 100 ms: poll it, bounded.
			for deadline := time.Now().Add(10 * time.Second); tc.wantStatus == 502 && !strings.Contains(p.log(), "unknown authority"); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the log lacks the cause:\n%s", p.log())
				}
			}
		})
	}
}

// TestCheckTLS: -check names the key of a bad certificate or key file and
// never prints a key.
func TestCheckTLS(t *testing.T) {
	ca := testca.New(t, "edge CA")
	dir := t.TempDir()
	a, b := ca.Server(t, 1), ca.Server(t, 2)
	a.Write(t, filepath.Join(dir, "a.crt"), filepath.Join(dir, "a.key"))
	b.Write(t, filepath.Join(dir, "b.crt"), filepath.Join(dir, "b.key"))
	tests := []struct {
		name     string
		extra    string
		wantCode int
		want     string
	}{
		{"good pair", "tls:\n  cert_file: %[1]s/a.crt\n  key_file: %[1]s/a.key\n", 0, "cert_file: " + dir + "/a.crt"},
		{"key of another certificate", "tls:\n  cert_file: %[1]s/a.crt\n  key_file: %[1]s/b.key\n", 1, "tls.key_file: " + dir + "/b.key: tls: private key does not match public key"},
		{"missing certificate", "tls:\n  cert_file: %[1]s/none.crt\n  key_file: %[1]s/a.key\n", 1, "tls.cert_file: cannot read " + dir + "/none.crt"},
		{"client key of another certificate", "upstream_tls:\n  client_cert_file: %[1]s/a.crt\n  client_key_file: %[1]s/b.key\n", 1, "upstream_tls.client_key_file: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, "127.0.0.1:4180", "https://login.example.com", "https://app.example.com", fmt.Sprintf(tc.extra, dir))
			code, out := runCheck(t, cfg, secretEnv())
			if code != tc.wantCode || !strings.Contains(out, tc.want) {
				t.Errorf("-check = %d:\n%s\nwant %d and %q", code, out, tc.wantCode, tc.want)
			}
			for _, k := range [][]byte{a.KeyPEM, b.KeyPEM} {
				if strings.Contains(out, string(k[30:70])) || strings.Contains(out, "PRIVATE KEY") {
					t.Errorf("-check prints a key:\n%s", out)
				}
			}
		})
	}
}
