package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/internal/groupheader"
	"github.com/rezigate/rezigate/internal/httptoken"
	"github.com/rezigate/rezigate/internal/httpurl"
	"github.com/rezigate/rezigate/internal/pages"
	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/optionerr"
)

// Default header names for the identity sent upstream.
const (
	DefaultEmailHeader = "X-Forwarded-Email"
	DefaultUserHeader  = "X-Forwarded-User"
	// GroupsHeader carries the user's groups, comma-separated.
	GroupsHeader = "X-Forwarded-Groups"
)

// Options configure a Proxy. Only Upstream is required; every other zero
// field means its documented default.
type Options struct {
	// Upstream is the absolute http(s) URL requests are forwarded to,
	// without user info or fragment. Its path is prefixed to every
	// request's path. Required.
	Upstream *url.URL
	// PublicURL is the external URL clients reach the site at; only its
	// scheme and host are used. They are sent upstream as X-Forwarded-Proto
	// and X-Forwarded-Host, replacing any client-sent values, so the
	// upstream builds links to the real site whatever Host a client sent.
	// Nil means no X-Forwarded-Host at all (the client's Host header is
	// never trusted) and an X-Forwarded-Proto that says only whether the
	// connection to this proxy used TLS. When set, it must be an absolute
	// http(s) URL without user info or fragment.
	PublicURL *url.URL
	// Transport makes upstream requests. Nil means NewTransport(TransportOptions{}),
	// which keeps a large idle pool; http.DefaultTransport keeps only two
	// idle connections per host and reconnects under concurrency.
	Transport http.RoundTripper
	// Identity returns the signed-in user of a request. Nil, or ok false,
	// means no identity header is set; client-sent copies are still removed.
	Identity func(r *http.Request) (email, uid string, ok bool)
	// Groups returns the groups of the user Identity names, sent as
	// GroupsHeader ("a,b", in order) and in the assertion. Both leave out
	// the same names, every one an upstream could read as another group:
	// empty, longer than 256 bytes, not printable ASCII, holding a comma,
	// or with a space at either end. Nil, or no groups, means no
	// GroupsHeader; client-sent copies are still removed. The caller keeps
	// the list short enough for a header (middleware sends only the groups
	// its policy names, at most 7 KiB of them).
	Groups func(r *http.Request) []string
	// EmailHeader and UserHeader name the identity headers. Empty means
	// DefaultEmailHeader and DefaultUserHeader. Each must be a header name
	// (RFC 9110 token), and the two must differ in every spelling.
	EmailHeader, UserHeader string
	// Assertion, when not nil, signs the identity of every request that
	// Identity names into a JWT sent in AssertionHeader (see package
	// assertion; the signer reuses a token for minutes, so this costs no
	// signature per request). Nil sends none; client-sent copies of
	// AssertionHeader and of assertion.DefaultHeader are removed either
	// way.
	Assertion *assertion.Signer
	// AssertionHeader names the assertion header. Empty means
	// assertion.DefaultHeader. It must be a header name that differs from
	// the other identity headers in every spelling.
	AssertionHeader string
	// StripHeaders lists more headers that must never come from a client,
	// such as the ones a site's own upstream trusts. They add to the
	// built-in list, which always applies: the headers rezigate sets
	// upstream, the override headers (X-Original-URL, X-Rewrite-URL,
	// X-Override-URL, X-HTTP-Method-Override, X-HTTP-Method,
	// X-Method-Override), the identity headers upstream apps commonly
	// trust (Remote-User, X-Remote-User, X-Webauth-User,
	// X-Forwarded-Preferred-Username) and every X-Auth-Request-* header.
	// Each is removed in every spelling (any case, "_" for "-"), like the
	// identity headers; each must be a header name (an RFC 9110 token, not
	// empty). Nil adds none.
	StripHeaders []string
	// StripCookies reports which request cookies must not reach the
	// upstream, such as the session cookie. Nil keeps every cookie.
	StripCookies func(name string) bool
	// Logger receives upstream errors with the request id. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Validate reports every problem with o at once: errors.Join of
// *optionerr.Error values, one per field, that never contain a field's
// value. It does no I/O; nil means New accepts o.
func (o Options) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, optionerr.New("proxy", field, format, args...))
	}
	if o.Upstream == nil {
		add("Upstream", "required")
	} else if err := httpurl.Check(o.Upstream, 0); err != nil {
		add("Upstream", "%v", err)
	}
	if o.PublicURL != nil {
		if err := httpurl.Check(o.PublicURL, 0); err != nil {
			add("PublicURL", "%v", err)
		}
	}
	email, user := o.EmailHeader, o.UserHeader
	if email == "" {
		email = DefaultEmailHeader
	}
	if user == "" {
		user = DefaultUserHeader
	}
	if !httptoken.Valid(email) {
		add("EmailHeader", "must be a header name: %s", httptoken.Chars)
	}
	if !httptoken.Valid(user) {
		add("UserHeader", "must be a header name: %s", httptoken.Chars)
	} else if normalize(user) == normalize(email) {
		add("UserHeader", "must differ from EmailHeader (case and _ for - do not count)")
	}
	if o.AssertionHeader != "" {
		if !httptoken.Valid(o.AssertionHeader) {
			add("AssertionHeader", "must be a header name: %s", httptoken.Chars)
		} else if n := normalize(o.AssertionHeader); n == normalize(email) || n == normalize(user) || n == normalize(GroupsHeader) {
			add("AssertionHeader", "must differ from the email, user and groups headers (case and _ for - do not count)")
		}
	}
	for i, h := range o.StripHeaders {
		if h == "" {
			add(fmt.Sprintf("StripHeaders[%d]", i), "must not be empty")
		} else if !httptoken.Valid(h) {
			add(fmt.Sprintf("StripHeaders[%d]", i), "must be a header name: %s", httptoken.Chars)
		}
	}
	return errors.Join(errs...)
}

