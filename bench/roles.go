package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/proxy"
)

// Helper processes read their role and settings from the environment, not
// from flags, so that secrets stay out of the process list and a test
// binary can play the roles too.
const (
	roleEnv         = "BENCH_ROLE"
	bodySizeEnv     = "BENCH_BODY_SIZE"
	upstreamEnv     = "BENCH_UPSTREAM"
	maxIdleEnv      = "BENCH_MAX_IDLE"
	barePoolEnv     = "BENCH_BARE_POOL"
	redirectURIsEnv = "BENCH_REDIRECT_URIS"
	clientSecretEnv = "BENCH_CLIENT_SECRET"
	reziKeyEnv      = "BENCH_REZI_KEY"
	passwordEnv     = "BENCH_PASSWORD"
)

// Roles a helper process can play.
const (
	roleUpstream = "upstream"
	roleBare     = "bare"
	roleStubs    = "stubs"
)

// The account the bench signs in with, and the provider's client id.
const (
	benchEmail    = "alice@example.com"
	benchSubject  = "bench-alice"
	benchClientID = "rezigate-bench"
)

// readyPrefix starts the one line a helper writes to stdout once it
// serves; the rest of the line is key=value pairs.
const readyPrefix = "ready"

// runRole serves one helper role until stdin closes (the parent went away)
// or a signal ends the process, and returns the exit status.
func runRole(role string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() {
		// The parent holds our stdin open; EOF means it is gone, and a
		// helper must not outlive it.
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	var err error
	switch role {
	case roleUpstream:
		err = serveUpstream(log)
	case roleBare, roleBareTLS:
		err = serveBare(log)
	case roleStubs:
		err = serveStubs(log)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	fmt.Fprintf(os.Stderr, "bench %s: %v\n", role, err)
	return 1
}

// listenLoopback listens on an OS-chosen port of 127.0.0.1.
func listenLoopback() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: listen: %w", err)
	}
	return ln, nil
}

// newServer has the limits rezigate's own server has, so the bare proxy
// and the upstream are served the same way.
func newServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func announce(pairs ...string) {
	fmt.Println(readyPrefix + " " + strings.Join(pairs, " "))
}

// upstreamStats is what the upstream's control listener reports.
type upstreamStats struct {
	// Conns counts connections accepted on the serving listener.
	Conns int64 `json:"conns"`
	// Requests counts requests answered, and Identified those of them that
	// carried rezigate's X-Forwarded-User header.
	Requests   int64 `json:"requests"`
	Identified int64 `json:"identified"`
	// Asserted counts requests that carried an identity assertion, and
	// LastAssertion is the latest one.
	Asserted      int64  `json:"asserted"`
	LastAssertion string `json:"last_assertion,omitempty"`
}

// serveUpstream answers every request with the same small body. Its
// counters are served on a second listener, so reading them opens no
// connection that would be counted.
func serveUpstream(log *slog.Logger) error {
	size, err := envInt(bodySizeEnv, 128)
	if err != nil {
		return err
	}
	body := bytes.Repeat([]byte("r"), size)
	clen := strconv.Itoa(size)
	var conns, requests, identified, asserted atomic.Int64
	var lastAssertion atomic.Value
	lastAssertion.Store("")
	srv := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.Header.Get(proxy.DefaultUserHeader) != "" {
			identified.Add(1)
		}
		if a := r.Header[assertion.DefaultHeader]; len(a) > 0 {
			asserted.Add(1)
			lastAssertion.Store(a[0])
		}
		h := w.Header()
		h["Content-Type"] = []string{"text/plain; charset=utf-8"}
		h["Content-Length"] = []string{clen}
		_, _ = w.Write(body)
	}), log)
	srv.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ln, err := listenLoopback()
	if err != nil {
		return err
	}
	ctl, err := listenLoopback()
	if err != nil {
		return err
	}
	ctlSrv := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(upstreamStats{Conns: conns.Load(), Requests: requests.Load(), Identified: identified.Load(),
			Asserted: asserted.Load(), LastAssertion: lastAssertion.Load().(string)})
	}), log)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	go func() { errc <- ctlSrv.Serve(ctl) }()
	announce("addr="+ln.Addr().String(), "ctl="+ctl.Addr().String())
	return <-errc
}

// serveBare is the floor rezigate is compared with: the reverse proxy
// alone, with rezigate's upstream Transport and nothing else.
func serveBare(log *slog.Logger) error {
	up, err := url.Parse(os.Getenv(upstreamEnv))
	if err != nil || up.Host == "" {
		return fmt.Errorf("%s: not an absolute URL", upstreamEnv)
	}
	maxIdle, err := envInt(maxIdleEnv, 256)
	if err != nil {
		return err
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			pr.SetXForwarded()
		},
		Transport: proxy.NewTransport(proxy.TransportOptions{MaxIdleConns: maxIdle}),
		ErrorLog:  slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if os.Getenv(barePoolEnv) != "" {
		rp.BufferPool = &bufferPool{}
	}
	ln, err := listenLoopback()
	if err != nil {
		return err
	}
	ctl, err := listenLoopback()
	if err != nil {
		return err
	}
	ctlSrv := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, gcCycles())
	}), log)
	errc := make(chan error, 2)
	go func() { errc <- serveTLSIfAsked(newServer(rp, log), ln) }()
	go func() { errc <- ctlSrv.Serve(ctl) }()
	announce("addr="+ln.Addr().String(), "ctl="+ctl.Addr().String())
	return <-errc
}

// gcCycles is how many garbage collections this process has completed.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// serveStubs runs the demo OpenID provider and the Rezi stand-in. The Rezi
// listener also answers GET /bench/calls with the number of token calls,
// so the bench can prove that /rezi was answered from the cache.
func serveStubs(log *slog.Logger) error {
	secret, key, password := os.Getenv(clientSecretEnv), os.Getenv(reziKeyEnv), os.Getenv(passwordEnv)
	if secret == "" || key == "" || password == "" {
		return fmt.Errorf("%s, %s and %s are required", clientSecretEnv, reziKeyEnv, passwordEnv)
	}
	pln, err := listenLoopback()
	if err != nil {
		return err
	}
	rln, err := listenLoopback()
	if err != nil {
		return err
	}
	issuer := "http://" + pln.Addr().String()
	provider, err := demo.NewProvider(demo.ProviderOptions{
		Issuer:       issuer,
		ClientID:     benchClientID,
		ClientSecret: secret,
		RedirectURIs: strings.Split(os.Getenv(redirectURIsEnv), ","),
		Users:        benchUsers(password),
		Logger:       log,
	})
	if err != nil {
		return err
	}
	rezi, err := demo.NewRezi(demo.ReziOptions{PrivateKey: key, Logger: log})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/user/token", rezi)
	mux.HandleFunc("GET /bench/calls", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, rezi.Calls())
	})
	errc := make(chan error, 2)
	go func() { errc <- newServer(provider, log).Serve(pln) }()
	go func() { errc <- newServer(mux, log).Serve(rln) }()
	announce("issuer="+issuer, "rezi=http://"+rln.Addr().String())
	return <-errc
}

func envInt(name string, def int) (int, error) {
	s := os.Getenv(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errors.New(name + ": not a non-negative integer")
	}
	return n, nil
}

// bufferPool reuses the reverse proxy's 32 KiB copy buffers. Without one,
// every response allocates a fresh buffer, and at thousands of requests
// a second that allocation, not the proxying, sets how often the garbage
// collector runs.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if buf, ok := b.p.Get().(*[]byte); ok {
		return *buf
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }
