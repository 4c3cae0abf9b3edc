package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"
)

// Manager obtains and renews the certificates of Options.Domains from an
// ACME CA, and serves them. It is safe for concurrent use; Close it when
// the servers using it have stopped.
type Manager struct {
	cfg       *certmagic.Config
	issuer    *certmagic.ACMEIssuer
	cache     *certmagic.Cache
	cancel    context.CancelFunc
	closeOnce sync.Once
}

// New checks opts with Validate, reads Options.CAFile, loads any
// certificate already in storage, and starts obtaining (or renewing) the
// others in the background, retrying with backoff until ctx ends or Close
// is called: the CA's validation reaches rezigate through the listeners,
// which must serve TLSConfig and HTTPHandler right after New returns.
// Until a certificate is there, TLS handshakes for its names fail.
func New(ctx context.Context, opts Options) (*Manager, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	zl := newZapLogger(log)
	storage := opts.Storage
	if storage == nil {
		storage = &certmagic.FileStorage{Path: opts.CacheDir}
	}
	issuerTmpl := certmagic.ACMEIssuer{
		CA:                   opts.DirectoryURL,
		TestCA:               opts.DirectoryURL, // never fall back to another CA
		Email:                opts.Email,
		Agreed:               true,
		DisableHTTPChallenge: opts.HTTPAddr == "",
		Logger:               zl,
	}
	if issuerTmpl.CA == "" {
		issuerTmpl.CA, issuerTmpl.TestCA = DefaultDirectoryURL, DefaultDirectoryURL
	}
	if opts.CAFile != "" {
		pool, err := readPool(opts.CAFile)
		if err != nil {
			return nil, err
		}
		issuerTmpl.TrustedRoots = pool
	}
	// The solvers "listen" on the addresses given: bound already by
	// rezigate's listeners, the library leaves them to those.
	var err error
	if issuerTmpl.ListenHost, issuerTmpl.AltTLSALPNPort, err = hostPort(opts.TLSAddr, certmagic.TLSALPNChallengePort); err != nil {
		return nil, fmt.Errorf("acme: TLSAddr: %w", err)
	}
	if opts.HTTPAddr != "" {
		if _, issuerTmpl.AltHTTPPort, err = hostPort(opts.HTTPAddr, certmagic.HTTPChallengePort); err != nil {
			return nil, fmt.Errorf("acme: HTTPAddr: %w", err)
		}
	}
	m := &Manager{}
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.cfg, nil },
		Logger:           zl,
	})
	m.cfg = certmagic.New(m.cache, certmagic.Config{Storage: storage, Logger: zl})
	m.issuer = certmagic.NewACMEIssuer(m.cfg, issuerTmpl)
	m.cfg.Issuers = []certmagic.Issuer{m.issuer}
	mctx, cancel := context.WithCancel(ctx)
	m.cancel = cancel
	domains := make([]string, len(opts.Domains))
	for i, d := range opts.Domains {
		domains[i] = strings.ToLower(strings.TrimSpace(d))
	}
	if err := m.cfg.ManageAsync(mctx, domains); err != nil {
		m.Close()
		return nil, fmt.Errorf("acme: manage certificates: %w", err)
	}
	return m, nil
}

// TLSConfig returns a new TLS configuration that serves the managed
// certificates and answers TLS-ALPN-01 challenges, offering HTTP/2 and
// HTTP/1.1 to clients (ALPN h2, http/1.1, acme-tls/1) with TLS 1.2 at
// least. The caller may raise MinVersion; it must keep GetCertificate
// and the acme-tls/1 protocol, or TLS-ALPN-01 validation fails.
func (m *Manager) TLSConfig() *tls.Config {
	c := m.cfg.TLSConfig()
	c.NextProtos = []string{"h2", "http/1.1", acmez.ACMETLS1Protocol}
	c.MinVersion = tls.VersionTLS12
	return c
}

// HTTPHandler answers the CA's HTTP-01 challenge requests
// (/.well-known/acme-challenge/…) for challenges begun by any replica
// sharing the storage, and hands every other request to fallback. With
// HTTP-01 off (Options.HTTPAddr empty) it is fallback.
func (m *Manager) HTTPHandler(fallback http.Handler) http.Handler {
	return m.issuer.HTTPChallengeHandler(fallback)
}

// Close stops obtaining and renewing certificates. Calling it twice does
// nothing.
func (m *Manager) Close() {
	m.closeOnce.Do(func() {
		m.cancel()
		m.cache.Stop()
	})
}

// readPool reads a PEM file of CA certificates.
func readPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("acme: CAFile: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("acme: CAFile: holds no PEM certificate")
	}
	return pool, nil
}

// hostPort splits addr ("" means def on every interface).
func hostPort(addr string, def int) (string, int, error) {
	if addr == "" {
		return "", def, nil
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		// A service name or 0: the solver must know the real port.
		return "", 0, errors.New("needs a numeric port")
	}
	return host, port, nil
}
