package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rezigate/rezigate/handoff"
	"github.com/rezigate/rezigate/identity"
	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/internal/localpath"
	"github.com/rezigate/rezigate/internal/session"
	"github.com/rezigate/rezigate/metrics"
	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/proxy"
	"github.com/rezigate/rezigate/rezi"
	"github.com/rezigate/rezigate/sessions"
)

// TestMain lets the test binary play the helper roles, so TestRun can
// start the whole bench with it.
func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role))
	}
	os.Exit(m.Run())
}

const (
	fixtureClientSecret = "bench-client-secret-4f1c"
	fixtureReziKey      = "bench-rezi-key-9a7e"
	fixturePassword     = "bench-password"
	fixtureBodySize     = 128
)

// fixture is rezigate assembled in-process as the binary assembles it
// (middleware with metrics, warn-level logs, the proxy), next to a bare
// ReverseProxy; both forward to the same in-memory upstream, so what the
// benchmarks compare is the handlers' own work.
type fixture struct {
	bare http.Handler
	// barePooled is bare with a BufferPool, as rezigate's proxy has.
	barePooled http.Handler
	rezigate   http.Handler
	// session is the middleware in front of a handler that does nothing:
	// the cost of the session check alone.
	session   http.Handler
	auth      *middleware.Auth
	upstream  *memTransport
	reziCalls func() int
	cookie    string // "name=value"
	codec     *session.Codec
	sealed    string // a session cookie value sealed by codec
	uidSecret []byte // the middleware's Options.UIDSecret
	issuer    string // the provider's issuer, which the uid binds
}

var (
	fixtureOnce sync.Once
	theFixture  *fixture
	fixtureErr  error
)

// getFixture builds the fixture once per test binary: it signs in through
// the demo provider over loopback, which takes a moment.
func getFixture(tb testing.TB) *fixture {
	tb.Helper()
	fixtureOnce.Do(func() { theFixture, fixtureErr = newFixture() })
	if fixtureErr != nil {
		tb.Fatalf("fixture: %v", fixtureErr)
	}
	return theFixture
}

func newFixture() (*fixture, error) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f := &fixture{upstream: &memTransport{body: bytes.Repeat([]byte("r"), fixtureBodySize)}}

	// The servers below live until the test binary exits.
	front := httptest.NewUnstartedServer(nil)
	public := "http://" + front.Listener.Addr().String()
	provSrv := httptest.NewUnstartedServer(nil)
	provider, err := demo.NewProvider(demo.ProviderOptions{
		Issuer: "http://" + provSrv.Listener.Addr().String(), ClientID: benchClientID, ClientSecret: fixtureClientSecret,
		RedirectURIs: []string{public + "/oauth2/callback"},
		Users:        []demo.User{{Email: benchEmail, Password: fixturePassword, Subject: benchSubject, EmailVerified: true}},
		Logger:       log,
	})
	if err != nil {
		return nil, err
	}
	provSrv.Config.Handler = provider
	provSrv.Start()
	stub, err := demo.NewRezi(demo.ReziOptions{PrivateKey: fixtureReziKey, Logger: log})
	if err != nil {
		return nil, err
	}
	f.reziCalls = stub.Calls
	reziSrv := httptest.NewServer(stub)

	op, err := oidc.New(ctx, oidc.Options{
		IssuerURL: provider.Issuer(), ClientID: benchClientID, ClientSecret: fixtureClientSecret,
		RedirectURL: public + "/oauth2/callback", Logger: log,
	})
	if err != nil {
		return nil, err
	}
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		return nil, err
	}
	rc, err := rezi.New(rezi.Options{APIURL: reziSrv.URL + "/v1", PrivateKey: fixtureReziKey, Logger: log, Observe: m.ObserveRezi})
	if err != nil {
		return nil, err
	}
	secret := []byte(randomHex(32))
	f.uidSecret, f.issuer = []byte(randomHex(32)), provider.Issuer()
	f.auth, err = middleware.New(middleware.Options{
		Provider: op, PublicURL: public,
		Session:   sessions.Settings{Secrets: [][]byte{secret}, CookieName: cookieName, InsecureCookies: true},
		UIDSecret: f.uidSecret, Policy: policy.Options{AllowedEmailDomains: []string{"example.com"}},
		Handoff:     handoff.Options{Rezi: rc, LoginURL: "/login/", RateLimit: -1},
		ServeHealth: true, Metrics: m, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	up, _ := url.Parse("http://upstream.invalid")
	px, err := proxy.New(proxy.Options{
		Upstream: up, Transport: f.upstream, Identity: userIdentity,
		StripHeaders: []string{"X-Auth-Request-Email", "X-Auth-Request-User"}, StripCookies: f.auth.OwnCookie, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	f.rezigate = f.auth.Wrap(px)
	f.session = f.auth.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	f.bare = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			pr.SetXForwarded()
		},
		Transport: f.upstream,
	}
	f.barePooled = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			pr.SetXForwarded()
		},
		Transport:  f.upstream,
		BufferPool: benchPool{},
	}
	front.Config.Handler = f.rezigate
	front.Start()
	if f.cookie, err = signIn(ctx, front.URL, provider.Issuer(), cookieName, benchEmail, fixturePassword); err != nil {
		return nil, err
	}
	if f.codec, err = session.NewCodec([][]byte{secret}, time.Hour); err != nil {
		return nil, err
	}
	if f.sealed, err = f.codec.Encode(cookieName, &session.Session{Email: benchEmail, UID: identity.UID(f.uidSecret, f.issuer, benchSubject), Expires: time.Now().Add(time.Hour)}); err != nil {
		return nil, err
	}
	// The first /rezi fills the token cache; the benchmarks measure hits.
	if w := f.serve(f.session, "/rezi"); w.status() != http.StatusFound {
		return nil, fmt.Errorf("bench fixture: first /rezi answered %d; want 302", w.status())
	}
	return f, nil
}

