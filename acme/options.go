package acme

import (
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/caddyserver/certmagic"

	"github.com/rezigate/rezigate/internal/loopback"
	"github.com/rezigate/rezigate/optionerr"
)

// DefaultDirectoryURL is Options.DirectoryURL when it is empty: Let's
// Encrypt's production directory.
const DefaultDirectoryURL = "https://acme-v02.api.letsencrypt.org/directory"

// Options configure New. Domains and either CacheDir or Storage are
// required; every other zero field has the meaning its doc gives.
type Options struct {
	// Domains are the names the certificate is for, each a DNS name such
	// as "rms.example.com" (or "localhost" from a private CA). Wildcards
	// are refused: they need the DNS-01 challenge, which rezigate does not
	// answer.
	Domains []string
	// DirectoryURL is the ACME directory of the CA. Empty means
	// DefaultDirectoryURL. It must be https, except towards a loopback
	// host.
	DirectoryURL string
	// Email is given to the CA with the account, for its expiry notices.
	// Empty means an account without contact.
	Email string
	// CAFile is a PEM file of the CA certificates trusted for the
	// directory's HTTPS, instead of the system roots: set it for a private
	// CA such as Pebble or step-ca. Empty means the system roots. New
	// reads it once.
	CAFile string
	// CacheDir is the directory where the account key and the
	// certificates are kept (certmagic's file storage) when Storage is
	// nil. Keep it across restarts: without it every start orders a new
	// certificate, and the CA's rate limits soon refuse. It holds private
	// keys: only rezigate's user should read it.
	CacheDir string
	// Storage, when not nil, keeps the account, the certificates and the
	// issuance locks instead of CacheDir, such as a RedisStorage that
	// every replica shares, so that N replicas order one certificate.
	Storage certmagic.Storage
	// TLSAddr is the host:port of the TLS listener that serves
	// Manager.TLSConfig, where the CA's TLS-ALPN-01 validation arrives
	// (the CA connects to port 443: forward it here). Empty means port
	// 443 on every interface. The listener must be bound before New is
	// called, or the library would bind the address itself.
	TLSAddr string
	// HTTPAddr is the host:port of a plain-HTTP listener that serves
	// Manager.HTTPHandler, where the CA's HTTP-01 validation arrives (the
	// CA connects to port 80: forward it here). Empty turns HTTP-01 off:
	// only TLS-ALPN-01 on TLSAddr is used.
	HTTPAddr string
	// Logger receives the library's messages. Nil means slog.Default().
	Logger *slog.Logger
}

// Validate reports every problem with o at once: errors.Join of
// *optionerr.Error values, each reading "acme: Field: what is wrong". It
// reads no file and does no network I/O.
func (o Options) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, optionerr.New("acme", field, format, args...))
	}
	if len(o.Domains) == 0 {
		add("Domains", "required: at least one name to order a certificate for")
	}
	seen := map[string]bool{}
	for i, d := range o.Domains {
		field := "Domains[" + strconv.Itoa(i) + "]"
		switch n := strings.ToLower(strings.TrimSpace(d)); {
		case n == "":
			add(field, "must not be empty")
		case strings.Contains(n, "*"):
			add(field, "must not be a wildcard: wildcards need the DNS-01 challenge, which is not answered")
		case !validName(n):
			add(field, "must be a DNS name such as rms.example.com")
		case seen[n]:
			add(field, "is listed twice")
		default:
			seen[n] = true
		}
	}
	if o.DirectoryURL != "" {
		u, err := url.Parse(o.DirectoryURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			add("DirectoryURL", "must be an absolute https URL")
		case u.Scheme == "http" && !loopback.Host(u.Hostname()):
			add("DirectoryURL", "must be https (http only towards a loopback host)")
		}
	}
	if o.Email != "" && (!strings.Contains(o.Email, "@") || strings.ContainsAny(o.Email, " \t\r\n<>")) {
		add("Email", "must be an email address")
	}
	if o.Storage == nil && strings.TrimSpace(o.CacheDir) == "" {
		add("CacheDir", "required without a shared storage: the account key and certificates must outlive a restart")
	}
	for _, a := range []struct{ field, addr string }{{"TLSAddr", o.TLSAddr}, {"HTTPAddr", o.HTTPAddr}} {
		if a.addr == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(a.addr); err != nil || port == "" {
			add(a.field, `must be host:port, such as ":443"`)
		}
	}
	return errors.Join(errs...)
}

// validName reports whether n (lower case) is a DNS name: labels of
// letters, digits and hyphens, not starting or ending with a hyphen.
func validName(n string) bool {
	if len(n) > 253 {
		return false
	}
	for _, l := range strings.Split(n, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
