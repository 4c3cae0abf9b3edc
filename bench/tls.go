package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// The HTTPS targets (-tls): the bare proxy behind Go's own TLS server,
// and rezigate with tls.cert_file, each loaded over HTTP/1.1 (one TLS
// connection per worker) and over HTTP/2 (the workers' requests
// multiplexed, as a browser's are).
const (
	targetBareTLS1     = "bare-tls-h1"
	targetRezigateTLS1 = "rezigate-tls-h1"
	targetBareTLS2     = "bare-tls-h2"
	targetRezigateTLS2 = "rezigate-tls-h2"
	// roleBareTLS is the bare proxy serving TLS with the certificate
	// in tlsCertEnv and tlsKeyEnv.
	roleBareTLS = "bare-tls"
	tlsCertEnv  = "BENCH_TLS_CERT"
	tlsKeyEnv   = "BENCH_TLS_KEY"
)

// benchCert writes a self-signed P-256 certificate for 127.0.0.1 and its
// key into dir, and returns their paths and a pool trusting it.
func benchCert(dir string) (certFile, keyFile string, pool *x509.CertPool, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, fmt.Errorf("bench: certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rezigate bench"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", nil, fmt.Errorf("bench: certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", nil, fmt.Errorf("bench: certificate: %w", err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", nil, fmt.Errorf("bench: certificate: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return "", "", nil, fmt.Errorf("bench: certificate: %w", err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool, nil
}

// serveTLSIfAsked serves srv on ln with TLS when tlsCertEnv is set, as
// an operator would put Go's TLS server in front of a reverse proxy:
// TLS 1.2 or newer, HTTP/2 and HTTP/1.1; plain HTTP otherwise.
func serveTLSIfAsked(srv *http.Server, ln net.Listener) error {
	certFile, keyFile := os.Getenv(tlsCertEnv), os.Getenv(tlsKeyEnv)
	if certFile == "" {
		return srv.Serve(ln)
	}
	srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	return srv.ServeTLS(ln, certFile, keyFile)
}

// tlsLoadClient is newLoadClient trusting pool, offering HTTP/2 when h2 is
// set and only HTTP/1.1 otherwise.
func tlsLoadClient(c int, pool *x509.CertPool, h2 bool) *http.Client {
	client := newLoadClient(c)
	tr := client.Transport.(*http.Transport)
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	tr.ForceAttemptHTTP2 = h2
	return client
}

// checkProto makes one request of t and fails unless it was served over
// HTTP/major.
func checkProto(ctx context.Context, t *target, major int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.spec.url, nil)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	req.Header["Cookie"] = []string{t.spec.cookie}
	resp, err := t.client.Do(req)
	if err != nil {
		return fmt.Errorf("bench: %s: %w", t.name, err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != major || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: %s answered %s over %s; want 200 over HTTP/%d", t.name, resp.Status, resp.Proto, major)
	}
	return nil
}
