//go:build e2e

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rezigate/rezigate/internal/demo"
)

// pebbleVersion is the Pebble that install.sh builds.
const pebbleVersion = "v2.10.3"

// pebbleBinary returns Pebble: $REZIGATE_E2E_PEBBLE, else where
// install.sh caches it. Its certs/ directory is beside it.
func pebbleBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("REZIGATE_E2E_PEBBLE"); p != "" {
		return requireFile(t, "pebble (REZIGATE_E2E_PEBBLE)", p)
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatalf("pebble: no home directory to find its cache in (%v): set REZIGATE_E2E_PEBBLE or run e2e/install.sh", err)
		}
		cache = filepath.Join(home, ".cache")
	}
	return requireFile(t, "pebble", filepath.Join(cache, "rezigate-e2e", "pebble-"+pebbleVersion, "pebble"))
}

// pebble is a running Pebble ACME CA on loopback.
type pebble struct {
	Directory string // the ACME directory URL
	CAFile    string // the root of Pebble's own HTTPS (pebble.minica.pem)
	mgmt      string // management API base URL
	proc      *process
}

// startPebble runs Pebble on loopback with real validation
// (PEBBLE_VA_ALWAYS_VALID=0): its VA connects to port tlsPort (TLS-ALPN-01)
// and httpPort (HTTP-01) of the address the name resolves to.
func startPebble(t *testing.T, httpPort, tlsPort int) *pebble {
	t.Helper()
	bin := pebbleBinary(t)
	certs := filepath.Join(filepath.Dir(bin), "certs")
	ports := freePorts(t, 2)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":           "127.0.0.1:" + strconv.Itoa(ports[0]),
		"managementListenAddress": "127.0.0.1:" + strconv.Itoa(ports[1]),
		"certificate":             filepath.Join(certs, "cert.pem"),
		"privateKey":              filepath.Join(certs, "key.pem"),
		"httpPort":                httpPort,
		"tlsPort":                 tlsPort,
		"ocspResponderURL":        "",
		"keyAlgorithm":            "ecdsa",
		"profiles":                map[string]any{"default": map[string]any{"description": "e2e", "validityPeriod": 7776000}},
	}}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pebble.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(baseEnv(), "PEBBLE_VA_ALWAYS_VALID=0", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	p := &pebble{
		Directory: fmt.Sprintf("https://localhost:%d/dir", ports[0]),
		CAFile:    filepath.Join(certs, "pebble.minica.pem"),
		mgmt:      fmt.Sprintf("https://localhost:%d", ports[1]),
	}
	p.proc = startProcess(t, "pebble", bin, []string{"-config", path, "-strict=false"}, env)
	c := p.client(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if done, err := p.proc.exited(); done {
			t.Fatalf("pebble exited: %v", err)
		}
		resp, err := c.Get(p.Directory)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble's directory did not answer within 20s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// client trusts Pebble's own HTTPS certificate.
func (p *pebble) client(t *testing.T) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(p.CAFile)
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("pebble CA file %s: %v", p.CAFile, err)
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// root returns the root that signs the certificates Pebble issues: made
// afresh at each start, from its management API.
func (p *pebble) root(t *testing.T) *x509.CertPool {
	t.Helper()
	resp, err := p.client(t).Get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatalf("pebble root: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if resp.StatusCode != http.StatusOK || !pool.AppendCertsFromPEM(body) {
		t.Fatalf("pebble root: %s %q", resp.Status, body)
	}
	return pool
}

// issued counts the certificates Pebble has issued, from its log.
func (p *pebble) issued() int { return strings.Count(p.proc.out.String(), "Issued certificate serial") }

// startACMEParts starts what an ACME journey's rezigate talks to (the
// provider, the Rezi stand-in and the RMS) and returns them with the
// environment holding rezigate's secrets for them.
func startACMEParts(t *testing.T, publicURL string) (*demo.Provider, *demoParts, []string) {
	t.Helper()
	provider, clientSecret := startACMEProvider(t, publicURL)
	parts := startDemoParts(t)
	env := append(baseEnv(),
		"REZIGATE_OIDC_CLIENT_SECRET="+clientSecret,
		"REZIGATE_SESSION_SECRETS="+randomHex(t, 32),
		"REZIGATE_IDENTITY_UID_SECRET="+randomHex(t, 32),
		"REZIGATE_REZI_PRIVATE_KEY="+parts.PrivateKey,
	)
	return provider, parts, env
}

// startACMEProvider runs the demo OpenID provider for a rezigate at
// publicURL and returns it with its client secret.
func startACMEProvider(t *testing.T, publicURL string) (*demo.Provider, string) {
	t.Helper()
	provSrv := httptest.NewUnstartedServer(nil)
	t.Cleanup(provSrv.Close)
	clientSecret := "acme-" + randomHex(t, 16)
	provider, err := demo.NewProvider(demo.ProviderOptions{
		Issuer: "http://" + provSrv.Listener.Addr().String(), ClientID: "rezigate", ClientSecret: clientSecret,
		RedirectURIs: []string{publicURL + "/oauth2/callback"},
		Users:        []demo.User{{Email: "ann@example.com", Password: randomHex(t, 8), Subject: "ann", Name: "ann", EmailVerified: true}},
		Logger:       slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatalf("demo.NewProvider: %v", err)
	}
	provSrv.Config.Handler = provider
	provSrv.Start()
	return provider, clientSecret
}

// TestACMEWithPebble: two replicas sharing one Redis (session.store
// redis) start with tls.acme for "localhost" from Pebble, which checks
// control of the name for real: its VA reaches replica 1's listen port
// (TLS-ALPN-01), whichever replica placed the order, as the challenge is
// shared through Redis. Both replicas then serve HTTPS (HTTP/2) with a
// certificate that verifies against Pebble's root, and Pebble issued one
// certificate between them.
func TestACMEWithPebble(t *testing.T) {
	bin := rezigateBinary(t)
	ports := freePorts(t, 4)
	redis := startRedis(t, ports[0], randomHex(t, 16))
	replicaPorts := ports[1:3]
	// HTTP-01 is off (no redirect listener): the VA's HTTP port is unused.
	pb := startPebble(t, ports[3], replicaPorts[0])

	publicURL := fmt.Sprintf("https://localhost:%d", replicaPorts[0])
	provider, parts, env := startACMEParts(t, publicURL)
	env = append(env, "REZIGATE_REDIS_URL="+redis.URL())
	dir := t.TempDir()
	var procs []*process
	for i, port := range replicaPorts {
		cfg := map[string]any{
			"listen":           "127.0.0.1:" + strconv.Itoa(port),
			"public_url":       publicURL,
			"upstream":         parts.RMSURL,
			"shutdown_timeout": "2s",
			"oidc":             map[string]any{"issuer_url": provider.Issuer(), "client_id": "rezigate", "allowed_email_domains": []string{"example.com"}},
			"session":          map[string]any{"store": "redis"},
			"rezi":             map[string]any{"api_url": parts.ReziURL + "/v1", "login_url": parts.RMSURL + "/login/"},
			"tls": map[string]any{"acme": map[string]any{
				"domains": []string{"localhost"}, "directory_url": pb.Directory, "ca_file": pb.CAFile, "email": "ops@example.com",
			}},
		}
		data, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fmt.Sprintf("rezigate-%d.yaml", i+1))
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, startProcess(t, fmt.Sprintf("rezigate-%d", i+1), bin, []string{"-config", path}, env))
	}

	root := pb.root(t)
	var serials []string
	for i, port := range replicaPorts {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: root, ServerName: "localhost"},
			ForceAttemptHTTP2: true,
		}}
		url := fmt.Sprintf("https://localhost:%d/healthz", port)
		deadline := time.Now().Add(90 * time.Second)
		for {
			if done, err := procs[i].exited(); done {
				t.Fatalf("rezigate-%d exited: %v", i+1, err)
			}
			resp, err := c.Get(url)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
					t.Fatalf("GET %s = %s over %s; want 200 over HTTP/2", url, resp.Status, resp.Proto)
				}
				serials = append(serials, resp.TLS.PeerCertificates[0].SerialNumber.String())
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("rezigate-%d: no certificate from Pebble verified within 90s: last %v", i+1, err)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	if serials[0] != serials[1] {
		t.Errorf("the replicas serve certificates %s and %s; want one certificate between them", serials[0], serials[1])
	}
	if n := pb.issued(); n != 1 {
		t.Errorf("Pebble issued %d certificates; want 1 for two replicas sharing Redis", n)
	}
}

