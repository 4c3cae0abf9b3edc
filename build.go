package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/rezigate/rezigate/internal/config"
	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/proxy"
	"github.com/rezigate/rezigate/rezi"
)

// build maps the configuration onto the packages' Options and assembles
// the handler: the middleware in front of the proxy (or of 404 when no
// upstream is configured). Where the YAML and the Options differ in what
// zero means, the mapping says so.
func build(ctx context.Context, cfg *config.Config, log *slog.Logger, metrics *middleware.Metrics) (http.Handler, error) {
	provider, err := oidc.New(ctx, oidc.Options{
		IssuerURL: cfg.OIDC.IssuerURL, ClientID: cfg.OIDC.ClientID, ClientSecret: string(cfg.OIDC.ClientSecret),
		RedirectURL: cfg.RedirectURL(), Scopes: cfg.OIDC.Scopes, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	cacheSize := cfg.Rezi.CacheSize
	if cacheSize == 0 {
		cacheSize = -1 // config: 0 turns the cache off
	}
	reziClient, err := rezi.New(rezi.Options{
		APIURL: cfg.Rezi.APIURL, PrivateKey: string(cfg.Rezi.PrivateKey), Timeout: time.Duration(cfg.Rezi.Timeout),
		CacheSize: cacheSize, CacheMargin: time.Duration(cfg.Rezi.CacheMargin), Logger: log, Observe: metrics.ObserveRezi,
	})
	if err != nil {
		return nil, err
	}
	secrets := make([][]byte, len(cfg.Session.Secrets))
	for i, s := range cfg.Session.Secrets {
		secrets[i] = []byte(s)
	}
	rateLimit := cfg.Rezi.RateLimit
	if rateLimit == 0 {
		rateLimit = -1 // config: 0 turns the limit off
	}
	auth, err := middleware.New(middleware.Options{
		Provider: provider, Rezi: reziClient, PublicURL: cfg.PublicURL,
		SessionSecrets: secrets, CookieName: cfg.Session.CookieName, SessionMaxAge: time.Duration(cfg.Session.MaxAge),
		InsecureCookies: !cfg.Session.Secure, UIDSecret: []byte(cfg.Identity.UIDSecret),
		AllowedEmailDomains: cfg.OIDC.AllowedEmailDomains, AllowUnverifiedEmail: !cfg.OIDC.RequireEmailVerified,
		ProviderSignOut: cfg.OIDC.ProviderSignOut, LoginURL: cfg.Rezi.LoginURL,
		OpenOnboarding: cfg.Rezi.OpenOnboarding, CloseOnboardingRedirect: cfg.Rezi.CloseOnboardingRedirect,
		ReziRateLimit: rateLimit, ServeHealth: true, RedactEmail: cfg.Log.RedactEmail, Metrics: metrics, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	idle := cfg.UpstreamMaxIdleConns
	if idle == 0 {
		idle = -1 // config: 0 keeps no idle connections
	}
	var app http.Handler = http.NotFoundHandler()
	if cfg.Upstream != "" {
		up, err := url.Parse(cfg.Upstream)
		if err != nil {
			return nil, fmt.Errorf("upstream: %w", err)
		}
		public, err := url.Parse(cfg.PublicURL)
		if err != nil {
			return nil, fmt.Errorf("public_url: %w", err)
		}
		app, err = proxy.New(proxy.Options{
			Upstream:     up,
			PublicURL:    public,
			Transport:    proxy.NewTransport(proxy.TransportOptions{MaxIdleConns: idle}),
			Identity:     middleware.Identity,
			StripCookies: auth.OwnCookie,
			Logger:       log,
		})
		if err != nil {
			return nil, err
		}
	}
	return auth.Wrap(app), nil
}
