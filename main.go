// Command rezigate is a single-sign-on reverse proxy that signs employees
// in through the company's OpenID Connect provider and into the Rezi RMS.
//
//	rezigate -config config.yaml         serve
//	rezigate -config config.yaml -check  validate the configuration and exit
//	rezigate -demo                       the whole journey on loopback, nothing to configure
//	rezigate help                        how to run it (as -h)
//
// This file is wiring only: every request is handled by the importable
// packages middleware, proxy, oidc and rezi.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rezigate/rezigate/internal/config"
	"github.com/rezigate/rezigate/internal/logwriter"
	"github.com/rezigate/rezigate/metrics"
	"github.com/rezigate/rezigate/sessions/redisstore"
	"github.com/rezigate/rezigate/tlsserve"
)

const usage = `rezigate signs employees in through the company's OpenID Connect provider
and hands them to a Rezi RMS, as a reverse proxy or forward-auth service.

Usage:
  rezigate -demo                     try the whole journey on loopback, nothing to configure
  rezigate -config FILE              serve with the configuration in FILE
  rezigate -config FILE -check       validate FILE, print it with secrets redacted, and exit
  rezigate explain -config FILE -email E [-groups G1,G2] METHOD PATH
                                     which policy rule decides a request, and why
  rezigate revoke -config FILE -uid UID | -sub SUBJECT
                                     end every session of a person (needs session.store: redis)
  rezigate -version                  print the version and the VCS revision it was built from
  rezigate help                      print this help (as rezigate -h)

Secrets never go in the file: set REZIGATE_OIDC_CLIENT_SECRET,
REZIGATE_SESSION_SECRETS, REZIGATE_IDENTITY_UID_SECRET and
REZIGATE_REZI_PRIVATE_KEY in the environment. Every key of the file can be
overridden by REZIGATE_ + its path in upper snake case; config.example.yaml
lists them all with their defaults.

Flags:
`

func main() {
	if len(os.Args) > 1 && os.Args[1] == "explain" {
		os.Exit(runExplain(os.Args[2:], os.Environ(), os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "revoke" {
		os.Exit(runRevoke(os.Args[2:], os.Environ(), os.Stdout, os.Stderr))
	}
	a, code := parseArgs(os.Args[1:], os.Stdout, os.Stderr)
	if a == nil {
		os.Exit(code)
	}
	if a.version {
		fmt.Println(versionString())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, a.configPath, a.check, a.demo, a.demoRedis); err != nil {
		fmt.Fprintln(os.Stderr, "rezigate:", err)
		os.Exit(1)
	}
}

// args is what the command line asks for.
type args struct {
	configPath                      string
	check, demo, demoRedis, version bool
}

// parseArgs reads the command line after the program name. It returns nil
// args when the command is done: help was printed on stdout (exit code 0),
// or a usage error on stderr (exit code 2).
func parseArgs(argv []string, stdout, stderr io.Writer) (*args, int) {
	var a args
	fs := flag.NewFlagSet("rezigate", flag.ContinueOnError)
	fs.StringVar(&a.configPath, "config", "config.yaml", "configuration `file` (YAML)")
	fs.BoolVar(&a.check, "check", false, "validate the configuration, print it with secrets redacted, and exit")
	fs.BoolVar(&a.demo, "demo", false, "run the whole journey on loopback with a built-in provider, Rezi stand-in and RMS (not for production)")
	fs.BoolVar(&a.demoRedis, "demo-redis", false, "with -demo: keep sessions in a redis-server (from PATH) started on loopback for the demo")
	fs.BoolVar(&a.version, "version", false, "print the module, VCS revision and Go versions and exit")
	help := func() {
		fs.SetOutput(stdout)
		fmt.Fprint(stdout, usage)
		fs.PrintDefaults()
	}
	if len(argv) > 0 && argv[0] == "help" {
		if len(argv) > 1 {
			fmt.Fprintf(stderr, "rezigate help: unexpected arguments: %s\n", strings.Join(argv[1:], " "))
			return nil, 2
		}
		help()
		return nil, 0
	}
	// The flag package's own messages go nowhere: help goes to stdout,
	// and a usage error is said once, below, with where to look.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	switch err := fs.Parse(argv); {
	case errors.Is(err, flag.ErrHelp):
		help()
		return nil, 0
	case err != nil:
		fmt.Fprintf(stderr, "rezigate: %v (rezigate -h lists the flags)\n", err)
		return nil, 2
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "rezigate: unexpected arguments: %s (rezigate -h lists the ways to run it)\n", strings.Join(fs.Args(), " "))
		return nil, 2
	}
	return &a, 0
}

// versionString names the module version this binary was built from, the
// VCS revision when the build recorded one, and the Go release that built
// it.
func versionString() string {
	bi, _ := debug.ReadBuildInfo()
	return versionFrom(bi)
}

// versionFrom is versionString for the build information bi (nil: none).
func versionFrom(bi *debug.BuildInfo) string {
	if bi == nil {
		return "rezigate (devel) " + runtime.Version()
	}
	s := "rezigate " + bi.Main.Version
	var rev, at string
	var modified bool
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.time":
			at = kv.Value
		case "vcs.modified":
			modified = kv.Value == "true"
		}
	}
	if rev != "" {
		s += " revision " + rev
		if modified {
			s += " (modified)"
		}
		if at != "" {
			s += " " + at
		}
	}
	return s + " " + bi.GoVersion
}

