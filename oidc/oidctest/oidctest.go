// Package oidctest is an OpenID Connect provider for tests of programs
// that embed rezigate's middleware: an http.Handler to serve with
// httptest.NewServer, so a test can sign a user in through the real
// authorization code flow without a real provider.
//
// It is for tests only. It keeps everything in memory, lets anyone who
// knows a user's password sign in, and serves over whatever the server
// it is mounted in serves: never mount it in a program that others reach.
//
// The provider learns its issuer once it is mounted, as go-oidc's own
// oidctest does:
//
//	idp := oidctest.New(oidctest.Options{
//		ClientID: "my-app", ClientSecret: "test-client-secret",
//		Users: []oidctest.User{{Email: "alice@example.com", Password: "pw"}},
//	})
//	srv := httptest.NewServer(idp)
//	defer srv.Close()
//	if err := idp.SetIssuer(srv.URL); err != nil { ... }
//	// oidc.New(ctx, oidc.Options{IssuerURL: idp.Issuer(), ...})
//
// It implements the authorization code flow with mandatory PKCE (S256),
// RS256 ID tokens, discovery, JWKS, userinfo, refresh tokens and
// RP-initiated logout, as go-oidc and rezigate's oidc package expect them.
// Every authorization request shows a login form with the fields "login"
// (the user's email) and "password", posted back to the same URL; a test
// client with a cookie jar signs in by posting them there (see the
// example). A good login redirects to the client's redirect URI with a
// code, valid once for 60 seconds.
package oidctest

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/rezigate/rezigate/internal/demo"
)

// User is an account of the provider.
type User struct {
	// Email is the login name and the "email" claim, sent exactly as
	// given. Required; the login form matches it case-insensitively.
	Email string
	// Password is what the login form asks for. Required: it is a test
	// password, but an empty one would let anyone sign in as the user.
	Password string
	// Subject is the "sub" claim. Empty means a value derived from Email,
	// the same on every run.
	Subject string
	// Name is the "name" claim; empty leaves the claim out.
	Name string
	// EmailUnverified sends "email_verified": false, which the middleware
	// refuses unless its AllowUnverifiedEmail is set. False, the zero
	// value, sends true, as a company provider does.
	EmailUnverified bool
	// Groups is the "groups" claim of the ID token (oidc.DefaultGroupsClaim);
	// nil or empty leaves the claim out.
	Groups []string
}

// Options configure New.
type Options struct {
	// ClientID is the one client the provider knows. Required.
	ClientID string
	// ClientSecret authenticates the client at the token endpoint.
	// Required.
	ClientSecret string
	// RedirectURIs are the allowed redirect_uri values, matched exactly.
	// Empty allows any absolute http(s) URL: an open redirect for codes,
	// acceptable only because the provider serves tests; it also means
	// the logout endpoint never redirects.
	RedirectURIs []string
	// Users are the accounts that can sign in. Empty means nobody can.
	Users []User
	// Logger receives a line per sign-in and per refusal, never a
	// password, code or token. Nil means slog.Default().
	Logger *slog.Logger
}

// Provider is the test provider: an http.Handler that serves nothing
// until SetIssuer names where it is mounted. It is safe for concurrent
// use.
type Provider struct {
	opts Options

	mu sync.RWMutex
	p  *demo.Provider // nil until SetIssuer
}

// New returns a provider for opts. It checks nothing until SetIssuer, which
// reports every problem with opts.
func New(opts Options) *Provider {
	return &Provider{opts: opts}
}

// SetIssuer makes the provider serve as issuer: the URL of the server it
// is mounted in (httptest.Server.URL), plus the path it is mounted under
// if it is not at the root. It generates a fresh signing key, so tokens
// issued before a second call no longer verify. It returns an error when
// issuer is not an absolute http(s) URL without a trailing slash, or when
// the Options are incomplete.
func (p *Provider) SetIssuer(issuer string) error {
	users := make([]demo.User, len(p.opts.Users))
	for i, u := range p.opts.Users {
		users[i] = demo.User{
			Email: u.Email, Password: u.Password, Subject: u.Subject, Name: u.Name,
			EmailVerified: !u.EmailUnverified, Groups: u.Groups,
		}
	}
	dp, err := demo.NewProvider(demo.ProviderOptions{
		Issuer: issuer, ClientID: p.opts.ClientID, ClientSecret: p.opts.ClientSecret,
		RedirectURIs: p.opts.RedirectURIs, Users: users, Logger: p.opts.Logger,
	})
	if err != nil {
		return fmt.Errorf("oidctest: set issuer: %w", errors.Unwrap(err))
	}
	p.mu.Lock()
	p.p = dp
	p.mu.Unlock()
	return nil
}

// Issuer returns the issuer SetIssuer set, or "" before it is called.
func (p *Provider) Issuer() string {
	if dp := p.provider(); dp != nil {
		return dp.Issuer()
	}
	return ""
}

// ServeHTTP serves the provider's endpoints under the issuer's path. Before
// SetIssuer it answers 503 to everything.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	dp := p.provider()
	if dp == nil {
		http.Error(w, "oidctest: SetIssuer has not been called", http.StatusServiceUnavailable)
		return
	}
	dp.ServeHTTP(w, r)
}

func (p *Provider) provider() *demo.Provider {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.p
}
