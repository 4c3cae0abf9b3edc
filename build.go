package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/internal/config"
	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/proxy"
	"github.com/rezigate/rezigate/rezi"
)

// build assembles the handler from the configuration: the middleware in
// front of the proxy, or of 404 when no upstream is configured. closeParts
// closes what it connected (Redis); call it once the server has drained.
func build(ctx context.Context, cfg *config.Config, log *slog.Logger, metrics *middleware.Metrics) (_ http.Handler, closeParts func(), err error) {
	provider, err := oidc.New(ctx, cfg.OIDCOptions(log))
	if err != nil {
		return nil, nil, err
	}
	shared, err := newRedisParts(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			shared.close()
		}
	}()
	ro := cfg.ReziOptions(log, metrics.ObserveRezi)
	if shared != nil && shared.tokens != nil {
		ro.TokenCache = shared.tokens
	}
	rc, err := rezi.New(ro)
	if err != nil {
		return nil, nil, err
	}
	signer, err := newSigner(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	mo := cfg.MiddlewareOptions(provider, rc, log, metrics)
	mo.Assertion = signer
	if shared != nil {
		mo.Store = shared.store
		if shared.limiter != nil {
			mo.Handoff.Limiter = shared.limiter
		}
	}
	auth, err := middleware.New(mo)
	if err != nil {
		return nil, nil, err
	}
	var app http.Handler = http.NotFoundHandler()
	if cfg.Upstream != "" {
		po := cfg.ProxyOptions(log)
		po.Identity, po.Groups, po.StripCookies, po.Assertion = identity, groups, auth.OwnCookie, signer
		if app, err = proxy.New(po); err != nil {
			return nil, nil, err
		}
	}
	return auth.Wrap(app), shared.close, nil
}

// newSigner returns the assertion signer, or nil when assertion.header is
// not set. Without signing_keys it makes a fresh P-256 key, which lives
// as long as the process.
func newSigner(cfg *config.Config, log *slog.Logger) (*assertion.Signer, error) {
	if !cfg.AssertionEnabled() {
		return nil, nil
	}
	so, err := cfg.AssertionOptions()
	if err != nil {
		return nil, err
	}
	if len(so.Keys) == 0 {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("assertion: generate a key: %w", err)
		}
		so.Keys = []*ecdsa.PrivateKey{k}
		log.Warn("assertion: signing with a fresh key made at start; other replicas cannot share it (set REZIGATE_ASSERTION_SIGNING_KEYS)")
	}
	return assertion.NewSigner(so)
}

// groups hands the signed-in user's groups to the proxy.
func groups(r *http.Request) []string {
	u, _ := middleware.UserFromContext(r.Context())
	return u.Groups
}

// identity hands the signed-in user to the proxy's identity headers.
func identity(r *http.Request) (email, uid string, ok bool) {
	u, ok := middleware.UserFromContext(r.Context())
	return u.Email, u.UID, ok
}