// serve runs one signed-in GET of path through h.
func (f *fixture) serve(h http.Handler, path string) *discardWriter {
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, f.request(path))
	return w
}

// request builds a GET as the server would hand it over. It is built anew
// each time: the middleware removes its cookie from the request.
func (f *fixture) request(path string) *http.Request {
	return &http.Request{
		Method: http.MethodGet, URL: &url.URL{Path: path}, RequestURI: path,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:     http.Header{"Cookie": {f.cookie}, "Accept": {"*/*"}, "User-Agent": {"bench"}},
		Host:       "rezigate.test",
		RemoteAddr: "127.0.0.1:40000",
		Body:       http.NoBody,
	}
}

// memTransport is an upstream in memory: a 200 with a fixed body.
type memTransport struct {
	body     []byte
	requests atomic.Int64
	// lastUser is the identity header of the latest request.
	lastUser atomic.Value
}

func (t *memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.requests.Add(1)
	t.lastUser.Store(r.Header.Get(proxy.DefaultUserHeader))
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{
			"Content-Type":   {"text/plain; charset=utf-8"},
			"Content-Length": {strconv.Itoa(len(t.body))},
		},
		Body:          io.NopCloser(bytes.NewReader(t.body)),
		ContentLength: int64(len(t.body)),
		Request:       r,
	}, nil
}

// discardWriter is a ResponseWriter that keeps only the status and the
// body length, so the benchmarks measure the handler, not a recorder.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header { return w.h }

func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *discardWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(b)
	return len(b), nil
}

// status is the code a server would send: 200 when none was written.
func (w *discardWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// reset makes the writer ready for the next request without allocating.
func (w *discardWriter) reset() {
	clear(w.h)
	w.code, w.n = 0, 0
}

// loop serves b.N signed-in GETs of path through h.
func (f *fixture) loop(b *testing.B, h http.Handler, path string, want int) {
	b.Helper()
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, f.request(path))
	}
	b.StopTimer()
	if w.status() != want {
		b.Fatalf("GET %s = %d; want %d", path, w.status(), want)
	}
}

// BenchmarkProxied is a signed-in user's proxied GET, through rezigate and
// through a bare ReverseProxy.
func BenchmarkProxied(b *testing.B) {
	f := getFixture(b)
	b.Run("bare", func(b *testing.B) { f.loop(b, f.bare, "/", http.StatusOK) })
	b.Run("rezigate", func(b *testing.B) { f.loop(b, f.rezigate, "/", http.StatusOK) })
}

type benchPool struct{}

var benchBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (benchPool) Get() []byte  { return *benchBufs.Get().(*[]byte) }
func (benchPool) Put(b []byte) { benchBufs.Put(&b) }

