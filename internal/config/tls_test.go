package config

import (
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rezigate/rezigate/internal/testsupport/testca"
)

// TestTLSKeys: the tls and upstream_tls rules come out under their keys,
// a bad file is named by its key without the key's text, and good files
// validate.
func TestTLSKeys(t *testing.T) {
	ca := testca.New(t, "test CA")
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	server, client, other := ca.Server(t, 1), ca.Client(t, 2, "rezigate"), ca.Server(t, 3)
	server.Write(t, path("tls.crt"), path("tls.key"))
	client.Write(t, path("client.crt"), path("client.key"))
	testca.WriteFile(t, path("other.key"), other.KeyPEM)
	testca.WriteFile(t, path("ca.pem"), ca.PEM)
	testca.WriteFile(t, path("garbage.pem"), []byte("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS10ZXh0\n-----END PRIVATE KEY-----\n"))
	tlsDoc := func(cert, key, extra string) string {
		return fmt.Sprintf("tls:\n  cert_file: %q\n  key_file: %q\n%s", cert, key, extra)
	}
	up := "upstream: https://10.0.0.5:8443\n"
	tests := []struct {
		name string
		doc  string
		want string // "" means valid
	}{
		{"server pair", tlsDoc(path("tls.crt"), path("tls.key"), ""), ""},
		{"server pair, 1.3 and redirect", tlsDoc(path("tls.crt"), path("tls.key"), "  min_version: \"1.3\"\n  redirect_listen: \":8080\"\n"), ""},
		{"TLS 1.1", tlsDoc(path("tls.crt"), path("tls.key"), "  min_version: \"1.1\"\n"), `tls.min_version: must be TLS "1.2" or "1.3"`},
		{"min version without tls", "tls:\n  min_version: \"1.0\"\n", `tls.min_version: must be TLS "1.2" or "1.3"`},
		{"min version not a version", "tls:\n  min_version: \"TLSv1.2\"\n", `tls.min_version: must be TLS "1.2" or "1.3"`},
		{"certificate without key", "tls:\n  cert_file: " + path("tls.crt") + "\n", "tls.key_file: required with CertFile"},
		{"key without certificate", "tls:\n  key_file: " + path("tls.key") + "\n", "tls.cert_file: required with KeyFile"},
		{"missing certificate file", tlsDoc(path("nope.crt"), path("tls.key"), ""), "tls.cert_file: cannot read " + path("nope.crt")},
		{"key of another certificate", tlsDoc(path("tls.crt"), path("other.key"), ""), "tls.key_file: " + path("other.key") + ": tls: private key does not match"},
		{"garbage key", tlsDoc(path("tls.crt"), path("garbage.pem"), ""), "tls.key_file: " + path("garbage.pem")},
		{"redirect without https public_url", "public_url: http://127.0.0.1:4180\nsession:\n  secure: false\ntls:\n  redirect_listen: \":8080\"\n", "tls.redirect_listen: needs an https public_url"},
		{"redirect on listen", "listen: \":8443\"\ntls:\n  redirect_listen: \":8443\"\n", "tls.redirect_listen: must differ from listen"},
		{"redirect not an address", "tls:\n  redirect_listen: \"80\"\n", "tls.redirect_listen: must be host:port"},
		{"upstream pair and CA", up + "upstream_tls:\n  ca_file: " + path("ca.pem") + "\n  client_cert_file: " + path("client.crt") + "\n  client_key_file: " + path("client.key") + "\n  server_name: app.internal\n", ""},
		{"upstream CA not PEM", up + "upstream_tls:\n  ca_file: " + path("tls.key") + "\n", `upstream_tls.ca_file: ` + path("tls.key") + `: no PEM "CERTIFICATE" block`},
		{"upstream client key missing", up + "upstream_tls:\n  client_cert_file: " + path("client.crt") + "\n", "upstream_tls.client_key_file: required"},
		{"upstream client key of another", up + "upstream_tls:\n  client_cert_file: " + path("client.crt") + "\n  client_key_file: " + path("other.key") + "\n", "upstream_tls.client_key_file: "},
		{"server name with port", up + "upstream_tls:\n  server_name: app.internal:443\n", "upstream_tls.server_name: must be a host name"},
		{"upstream tls with http upstream", "upstream: http://127.0.0.1:3000\nupstream_tls:\n  ca_file: " + path("ca.pem") + "\n", "upstream_tls.ca_file: needs an https upstream"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), append(requiredEnv(tc.doc), secretEnv...))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Parse(%q) = %v; want valid", tc.doc, err)
				}
				return
			}
			if err == nil || !hasProblem(err, tc.want) {
				t.Fatalf("Parse(%q) = %v; want a problem starting %q", tc.doc, err, tc.want)
			}
			if strings.Contains(err.Error(), "c2VjcmV0") || strings.Contains(err.Error(), "PRIVATE KEY-----") {
				t.Errorf("problem quotes a key: %v", err)
			}
		})
	}
}

// TestTLSUnsetKeepsPlainHTTP: without tls and upstream_tls, listen is
// plain HTTP and the upstream transport is the one of before, with
// Go's own TLS defaults.
func TestTLSUnsetKeepsPlainHTTP(t *testing.T) {
	c, err := Parse([]byte(minimalYAML), secretEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.TLSEnabled() {
		t.Errorf("TLSEnabled() = true; want false without tls.cert_file")
	}
	tr, err := c.UpstreamTransport(nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr.TLSClientConfig != nil {
		t.Errorf("upstream TLSClientConfig = %+v; want nil (system roots, URL host, no client certificate)", tr.TLSClientConfig)
	}
	if got := c.TLSOptions(nil).MinVersion; got != tls.VersionTLS12 {
		t.Errorf("default min_version maps to %#x; want TLS 1.2", got)
	}
}
