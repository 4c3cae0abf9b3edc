package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/internal/config"
	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/proxy"
	"github.com/rezigate/rezigate/rezi"
	"github.com/rezigate/rezigate/sessions/redisstore"
)

// build assembles the handler from cfg: the middleware in front of the
// proxy, or of 404 without an upstream. Call closeParts once the server
// has drained; it closes the connections to Redis, if any.
func build(ctx context.Context, cfg *config.Config, log *slog.Logger, metrics *middleware.Metrics) (_ http.Handler, closeParts func(), err error) {
	provider, err := oidc.New(ctx, cfg.OIDCOptions(log))
	if err != nil {
		return nil, nil, err
	}
	mo, ro, closeParts := cfg.MiddlewareOptions(provider, nil, log, metrics), cfg.ReziOptions(log, metrics.ObserveRezi), func() {}
	if cfg.Session.Store == config.StoreRedis { // replicas share sessions, Rezi tokens and the /rezi limit
		store, err := redisstore.Connect(ctx, cfg.RedisOptions(), log)
		if err != nil {
			return nil, nil, err
		}
		defer func() {
			if err != nil {
				store.Close()
			}
		}()
		mo.Store, closeParts = store, store.Close
		if ro.CacheSize > 0 {
			ro.TokenCache, err = redisstore.NewTokenCache(store, redisstore.TokenCacheOptions{Margin: ro.CacheMargin})
		}
		if n := mo.Handoff.RateLimit; n > 0 && err == nil {
			mo.Handoff.Limiter, err = redisstore.NewLimiter(store, redisstore.LimiterOptions{Limit: n, Window: time.Minute})
		}
	}
	if err == nil && cfg.AssertionEnabled() {
		var so assertion.SignerOptions
		if so, err = cfg.AssertionOptions(); err == nil {
			mo.Assertion, err = assertion.NewSigner(so)
		}
	}
	if err == nil {
		mo.Handoff.Rezi, err = rezi.New(ro)
	}
	if err != nil {
		return nil, nil, err
	}
	auth, err := middleware.New(mo)
	if err != nil {
		return nil, nil, err
	}
	var app http.Handler = http.NotFoundHandler()
	if cfg.Upstream != "" {
		po := cfg.ProxyOptions(log)
		po.Identity, po.Groups, po.StripCookies, po.Assertion = identity, groups, auth.OwnCookie, mo.Assertion
		if app, err = proxy.New(po); err != nil {
			return nil, nil, err
		}
	}
	return auth.Wrap(app), closeParts, nil
}

// identity and groups hand the signed-in user to the proxy's headers.
func identity(r *http.Request) (email, uid string, ok bool) {
	u, ok := middleware.UserFromContext(r.Context())
	return u.Email, u.UID, ok
}

func groups(r *http.Request) []string {
	u, _ := middleware.UserFromContext(r.Context())
	return u.Groups
}
