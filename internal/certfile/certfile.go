// Package certfile reads a certificate chain and its private key from PEM
// files, and re-reads them when either file changes, as cert-manager,
// certbot and Kubernetes secret mounts replace them in place: the TLS
// server's certificate and the client certificate presented to an
// upstream. A broken new pair is logged and the previous one kept, so a
// half-finished rotation never stops the service. No error or log line
// ever holds the private key's text.
package certfile

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// CheckInterval is how often, at most, Certificate looks at the files:
// a rotated pair is served within this long of the first handshake after
// it.
const CheckInterval = time.Second

// Pair is a certificate and key read from two files, re-read when they
// change. Its methods are safe for concurrent use.
type Pair struct {
	certFile, keyFile string
	log               *slog.Logger
	interval          time.Duration    // CheckInterval; tests set 0 to look on every call
	now               func() time.Time // time.Now

	cur  atomic.Pointer[tls.Certificate]
	next atomic.Int64 // when, in Unix nanoseconds, the files are next looked at
	mu   sync.Mutex   // one look at a time; guards seen
	seen stamp        // the files as last read, whether they parsed or not
}

// stamp identifies the versions of the two files: a file replaced by a
// rename or rewritten in place changes its identity, time or size.
type stamp struct{ cert, key os.FileInfo }

func statFiles(certFile, keyFile string) stamp {
	var s stamp
	s.cert, _ = os.Stat(certFile)
	s.key, _ = os.Stat(keyFile)
	return s
}

func (s stamp) equal(o stamp) bool { return sameFile(s.cert, o.cert) && sameFile(s.key, o.key) }

func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// Load reads the pair at certFile and keyFile, failing if it does not
// make a certificate rezigate can serve (see Check). log receives the
// reloads and the refused ones; nil means slog.Default().
func Load(certFile, keyFile string, log *slog.Logger) (*Pair, error) {
	if log == nil {
		log = slog.Default()
	}
	p := &Pair{certFile: certFile, keyFile: keyFile, log: log, interval: CheckInterval, now: time.Now}
	p.seen = statFiles(certFile, keyFile)
	c, certErr, keyErr := read(certFile, keyFile, time.Now())
	if err := errors.Join(certErr, keyErr); err != nil {
		return nil, fmt.Errorf("certfile: %w", err)
	}
	p.cur.Store(c)
	p.next.Store(time.Now().Add(p.interval).UnixNano())
	return p, nil
}

// Certificate returns the pair to present. At most once per
// CheckInterval it first looks at the files, and reads them again if
// either changed; a new pair that does not load is logged and the one
// before it kept.
func (p *Pair) Certificate() *tls.Certificate {
	if now := p.now(); now.UnixNano() >= p.next.Load() && p.mu.TryLock() {
		if now.UnixNano() >= p.next.Load() { // not just looked at by another caller
			p.next.Store(now.Add(p.interval).UnixNano())
			p.reload(now)
		}
		p.mu.Unlock()
	}
	return p.cur.Load()
}

// GetCertificate is Certificate as tls.Config.GetCertificate.
func (p *Pair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return p.Certificate(), nil
}

// GetClientCertificate is Certificate as tls.Config.GetClientCertificate.
func (p *Pair) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return p.Certificate(), nil
}

// reload reads the files if they changed since last read; p.mu is held.
func (p *Pair) reload(now time.Time) {
	s := statFiles(p.certFile, p.keyFile)
	if s.equal(p.seen) {
		return
	}
	p.seen = s
	c, certErr, keyErr := read(p.certFile, p.keyFile, now)
	if err := errors.Join(certErr, keyErr); err != nil {
		p.log.Error("certfile: new certificate not loaded; the previous one is still served",
			"cert_file", p.certFile, "key_file", p.keyFile, "err", err)
		return
	}
	p.cur.Store(c)
	p.log.Info("certfile: certificate reloaded", "cert_file", p.certFile,
		"serial", c.Leaf.SerialNumber.String(), "not_after", c.Leaf.NotAfter)
}

// Check reads the pair at certFile and keyFile as Load does and says
// what is wrong with each file, for the configuration check: certErr
// about the certificate file (unreadable, no certificate, expired),
// keyErr about the key file (unreadable, not a private key, not the
// certificate's key). Neither holds the key's text.
func Check(certFile, keyFile string) (certErr, keyErr error) {
	_, certErr, keyErr = read(certFile, keyFile, time.Now())
	return certErr, keyErr
}

func read(certFile, keyFile string, now time.Time) (_ *tls.Certificate, certErr, keyErr error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", certFile, errors.Unwrap(err)), nil
	}
	chain, err := parseCerts(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certFile, err), nil
	}
	if now.After(chain[0].NotAfter) {
		return nil, fmt.Errorf("%s: the certificate expired on %s", certFile, chain[0].NotAfter.UTC().Format(time.RFC3339)), nil
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read %s: %w", keyFile, errors.Unwrap(err))
	}
	// X509KeyPair's errors are fixed sentences that never quote the key.
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	return &c, nil, nil
}

// parseCerts returns every certificate in data, the leaf first.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("a certificate does not parse: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New(`no PEM "CERTIFICATE" block`)
	}
	return certs, nil
}

// CertPool reads the PEM certificates in file into a pool of their own,
// for trusting a private CA instead of the system roots.
func CertPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("certfile: cannot read %s: %w", file, errors.Unwrap(err))
	}
	certs, err := parseCerts(data)
	if err != nil {
		return nil, fmt.Errorf("certfile: %s: %w", file, err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}