// TestACMEHTTP01WithPebble: one rezigate with tls.acme and a redirect
// listener (tls.redirect_listen) gets its certificate from Pebble by
// HTTP-01, answered on the redirect listener: Pebble's VA reaches that
// port for HTTP-01, and its TLS-ALPN-01 port is one nobody listens on, so
// no other challenge can succeed. Then listen serves the certificate,
// verified against Pebble's root, and the redirect listener still sends
// every other path to public_url with 308.
func TestACMEHTTP01WithPebble(t *testing.T) {
	bin := rezigateBinary(t)
	ports := freePorts(t, 3)
	listenPort, redirectPort, closedPort := ports[0], ports[1], ports[2]
	pb := startPebble(t, redirectPort, closedPort)

	publicURL := fmt.Sprintf("https://localhost:%d", listenPort)
	provider, parts, env := startACMEParts(t, publicURL)
	dir := t.TempDir()
	cfg := map[string]any{
		"listen":           "127.0.0.1:" + strconv.Itoa(listenPort),
		"public_url":       publicURL,
		"upstream":         parts.RMSURL,
		"shutdown_timeout": "2s",
		"oidc":             map[string]any{"issuer_url": provider.Issuer(), "client_id": "rezigate", "allowed_email_domains": []string{"example.com"}},
		"rezi":             map[string]any{"api_url": parts.ReziURL + "/v1", "login_url": parts.RMSURL + "/login/"},
		"tls": map[string]any{
			"redirect_listen": "127.0.0.1:" + strconv.Itoa(redirectPort),
			"acme": map[string]any{
				"domains": []string{"localhost"}, "directory_url": pb.Directory, "ca_file": pb.CAFile, "email": "ops@example.com",
				"cache_dir": filepath.Join(dir, "acme"),
			},
		},
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rezigate.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	proc := startProcess(t, "rezigate", bin, []string{"-config", path}, env)

	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pb.root(t), ServerName: "localhost"},
		ForceAttemptHTTP2: true,
	}}
	url := publicURL + "/healthz"
	deadline := time.Now().Add(90 * time.Second)
	for {
		if done, err := proc.exited(); done {
			t.Fatalf("rezigate exited: %v", err)
		}
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
				t.Fatalf("GET %s = %s over %s; want 200 over HTTP/2", url, resp.Status, resp.Proto)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no certificate from Pebble verified within 90s: last %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	log := pb.proc.out.String()
	challengeURL := fmt.Sprintf("http://localhost:%d%s", redirectPort, "/.well-known/acme-challenge/")
	if !strings.Contains(log, "Attempting to validate w/ HTTP: "+challengeURL) {
		t.Errorf("Pebble's log shows no HTTP-01 validation at %s:\n%s", challengeURL, log)
	}
	if n := pb.issued(); n != 1 {
		t.Errorf("Pebble issued %d certificates; want 1", n)
	}

	noFollow := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	redirectBase := fmt.Sprintf("http://127.0.0.1:%d", redirectPort)
	tests := []struct {
		name, method, target, wantLocation string
	}{
		{"GET with a query", http.MethodGet, "/app/page?x=1&y=two", publicURL + "/app/page?x=1&y=two"},
		{"POST stays a POST", http.MethodPost, "/oauth2/sign_out", publicURL + "/oauth2/sign_out"},
		{"root", http.MethodGet, "/", publicURL + "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, redirectBase+tc.target, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != tc.wantLocation {
				t.Errorf("%s %s on the redirect listener = %s to %q; want 308 to %q", tc.method, tc.target, resp.Status, resp.Header.Get("Location"), tc.wantLocation)
			}
		})
	}
}
