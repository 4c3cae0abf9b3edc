package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/rezigate/rezigate/internal/config"
	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/proxy"
	"github.com/rezigate/rezigate/rezi"
)

// build assembles the handler from the configuration: the middleware in
// front of the proxy, or of 404 when no upstream is configured.
func build(ctx context.Context, cfg *config.Config, log *slog.Logger, metrics *middleware.Metrics) (http.Handler, error) {
	provider, err := oidc.New(ctx, cfg.OIDCOptions(log))
	if err != nil {
		return nil, err
	}
	rc, err := rezi.New(cfg.ReziOptions(log, metrics.ObserveRezi))
	if err != nil {
		return nil, err
	}
	auth, err := middleware.New(cfg.MiddlewareOptions(provider, rc, log, metrics))
	if err != nil {
		return nil, err
	}
	var app http.Handler = http.NotFoundHandler()
	if cfg.Upstream != "" {
		po := cfg.ProxyOptions(log)
		po.Identity, po.StripCookies = identity, auth.OwnCookie
		if app, err = proxy.New(po); err != nil {
			return nil, err
		}
	}
	return auth.Wrap(app), nil
}

// identity hands the signed-in user to the proxy's identity headers.
func identity(r *http.Request) (email, uid string, ok bool) {
	u, ok := middleware.UserFromContext(r.Context())
	return u.Email, u.UID, ok
}