// BenchmarkProxiedRatioPooled is BenchmarkProxiedRatio against a bare
// proxy that also pools its copy buffers: the handlers' own extra work.
func BenchmarkProxiedRatioPooled(b *testing.B) {
	f := getFixture(b)
	ratioBench(b, "bare", f.barePooled, "/", http.StatusOK, "rezigate", f.rezigate, "/", http.StatusOK)
}

// BenchmarkProxiedRatio alternates batches of bare and rezigate requests
// in one benchmark, so both see the same machine, and reports rezigate's
// time per request over the bare proxy's. The process target is 1.15.
func BenchmarkProxiedRatio(b *testing.B) {
	f := getFixture(b)
	ratioBench(b, "bare", f.bare, "/", http.StatusOK, "rezigate", f.rezigate, "/", http.StatusOK)
}

// BenchmarkReziHit is GET /rezi for a user whose Rezi token is cached.
func BenchmarkReziHit(b *testing.B) {
	f := getFixture(b)
	calls := f.reziCalls()
	f.loop(b, f.rezigate, "/rezi", http.StatusFound)
	if got := f.reziCalls(); got != calls {
		b.Fatalf("Rezi calls during the benchmark = %d; want 0 (cache hits only)", got-calls)
	}
}

// BenchmarkReziHitRatio reports a cached /rezi over a proxied request of
// the same user through the same rezigate. The target is 1.2.
func BenchmarkReziHitRatio(b *testing.B) {
	f := getFixture(b)
	ratioBench(b, "proxied", f.rezigate, "/", http.StatusOK, "rezi-hit", f.rezigate, "/rezi", http.StatusFound)
}

// BenchmarkSessionCheck is the middleware on a signed-in request in front
// of a handler that does nothing ("middleware"), and the session cookie
// decode alone ("decode").
func BenchmarkSessionCheck(b *testing.B) {
	f := getFixture(b)
	b.Run("middleware", func(b *testing.B) { f.loop(b, f.session, "/", http.StatusOK) })
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		var s session.Session
		for b.Loop() {
			if err := f.codec.Decode(cookieName, f.sealed, &s); err != nil {
				b.Fatalf("Decode(%q) = %v; want nil", cookieName, err)
			}
		}
	})
}

// BenchmarkUID is the uid derivation for one subject.
func BenchmarkUID(b *testing.B) {
	f := getFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = identity.UID(f.uidSecret, f.issuer, benchSubject)
	}
}

// BenchmarkRedirectValidator checks typical rd values, accepted and refused.
func BenchmarkRedirectValidator(b *testing.B) {
	paths := []string{"/", "/dashboard/education?tab=2", "//evil.example", "/\\evil", "/%2F%2Fevil", "https://evil.example/"}
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range paths {
			_ = localpath.Valid(p)
		}
	}
}

// ratioBench alternates batches of den and num requests and reports each
// one's time per request and num's over den's.
func ratioBench(b *testing.B, denName string, den http.Handler, denPath string, denWant int,
	numName string, num http.Handler, numPath string, numWant int) {
	b.Helper()
	f := getFixture(b)
	const batch = 64
	w := &discardWriter{h: http.Header{}}
	var tDen, tNum time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		k := min(batch, b.N-i)
		t0 := time.Now()
		for range k {
			w.reset()
			den.ServeHTTP(w, f.request(denPath))
		}
		if w.status() != denWant {
			b.Fatalf("%s: GET %s = %d; want %d", denName, denPath, w.status(), denWant)
		}
		t1 := time.Now()
		for range k {
			w.reset()
			num.ServeHTTP(w, f.request(numPath))
		}
		tDen += t1.Sub(t0)
		tNum += time.Since(t1)
		if w.status() != numWant {
			b.Fatalf("%s: GET %s = %d; want %d", numName, numPath, w.status(), numWant)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(tDen.Nanoseconds())/float64(b.N), denName+"-ns/req")
	b.ReportMetric(float64(tNum.Nanoseconds())/float64(b.N), numName+"-ns/req")
	if tDen > 0 {
		b.ReportMetric(float64(tNum)/float64(tDen), "ratio")
	}
}

// userIdentity is proxy.Options.Identity for requests that went through
// (*middleware.Auth).Wrap, as the command wires it.
func userIdentity(r *http.Request) (email, uid string, ok bool) {
	u, ok := middleware.UserFromContext(r.Context())
	return u.Email, u.UID, ok
}
