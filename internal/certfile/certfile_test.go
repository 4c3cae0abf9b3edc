package certfile

import (
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/testsupport/lockedbuf"
	"github.com/rezigate/rezigate/internal/testsupport/testca"
)

// files returns the paths of a pair in a fresh directory.
func files(t *testing.T) (certFile, keyFile string) {
	dir := t.TempDir()
	return filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
}

// TestPairRotation: a rotated pair is served by the next look at the
// files; a broken one (garbage key, a key of another certificate, a
// missing file) is logged without the key's text and the previous pair
// kept; a repaired pair is taken again.
func TestPairRotation(t *testing.T) {
	ca := testca.New(t, "test CA")
	certFile, keyFile := files(t)
	ca.Server(t, 1).Write(t, certFile, keyFile)
	var logs lockedbuf.Buffer
	p, err := Load(certFile, keyFile, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	p.interval = 0 // look on every call: the test orders the looks itself
	p.next.Store(0)

	other := ca.Server(t, 99)
	steps := []struct {
		name       string
		change     func()
		wantSerial int64
		wantLog    string
	}{
		{"unchanged", func() {}, 1, ""},
		{"rotated", func() { ca.Server(t, 2).Write(t, certFile, keyFile) }, 2, "certificate reloaded"},
		{"garbage key", func() {
			testca.WriteFile(t, keyFile, []byte("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"))
		}, 2, "previous one is still served"},
		{"key of another certificate", func() { testca.WriteFile(t, keyFile, other.KeyPEM) }, 2, "does not match"},
		{"missing certificate", func() { os.Remove(certFile) }, 2, "cannot read"},
		{"repaired", func() { ca.Server(t, 3).Write(t, certFile, keyFile) }, 3, "certificate reloaded"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			before := len(logs.String())
			s.change()
			if got := p.Certificate().Leaf.SerialNumber.Int64(); got != s.wantSerial {
				t.Errorf("serial after %s = %d; want %d", s.name, got, s.wantSerial)
			}
			logged := logs.String()[before:]
			if s.wantLog == "" && logged != "" || !strings.Contains(logged, s.wantLog) {
				t.Errorf("log after %s = %q; want %q", s.name, logged, s.wantLog)
			}
			if strings.Contains(logged, "not a key") || strings.Contains(logged, string(other.KeyPEM[30:60])) {
				t.Errorf("log holds the key's text: %s", logged)
			}
		})
	}
	// Looked at again without a change: nothing more is logged.
	before := len(logs.String())
	p.Certificate()
	if logged := logs.String()[before:]; logged != "" {
		t.Errorf("unchanged files logged %q", logged)
	}
}

// TestPairChecksAtMostOncePerInterval: between two looks a changed file
// is not read, so a busy server stats its files once per second at most.
func TestPairChecksAtMostOncePerInterval(t *testing.T) {
	ca := testca.New(t, "test CA")
	certFile, keyFile := files(t)
	ca.Server(t, 1).Write(t, certFile, keyFile)
	p, err := Load(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	clock := p.now()
	p.now = func() time.Time { return clock }
	p.next.Store(clock.Add(CheckInterval).UnixNano())
	ca.Server(t, 2).Write(t, certFile, keyFile)
	if got := p.Certificate().Leaf.SerialNumber.Int64(); got != 1 {
		t.Errorf("serial before the interval = %d; want 1", got)
	}
	clock = clock.Add(CheckInterval)
	if got := p.Certificate().Leaf.SerialNumber.Int64(); got != 2 {
		t.Errorf("serial after the interval = %d; want 2", got)
	}
}

// TestCheck names the file at fault, never quoting the key.
func TestCheck(t *testing.T) {
	ca := testca.New(t, "test CA")
	good := ca.Server(t, 1)
	other := ca.Server(t, 2)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		testca.WriteFile(t, p, data)
		return p
	}
	cert, key := write("cert.pem", good.CertPEM), write("key.pem", good.KeyPEM)
	tests := []struct {
		name              string
		certFile, keyFile string
		wantCert, wantKey string // "" means no error
	}{
		{"good", cert, key, "", ""},
		{"missing certificate", filepath.Join(dir, "nope.pem"), key, "cannot read", ""},
		{"key in the certificate file", key, key, "no PEM", ""},
		{"missing key", cert, filepath.Join(dir, "nope.pem"), "", "cannot read"},
		{"certificate in the key file", cert, cert, "", "rather than a key"},
		{"key of another certificate", cert, write("other.pem", other.KeyPEM), "", "does not match"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			certErr, keyErr := Check(tc.certFile, tc.keyFile)
			for _, c := range []struct {
				what string
				err  error
				want string
			}{{"certErr", certErr, tc.wantCert}, {"keyErr", keyErr, tc.wantKey}} {
				switch {
				case c.want == "" && c.err != nil:
					t.Errorf("%s = %v; want nil", c.what, c.err)
				case c.want != "" && (c.err == nil || !strings.Contains(c.err.Error(), c.want)):
					t.Errorf("%s = %v; want %q", c.what, c.err, c.want)
				case c.err != nil && strings.Contains(c.err.Error(), "PRIVATE KEY-----"):
					t.Errorf("%s quotes a key: %v", c.what, c.err)
				}
			}
		})
	}
}

// TestCertPool trusts exactly the file's certificates.
func TestCertPool(t *testing.T) {
	ca := testca.New(t, "test CA")
	dir := t.TempDir()
	good := filepath.Join(dir, "ca.pem")
	testca.WriteFile(t, good, ca.PEM)
	empty := filepath.Join(dir, "empty.pem")
	testca.WriteFile(t, empty, []byte("nothing"))
	leaf := ca.Server(t, 1).TLS.Leaf
	pool, err := CertPool(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Errorf("leaf not verified by the pool: %v", err)
	}
	if _, err := CertPool(empty); err == nil || !strings.Contains(err.Error(), "no PEM") {
		t.Errorf("CertPool(empty) = %v; want no PEM", err)
	}
}