// Proxy is an http.Handler that forwards to the upstream.
type Proxy struct {
	rp    *httputil.ReverseProxy
	opts  Options
	strip headerSet // client-sent headers to remove
	// fwdHost and fwdProto are the X-Forwarded-Host and -Proto values,
	// shared by every request: nothing writes into a header's value slice.
	fwdHost, fwdProto []string
	assertionHeader   string // canonical
	log               *slog.Logger
}

// clientHeaders are the headers a client must never send upstream, each
// removed in every spelling before rezigate sets its own:
//   - every header this package sets on an upstream request (the default
//     identity headers as well as configured ones, since an upstream may
//     read either);
//   - Forwarded, which ReverseProxy removes in its canonical spelling
//     only, and HTTP2-Settings, which serves only an h2c upgrade, and none
//     is proxied;
//   - overrideHeaders and trustedIdentityHeaders.
var clientHeaders = slices.Concat([]string{
	DefaultEmailHeader, DefaultUserHeader, GroupsHeader, assertion.DefaultHeader,
	"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded",
	"HTTP2-Settings",
}, overrideHeaders, trustedIdentityHeaders)

// overrideHeaders make some upstreams run another path or method than
// the request line names: X-Original-URL and X-Rewrite-URL (set by IIS URL
// Rewrite, and read as the request path by some PHP frameworks),
// X-Override-URL, and the method-override headers many web frameworks
// honour. The policy judges the request line, so a client-sent copy could
// reach what the policy never judged.
var overrideHeaders = []string{
	"X-Original-URL", "X-Rewrite-URL", "X-Override-URL",
	"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
}

// trustedIdentityHeaders are identity headers upstream apps commonly take
// from an authenticating proxy: Remote-User (Authelia, Django's
// RemoteUserMiddleware), X-Remote-User (Kubernetes' request-header
// authentication), X-Webauth-User (Grafana's and Gitea's proxy
// authentication) and X-Forwarded-Preferred-Username (oauth2-proxy).
// rezigate sets none of them unless one is configured as the email or user
// header, so a client-sent copy can only be a forgery.
var trustedIdentityHeaders = []string{
	"Remote-User", "X-Remote-User", "X-Webauth-User", "X-Forwarded-Preferred-Username",
}

// clientHeaderPrefixes are removed the same way. X-Auth-Request-* is what
// an edge proxy copies from the forward-auth answer (/oauth2/auth); an
// upstream behind it must be able to trust every one of them.
var clientHeaderPrefixes = []string{"X-Auth-Request-"}

