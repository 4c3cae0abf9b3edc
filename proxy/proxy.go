package proxy

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rezigate/rezigate/internal/requestid"
)

// Default header names for the identity sent upstream.
const (
	DefaultEmailHeader = "X-Forwarded-Email"
	DefaultUserHeader  = "X-Forwarded-User"
)

// Options configure a Proxy. Only Upstream is required.
type Options struct {
	// Upstream is the absolute http(s) URL requests are forwarded to. Its
	// path is prefixed to every request's path.
	Upstream *url.URL
	// Transport makes upstream requests. Nil means NewTransport(TransportOptions{}),
	// which keeps a large idle pool; http.DefaultTransport keeps only two
	// idle connections per host and reconnects under concurrency.
	Transport http.RoundTripper
	// Identity returns the signed-in user of a request. Nil, or ok false,
	// means no identity header is set; client-sent copies are still removed.
	Identity func(r *http.Request) (email, uid string, ok bool)
	// EmailHeader and UserHeader name the identity headers. Empty means
	// DefaultEmailHeader and DefaultUserHeader.
	EmailHeader, UserHeader string
	// StripHeaders lists more headers that must never come from a client,
	// such as forward-auth response headers. They are removed in every
	// spelling, like the identity headers.
	StripHeaders []string
	// StripCookies reports which request cookies must not reach the
	// upstream, such as the session cookie. Nil keeps every cookie.
	StripCookies func(name string) bool
	// Logger receives upstream errors with the request id. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Proxy is an http.Handler that forwards to the upstream.
type Proxy struct {
	rp      *httputil.ReverseProxy
	opts    Options
	stripFn []string // normalized names of headers to remove
	log     *slog.Logger
}

// New returns a Proxy for opts.
func New(opts Options) (*Proxy, error) {
	u := opts.Upstream
	if u == nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, errors.New("proxy: Upstream must be an absolute http(s) URL")
	}
	if opts.EmailHeader == "" {
		opts.EmailHeader = DefaultEmailHeader
	}
	if opts.UserHeader == "" {
		opts.UserHeader = DefaultUserHeader
	}
	if opts.Transport == nil {
		opts.Transport = NewTransport(TransportOptions{})
	}
	p := &Proxy{opts: opts, log: opts.Logger}
	if p.log == nil {
		p.log = slog.Default()
	}
	for _, h := range append([]string{opts.EmailHeader, opts.UserHeader}, opts.StripHeaders...) {
		p.stripFn = append(p.stripFn, normalize(h))
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

func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(p.opts.Upstream)
	pr.SetXForwarded()
	StripHeaders(pr.Out.Header, p.stripFn)
	if p.opts.StripCookies != nil {
		StripCookies(pr.Out.Header, p.opts.StripCookies)
	}
	if p.opts.Identity != nil {
		if email, uid, ok := p.opts.Identity(pr.In); ok {
			pr.Out.Header[p.opts.EmailHeader] = []string{email}
			pr.Out.Header[p.opts.UserHeader] = []string{uid}
		}
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
	if len(key) != len(want) {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '_':
			c = '-'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if c != want[i] {
			return false
		}
	}
	return true
}

// StripHeaders deletes from h every header whose name, folded for case and
// with "_" read as "-", equals one of names, which must already be folded
// that way (lower case, "-").
func StripHeaders(h http.Header, names []string) {
	for k := range h {
		for _, n := range names {
			if sameHeader(k, n) {
				delete(h, k)
				break
			}
		}
	}
}

// StripCookies removes from h's Cookie headers every cookie whose name
// drop reports true, keeping the others in order; pr.Out's headers are a
// copy, so this never touches the incoming request.
func StripCookies(h http.Header, drop func(name string) bool) {
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

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Status}}</title></head>
<body><h1>{{.Status}}</h1><p>{{.Message}}</p><p>Request id: <code>{{.ID}}</code></p></body></html>
`))

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
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = errorPage.Execute(w, struct {
		Status  string
		Message string
		ID      string
	}{fmt.Sprintf("%d %s", status, http.StatusText(status)), msg, id})
}

// copyBuffers recycles the buffers responses are copied through. Without
// a BufferPool, ReverseProxy allocates 32 KiB per response, and the
// garbage collector then dominates a busy proxy's CPU time.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

type bufferPool struct{}

func (bufferPool) Get() []byte  { return *copyBuffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { copyBuffers.Put(&b) }

// TransportOptions size and bound the upstream Transport.
type TransportOptions struct {
	// MaxIdleConns is the idle pool size, per host and in total. Zero
	// means 256: enough that a busy proxy reuses connections instead of
	// opening one per request. Negative keeps no idle connections at all.
	MaxIdleConns int
	// DialTimeout, TLSHandshakeTimeout and ResponseHeaderTimeout bound
	// each phase of an upstream request. Zero means 10 s, 10 s and 60 s.
	DialTimeout, TLSHandshakeTimeout, ResponseHeaderTimeout time.Duration
}

// NewTransport returns an upstream Transport with a keep-alive pool sized
// for concurrency, HTTP/2 to TLS upstreams that offer it, and timeouts on
// every phase. It ignores HTTP_PROXY: upstream traffic goes direct.
func NewTransport(o TransportOptions) *http.Transport {
	noPool := o.MaxIdleConns < 0
	if o.MaxIdleConns <= 0 {
		o.MaxIdleConns = 256
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.TLSHandshakeTimeout <= 0 {
		o.TLSHandshakeTimeout = 10 * time.Second
	}
	if o.ResponseHeaderTimeout <= 0 {
		o.ResponseHeaderTimeout = 60 * time.Second
	}
	return &http.Transport{
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
