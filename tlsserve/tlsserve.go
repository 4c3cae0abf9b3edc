// Package tlsserve is the TLS side of serving rezigate at the edge: the
// server's tls.Config (HTTP/2 and HTTP/1.1, TLS 1.2 or newer, the
// certificate re-read from its files when they change) and the handler of
// a plain-HTTP listener that sends every request to the https site.
//
// The certificate comes from files (Options.CertFile and KeyFile) or from
// any other source given as Options.GetCertificate, such as an ACME
// client; either way the rest of the server is the same.
package tlsserve

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/rezigate/rezigate/internal/certfile"
	"github.com/rezigate/rezigate/optionerr"
)

// DefaultMinVersion is the oldest TLS version accepted when
// Options.MinVersion is zero.
const DefaultMinVersion = tls.VersionTLS12

// Options configure the server's TLS. Exactly one certificate source is
// required: CertFile with KeyFile, or GetCertificate.
type Options struct {
	// CertFile is a PEM file holding the certificate and its chain, leaf
	// first; KeyFile holds its private key (PEM). Each is required with
	// the other. Both are read by NewConfig, which fails if they do not
	// make a pair, and looked at again at most once per second on
	// handshakes: when either changed they are read again, and new
	// handshakes get the new pair while open connections keep theirs. A
	// new pair that does not load is logged (never the key) and the
	// previous one kept.
	CertFile, KeyFile string
	// GetCertificate, instead of the files, picks the certificate of each
	// handshake (an ACME client's, for instance). Nil means the files.
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// MinVersion is the oldest TLS version accepted: tls.VersionTLS12 or
	// tls.VersionTLS13. Zero means DefaultMinVersion; TLS 1.1 and older,
	// deprecated by RFC 8996, are refused.
	MinVersion uint16
	// Logger receives certificate reloads and failed ones. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Validate reports every problem with o at once, as *optionerr.Error
// values joined. It does no I/O: NewConfig reads the files.
func (o Options) Validate() error {
	var errs []error
	add := func(field, msg string) { errs = append(errs, optionerr.New("tlsserve", field, "%s", msg)) }
	files := o.CertFile != "" || o.KeyFile != ""
	switch {
	case files && o.GetCertificate != nil:
		add("CertFile", "must be empty with GetCertificate: one certificate source")
	case o.CertFile == "" && o.KeyFile != "":
		add("CertFile", "required with KeyFile")
	case o.KeyFile == "" && o.CertFile != "":
		add("KeyFile", "required with CertFile")
	case !files && o.GetCertificate == nil:
		add("CertFile", "required (or GetCertificate)")
	}
	switch o.MinVersion {
	case 0, tls.VersionTLS12, tls.VersionTLS13:
	default:
		add("MinVersion", `must be TLS "1.2" or "1.3": older versions are refused (RFC 8996)`)
	}
	return errors.Join(errs...)
}

// NextProtos are the application protocols offered in ALPN, HTTP/2
// first. A client that offers only http/1.1, as a WebSocket client does,
// gets HTTP/1.1.
var NextProtos = []string{"h2", "http/1.1"}

// NewConfig returns the server's tls.Config for o: o.MinVersion, ALPN
// NextProtos, and the certificate from o's source. It fails if o is
// invalid or the files do not load. http.Server.ServeTLS with this
// config serves HTTP/2 and HTTP/1.1; a caller adding a protocol (the
// ACME TLS-ALPN-01 challenge's "acme-tls/1") appends to NextProtos.
func NewConfig(o Options) (*tls.Config, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.MinVersion == 0 {
		o.MinVersion = DefaultMinVersion
	}
	get := o.GetCertificate
	if get == nil {
		p, err := certfile.Load(o.CertFile, o.KeyFile, o.Logger)
		if err != nil {
			return nil, fmt.Errorf("tlsserve: %w", err)
		}
		get = p.GetCertificate
	}
	return &tls.Config{
		MinVersion:     o.MinVersion,
		NextProtos:     append([]string(nil), NextProtos...),
		GetCertificate: get,
	}, nil
}

// ChallengePrefix starts the paths of ACME HTTP-01 challenges (RFC 8555,
// section 8.3), which a redirect listener must answer itself.
const ChallengePrefix = "/.well-known/acme-challenge/"

// Redirect returns the handler of a plain-HTTP listener: every request
// gets 308 Permanent Redirect to the same path and query on publicURL's
// scheme and host. 308, not 301, so that a POST stays a POST with its
// body (RFC 9110, section 15.4.9); every current browser follows it, and
// may cache it like 301. The request's own Host is never used, so the
// listener cannot be made to redirect elsewhere. Paths under
// ChallengePrefix go to challenge instead; nil answers them 404.
// publicURL must be an absolute URL; only its scheme and host are used.
func Redirect(publicURL *url.URL, challenge http.Handler) http.Handler {
	base := publicURL.Scheme + "://" + publicURL.Host
	if challenge == nil {
		challenge = http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, ChallengePrefix) {
			challenge.ServeHTTP(w, r)
			return
		}
		target := r.URL.RequestURI()
		if !strings.HasPrefix(target, "/") { // "*" of OPTIONS, an opaque URL
			target = "/"
		}
		w.Header().Set("Location", base+target)
		w.WriteHeader(http.StatusPermanentRedirect)
	})
}