var (
	protoHTTP  = []string{"http"}
	protoHTTPS = []string{"https"}
)

// New returns a Proxy for opts; an invalid opts gets Validate's error
// unchanged.
func New(opts Options) (*Proxy, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.EmailHeader == "" {
		opts.EmailHeader = DefaultEmailHeader
	}
	if opts.UserHeader == "" {
		opts.UserHeader = DefaultUserHeader
	}
	if opts.AssertionHeader == "" {
		opts.AssertionHeader = assertion.DefaultHeader
	}
	if opts.Transport == nil {
		opts.Transport = NewTransport(TransportOptions{})
	}
	p := &Proxy{opts: opts, log: opts.Logger, assertionHeader: http.CanonicalHeaderKey(opts.AssertionHeader)}
	if p.log == nil {
		p.log = slog.Default()
	}
	names := append([]string{opts.EmailHeader, opts.UserHeader, opts.AssertionHeader}, clientHeaders...)
	p.strip = newHeaderSet(append(names, opts.StripHeaders...), clientHeaderPrefixes)
	if pu := opts.PublicURL; pu != nil {
		p.fwdHost = []string{pu.Host}
		p.fwdProto = protoHTTP
		if pu.Scheme == "https" {
			p.fwdProto = protoHTTPS
		}
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:      p.rewrite,
		Transport:    opts.Transport,
		BufferPool:   bufferPool{},
		ErrorHandler: p.errorHandler,
		ErrorLog:     slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
	}
	return p, nil
}

// ServeHTTP forwards r to the upstream.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.rp.ServeHTTP(w, r)
}

// rewrite runs on every request, after ReverseProxy has removed the
// hop-by-hop headers and the canonical X-Forwarded-* and Forwarded ones.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(p.opts.Upstream) // the upstream's own Host
	h := pr.Out.Header
	// ReverseProxy has put back "Connection: Upgrade" and the client's
	// Upgrade value. Only WebSocket goes through: any other protocol, h2c
	// above all, would open a tunnel whose later requests never pass
	// through this function. The request goes on as a plain one.
	if up, ok := h["Upgrade"]; ok && (len(up) != 1 || !strings.EqualFold(up[0], "websocket")) {
		delete(h, "Upgrade")
		delete(h, "Connection")
	}
	p.strip.remove(h)
	if p.opts.StripCookies != nil {
		stripCookies(h, p.opts.StripCookies)
	}
	// X-Forwarded-For as SetXForwarded sets it; Host and Proto from the
	// public URL, never from the client's Host.
	if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
		h["X-Forwarded-For"] = []string{ip}
	}
	switch {
	case p.fwdHost != nil:
		h["X-Forwarded-Host"] = p.fwdHost
		h["X-Forwarded-Proto"] = p.fwdProto
	case pr.In.TLS != nil:
		h["X-Forwarded-Proto"] = protoHTTPS
	default:
		h["X-Forwarded-Proto"] = protoHTTP
	}
	if p.opts.Identity != nil {
		if email, uid, ok := p.opts.Identity(pr.In); ok {
			p.setIdentity(pr.In, h, email, uid)
		}
	}
}