func run(ctx context.Context, path string, check, demoMode, demoRedis bool) error {
	if demoRedis && !demoMode {
		return errors.New("-demo-redis needs -demo")
	}
	if demoMode {
		return runDemo(ctx, demoRedis)
	}
	cfg, err := config.Load(path, os.Environ())
	switch {
	case errors.Is(err, config.ErrNoFile):
		return err
	case err != nil:
		fmt.Fprintf(os.Stderr, "%s: configuration is invalid:\n%v\n", path, err)
		return errors.New("invalid configuration")
	}
	if check {
		fmt.Print(cfg.Redacted())
		for _, w := range cfg.Warnings() {
			fmt.Fprintln(os.Stderr, "warning:", w)
		}
		if err := checkRedis(ctx, cfg); err != nil {
			fmt.Fprintf(os.Stderr, "%s: configuration is invalid:\n%v\n", path, err)
			return errors.New("invalid configuration")
		}
		fmt.Fprintf(os.Stderr, "%s: oidc.provider %s: %s\n", path, cfg.OIDC.Provider, config.ProfileRules(cfg.OIDC.Provider))
		fmt.Fprintf(os.Stderr, "%s: configuration is valid\n", path)
		return nil
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return serve(ctx, cfg, ln, nil)
}

// checkRedisTimeout bounds how long -check waits for Redis.
const checkRedisTimeout = 5 * time.Second

// checkRedis connects to Redis, with session.store redis, for -check: a
// URL that Redis refuses (redisstore.ErrMisconfigured) is an error naming
// its variable; a Redis that does not answer within checkRedisTimeout is
// only a warning, as it may be down for now.
func checkRedis(ctx context.Context, cfg *config.Config) error {
	if cfg.Session.Store != config.StoreRedis {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, checkRedisTimeout)
	defer cancel()
	store, err := redisstore.New(ctx, cfg.RedisOptions())
	switch {
	case errors.Is(err, redisstore.ErrMisconfigured):
		return cfg.RedisProblem(err)
	case err != nil:
		fmt.Fprintln(os.Stderr, "warning: redis.url: not checked against Redis, which did not answer:", err)
		return nil
	}
	store.Close()
	return nil
}

// newLogger logs to stderr through a buffer flushed every 100 ms, so
// access logs do not cost a system call per request; close flushes it.
func newLogger(c config.Log) (log *slog.Logger, close func()) {
	out := logwriter.New(os.Stderr, 0)
	opts := &slog.HandlerOptions{Level: c.SlogLevel()}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(out, opts)), func() { _ = out.Close() }
	}
	return slog.New(slog.NewTextHandler(out, opts)), func() { _ = out.Close() }
}

// newServer bounds what one client can hold: 10 s to send its headers (a
// slow-header client cannot pin connections), 64 KiB of them, and 120 s of
// keep-alive idleness. There is no overall read or write timeout, since
// uploads and downloads through the proxy may legitimately take long.
func newServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// serve builds every part from cfg and serves on ln until ctx is done,
// then drains in-flight requests for at most shutdown_timeout. ready, when
// not nil, is called once the server accepts requests.
func serve(ctx context.Context, cfg *config.Config, ln net.Listener, ready func()) error {
	log, closeLog := newLogger(cfg.Log)
	defer closeLog()
	for _, w := range cfg.Warnings() {
		log.Warn("unsafe setting: " + w)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := metrics.New(reg)
	if err != nil {
		return err
	}
	handler, acm, closeParts, err := build(ctx, cfg, log, m)
	if err != nil {
		return err
	}
	defer closeParts()
	srv := newServer(handler, log)
	switch {
	case cfg.TLSEnabled():
		if srv.TLSConfig, err = tlsserve.NewConfig(cfg.TLSOptions(log)); err != nil {
			return err
		}
	case acm != nil:
		// The ACME certificates, under tls.min_version; acme-tls/1 lets
		// the CA's TLS-ALPN-01 validation reach them on this listener.
		ac := acm.TLSConfig()
		to := cfg.TLSOptions(log)
		to.GetCertificate = ac.GetCertificate
		if srv.TLSConfig, err = tlsserve.NewConfig(to); err != nil {
			return err
		}
		srv.TLSConfig.NextProtos = ac.NextProtos
	}
	servers := []*http.Server{srv}
	errc := make(chan error, 3)
	if cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			return fmt.Errorf("metrics listen: %w", err)
		}
		msrv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, msrv)
		go func() { errc <- msrv.Serve(mln) }()
		log.Info("metrics listening", "addr", mln.Addr().String())
	}
	if cfg.TLS.RedirectListen != "" {
		rln, err := net.Listen("tcp", cfg.TLS.RedirectListen)
		if err != nil {
			return fmt.Errorf("redirect listen: %w", err)
		}
		public, _ := url.Parse(cfg.PublicURL) // validated
		var challenge http.Handler            // HTTP-01: answered only with tls.acme
		if acm != nil {
			challenge = acm.HTTPHandler(http.NotFoundHandler())
		}
		rsrv := newServer(tlsserve.Redirect(public, challenge), log)
		servers = append(servers, rsrv)
		go func() { errc <- rsrv.Serve(rln) }()
		log.Info("redirect listening", "addr", rln.Addr().String(), "to", public.Scheme+"://"+public.Host)
	}
	if srv.TLSConfig != nil {
		// ServeTLS adds HTTP/2 to the server, as ALPN "h2" in NextProtos asks.
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	log.Info("rezigate listening", "addr", ln.Addr().String(), "tls", srv.TLSConfig != nil, "public_url", cfg.PublicURL, "upstream", cfg.Upstream)
	if ready != nil {
		ready()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", time.Duration(cfg.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.ShutdownTimeout))
	defer cancel()
	var errs []error
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
	}
	return errors.Join(errs...)
}
