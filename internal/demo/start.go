package demo

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// demoFirstCallDelay is how long the demo's Rezi stand-in takes for a new
// user, like the vendor.
const demoFirstCallDelay = 2 * time.Second

// shutdownGrace bounds how long Close waits for in-flight requests.
const shutdownGrace = 5 * time.Second

// Env is a running demo: the three servers on loopback and the secrets a
// proxy needs to use them.
type Env struct {
	// ProviderURL is the OpenID provider's issuer URL.
	ProviderURL string
	// ReziAPIURL is the Rezi stand-in's API base; it ends in /v1, so the
	// token endpoint is ReziAPIURL + "/user/token".
	ReziAPIURL string
	// RMSURL is the demo RMS: the upstream, and RMSURL + "/login/" is the
	// login URL.
	RMSURL string
	// ClientID and ClientSecret are the proxy's credentials at the provider.
	ClientID, ClientSecret string
	// PrivateKey is the Bearer key the Rezi stand-in accepts.
	PrivateKey string
	// Users are the provider's accounts, with their passwords.
	Users []User

	Provider *Provider
	Rezi     *Rezi
	RMS      *RMS

	servers   []*http.Server
	cancelReq context.CancelFunc // cancels in-flight requests' contexts
	stop      chan struct{}
	stopOnce  sync.Once
	done      chan struct{}
	err       error
}

// String describes the environment without its secrets, so printing it
// leaks nothing.
func (e *Env) String() string {
	return fmt.Sprintf("demo.Env{ProviderURL: %s, ReziAPIURL: %s, RMSURL: %s, ClientID: %s, secrets: REDACTED}",
		e.ProviderURL, e.ReziAPIURL, e.RMSURL, e.ClientID)
}

// LogValue keeps the secrets out of structured logs.
func (e *Env) LogValue() slog.Value {
	return slog.GroupValue(slog.String("provider_url", e.ProviderURL), slog.String("rezi_api_url", e.ReziAPIURL),
		slog.String("rms_url", e.RMSURL), slog.String("secrets", "REDACTED"))
}

// Start runs the demo OpenID provider, Rezi stand-in and RMS on 127.0.0.1
// with OS-chosen ports, fresh random secrets and passwords, and a 2 s first
// call at Rezi. The users are alice@example.com (verified),
// bob@example.com (email not verified) and mallory@outsider.example
// (verified, outside the demo's allowed domain). redirectURI is the only
// redirect URI the provider accepts. The servers stop when ctx is done or
// Close is called; Close waits for them.
func Start(ctx context.Context, redirectURI string) (*Env, error) {
	if _, ok := parseHTTPURL(redirectURI); !ok {
		return nil, errors.New("demo: start: redirect uri must be an absolute http(s) URL")
	}
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}
	var lc net.ListenConfig
	for range 3 {
		// Loopback only: the demo's secrets and accounts are printed in
		// the terminal and must not be reachable from the network.
		ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("demo: start: listen: %w", err)
		}
		lns = append(lns, ln)
	}
	e := &Env{
		ProviderURL:  "http://" + lns[0].Addr().String(),
		ReziAPIURL:   "http://" + lns[1].Addr().String() + "/v1",
		RMSURL:       "http://" + lns[2].Addr().String(),
		ClientID:     "rezigate-demo",
		ClientSecret: randomToken(),
		PrivateKey:   randomToken(),
		Users: []User{
			{Email: "alice@example.com", Password: demoPassword(), Subject: "demo-alice", Name: "Alice Example", EmailVerified: true, Groups: []string{"rms-users", "rms-admins"}},
			{Email: "bob@example.com", Password: demoPassword(), Subject: "demo-bob", Name: "Bob Example", EmailVerified: false, Groups: []string{"rms-users"}},
			{Email: "mallory@outsider.example", Password: demoPassword(), Subject: "demo-mallory", Name: "Mallory Outsider", EmailVerified: true},
		},
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	var err error
	e.Provider, err = NewProvider(ProviderOptions{
		Issuer:       e.ProviderURL,
		ClientID:     e.ClientID,
		ClientSecret: e.ClientSecret,
		RedirectURIs: []string{redirectURI},
		Users:        e.Users,
	})
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("demo: start: %w", err)
	}
	e.Rezi, err = NewRezi(ReziOptions{PrivateKey: e.PrivateKey, FirstCallDelay: demoFirstCallDelay})
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("demo: start: %w", err)
	}
	e.RMS = NewRMS()
	reziMux := http.NewServeMux()
	reziMux.Handle("/v1/user/token", e.Rezi)

	reqCtx, cancel := context.WithCancel(context.Background())
	e.cancelReq = cancel
	errLog := slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn)
	for _, h := range []http.Handler{e.Provider, reziMux, e.RMS} {
		e.servers = append(e.servers, &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          errLog,
			BaseContext:       func(net.Listener) context.Context { return reqCtx },
		})
	}

	var wg sync.WaitGroup
	errs := make([]error, len(e.servers))
	for i, srv := range e.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(lns[i]); !errors.Is(err, http.ErrServerClosed) {
				errs[i] = err
			}
		}()
	}
	go func() {
		select {
		case <-ctx.Done():
		case <-e.stop:
		}
		e.shutdown()
		wg.Wait()
		e.err = errors.Join(e.err, errors.Join(errs...))
		close(e.done)
	}()
	return e, nil
}

// shutdown cancels in-flight requests first, so handlers that wait on their
// context (a slow Rezi, a new user's delay) return at once, then stops the
// servers.
func (e *Env) shutdown() {
	e.cancelReq()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var errs []error
	for _, srv := range e.servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err, srv.Close())
		}
	}
	if err := errors.Join(errs...); err != nil {
		e.err = fmt.Errorf("demo: shut down: %w", err)
	}
}

// Close stops the servers if ctx has not already, and waits until they
// have stopped. It is safe to call more than once.
func (e *Env) Close() error {
	e.stopOnce.Do(func() { close(e.stop) })
	<-e.done
	return e.err
}

// demoPassword returns a random password that is easy to type: four groups
// of four lower-case letters and digits.
func demoPassword() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	s := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}