// setIdentity sets the email and user headers, GroupsHeader and the
// assertion for a signed-in request. The values of all of them share one
// allocation; each header's slice has length and capacity 1, so an
// append to one cannot reach another.
func (p *Proxy) setIdentity(in *http.Request, h http.Header, email, uid string) {
	var groups []string
	if p.opts.Groups != nil {
		groups = p.opts.Groups(in)
	}
	gv := groupheader.Value(groups)
	var tok string
	if p.opts.Assertion != nil {
		var err error
		if tok, err = p.opts.Assertion.Assertion(assertion.Claims{Subject: uid, Email: email, Groups: groups}); err != nil {
			// The upstream, missing its assertion, refuses the request.
			p.log.Error("proxy: identity assertion not signed", "request_id", requestid.FromContext(in.Context()), "err", err)
		}
	}
	n := 2
	if gv != "" {
		n++
	}
	if tok != "" {
		n++
	}
	vals := make([]string, 0, n)
	vals = append(vals, email, uid)
	h[p.opts.EmailHeader] = vals[0:1:1]
	h[p.opts.UserHeader] = vals[1:2:2]
	if gv != "" {
		vals = append(vals, gv)
		h[GroupsHeader] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	if tok != "" {
		vals = append(vals, tok)
		h[p.assertionHeader] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
}

// normalize folds the spellings a back end may treat as one header name:
// case, and "_" for "-" (CGI-style servers map both to HTTP_X_FORWARDED_EMAIL).
func normalize(name string) string {
	b := []byte(name)
	for i, c := range b {
		switch {
		case c == '_':
			b[i] = '-'
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// sameHeader reports whether key normalizes to want, without allocating.
func sameHeader(key, want string) bool {
	return len(key) == len(want) && foldedPrefix(key, want)
}

// foldedPrefix reports whether key starts with prefix once normalized,
// without allocating; prefix must already be normalized.
func foldedPrefix(key, prefix string) bool {
	if len(key) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := key[i]
		switch {
		case c == '_':
			c = '-'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// headerSet matches header names in every spelling a back end may treat
// as one: any case, and "_" for "-". Names are kept by length, so a
// request header is compared only with the names of its own length.
type headerSet struct {
	byLen    [maxIndexedLen][]string // normalized names of each length
	long     []string                // normalized names of maxIndexedLen bytes or more
	prefixes []string                // normalized
}

// maxIndexedLen bounds the names headerSet indexes by length; longer ones
// (only ever configured ones) are compared one by one.
const maxIndexedLen = 48

// newHeaderSet returns the set of names and of names starting with one of
// prefixes, in any spelling.
func newHeaderSet(names, prefixes []string) headerSet {
	var s headerSet
	for _, n := range names {
		n = normalize(n)
		switch {
		case len(n) >= maxIndexedLen:
			if !slices.Contains(s.long, n) {
				s.long = append(s.long, n)
			}
		case !slices.Contains(s.byLen[len(n)], n):
			s.byLen[len(n)] = append(s.byLen[len(n)], n)
		}
	}
	for _, n := range prefixes {
		s.prefixes = append(s.prefixes, normalize(n))
	}
	return s
}

// has reports whether the header name key is in s.
func (s *headerSet) has(key string) bool {
	names := s.long
	if len(key) < maxIndexedLen {
		names = s.byLen[len(key)]
	}
	for _, n := range names {
		if sameHeader(key, n) {
			return true
		}
	}
	for _, n := range s.prefixes {
		if foldedPrefix(key, n) {
			return true
		}
	}
	return false
}

// remove deletes from h every header whose name is in s.
func (s *headerSet) remove(h http.Header) {
	for k := range h {
		if s.has(k) {
			delete(h, k)
		}
	}
}

// stripCookies removes from h's Cookie headers every cookie whose name
// drop reports true, keeping the others in order; pr.Out's headers are a
// copy, so this never touches the incoming request.
func stripCookies(h http.Header, drop func(name string) bool) {
	lines := h["Cookie"]
	if len(lines) == 0 {
		return
	}
	var kept []string
	changed := false
	for _, line := range lines {
		for rest := line; rest != ""; {
			var part string
			part, rest, _ = strings.Cut(rest, ";")
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			name, _, _ := strings.Cut(part, "=")
			if drop(name) {
				changed = true
				continue
			}
			kept = append(kept, part)
		}
	}
	switch {
	case !changed:
	case len(kept) == 0:
		delete(h, "Cookie")
	default:
		h["Cookie"] = []string{strings.Join(kept, "; ")}
	}
}

// errorHandler answers upstream failures with a fixed page and the request
// id; the cause goes only to the log.
func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	id := requestid.FromContext(r.Context())
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away; nobody is left to answer.
		p.log.Debug("proxy: client canceled", "request_id", id)
		w.WriteHeader(499)
		return
	}
	status, msg := http.StatusBadGateway, "The application behind this gateway could not be reached."
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		status, msg = http.StatusGatewayTimeout, "The application behind this gateway took too long to answer."
	}
	p.log.Error("proxy: upstream request failed", "request_id", id, "status", status, "err", err)
	pages.Error(w, status, msg, id)
}

// copyBuffers recycles the buffers responses are copied through. Without
// a BufferPool, ReverseProxy allocates 32 KiB per response, and the
// garbage collector then dominates a busy proxy's CPU time.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

type bufferPool struct{}

func (bufferPool) Get() []byte  { return *copyBuffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { copyBuffers.Put(&b) }

// Defaults for zero TransportOptions fields.
const (
	DefaultMaxIdleConns          = 256
	DefaultDialTimeout           = 10 * time.Second
	DefaultTLSHandshakeTimeout   = 10 * time.Second
	DefaultResponseHeaderTimeout = 60 * time.Second
)

// TransportOptions size and bound the upstream Transport.
type TransportOptions struct {
	// MaxIdleConns is the idle pool size, per host and in total. Zero
	// means DefaultMaxIdleConns: enough that a busy proxy reuses
	// connections instead of opening one per request. Negative keeps no
	// idle connections at all.
	MaxIdleConns int
	// DialTimeout, TLSHandshakeTimeout and ResponseHeaderTimeout bound
	// each phase of an upstream request. Zero means DefaultDialTimeout,
	// DefaultTLSHandshakeTimeout and DefaultResponseHeaderTimeout;
	// negative is an error.
	DialTimeout, TLSHandshakeTimeout, ResponseHeaderTimeout time.Duration
	// RootCAs are the certificate authorities an https upstream's
	// certificate must chain to. Nil means the system roots. An upstream
	// whose certificate does not verify gets no request: the client sees
	// the 502 page, and the cause goes only to the log.
	RootCAs *x509.CertPool
	// ClientCertificate returns the certificate presented to an upstream
	// that asks for one (mTLS), on each new connection; a source that
	// re-reads its files when they change rotates it without a restart.
	// Nil presents none.
	ClientCertificate func(*tls.CertificateRequestInfo) (*tls.Certificate, error)
	// ServerName is the name the upstream's certificate is verified
	// against and sent as SNI, when it differs from the Upstream URL's
	// host (an upstream reached by IP address, or by a name its
	// certificate does not hold). Empty means the URL's host. It must be
	// a host name or IP address, without port.
	ServerName string
}

// Validate reports every problem with o at once, as Options.Validate
// does.
func (o TransportOptions) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"DialTimeout", o.DialTimeout},
		{"TLSHandshakeTimeout", o.TLSHandshakeTimeout},
		{"ResponseHeaderTimeout", o.ResponseHeaderTimeout},
	} {
		if f.d < 0 {
			errs = append(errs, optionerr.New("proxy", f.name, "must not be negative"))
		}
	}
	if o.ServerName != "" && !validServerName(o.ServerName) {
		errs = append(errs, optionerr.New("proxy", "ServerName", "must be a host name or IP address, without scheme or port"))
	}
	return errors.Join(errs...)
}

// validServerName reports whether s is an IP address or a DNS name of
// letters, digits, "-" and ".", as a certificate holds.
func validServerName(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// NewTransport returns an upstream Transport with a keep-alive pool sized
// for concurrency, HTTP/2 to TLS upstreams that offer it, timeouts on
// every phase, and o's trust, client certificate and server name for
// https upstreams. It ignores HTTP_PROXY: upstream traffic goes direct.
// NewTransport does not fail: check o with Validate first, since a
// negative timeout, which Validate refuses, is taken here as its default.
func NewTransport(o TransportOptions) *http.Transport {
	noPool := o.MaxIdleConns < 0
	if o.MaxIdleConns <= 0 {
		o.MaxIdleConns = DefaultMaxIdleConns
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.TLSHandshakeTimeout <= 0 {
		o.TLSHandshakeTimeout = DefaultTLSHandshakeTimeout
	}
	if o.ResponseHeaderTimeout <= 0 {
		o.ResponseHeaderTimeout = DefaultResponseHeaderTimeout
	}
	var tc *tls.Config
	if o.RootCAs != nil || o.ClientCertificate != nil || o.ServerName != "" {
		tc = &tls.Config{RootCAs: o.RootCAs, GetClientCertificate: o.ClientCertificate, ServerName: o.ServerName}
	}
	return &http.Transport{
		TLSClientConfig:       tc,
		DialContext:           (&net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          o.MaxIdleConns,
		MaxIdleConnsPerHost:   o.MaxIdleConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   o.TLSHandshakeTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		DisableKeepAlives:     noPool,
	}
}
