package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/rezigate/rezigate/acme"
	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/internal/config"
	"github.com/rezigate/rezigate/metrics"
	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/proxy"
	"github.com/rezigate/rezigate/rezi"
	"github.com/rezigate/rezigate/sessions"
	"github.com/rezigate/rezigate/sessions/redisstore"
)

// build assembles the handler from cfg: the middleware in front of the
// proxy, or of 404 without an upstream; and, with tls.acme, the ACME
// manager whose TLS configuration listen serves (nil without). Call
// closeParts once the server has drained; it stops the manager and
// closes the connections to Redis, if any.
func build(ctx context.Context, cfg *config.Config, log *slog.Logger, m *metrics.Metrics) (_ http.Handler, acm *acme.Manager, closeParts func(), err error) {
	provider, err := oidc.New(ctx, cfg.OIDCOptions(log))
	if err != nil {
		return nil, nil, nil, err
	}
	mo, ro := cfg.MiddlewareOptions(provider, nil, log, m), cfg.ReziOptions(log, m.ObserveRezi)
	closeParts = func() {}
	// The session settings go to the store once: with the cookie store in
	// mo.Session, with Redis in its options, and the middleware reads
	// them from the store.
	if cfg.Session.Store == config.StoreRedis { // replicas share sessions, Rezi tokens and the /rezi limit
		var store *redisstore.Store
		if store, err = redisstore.Connect(ctx, cfg.RedisOptions(), log); err != nil {
			return nil, nil, nil, cfg.RedisProblem(err)
		}
		defer func() {
			if err != nil {
				store.Close()
			}
		}()
		mo.Store, closeParts = store, store.Close
		if ro.CacheSize > 0 {
			if ro.TokenCache, err = redisstore.NewTokenCache(store, redisstore.TokenCacheOptions{Margin: ro.CacheMargin}); err != nil {
				return nil, nil, nil, err
			}
		}
		if mo.Handoff.RateLimit > 0 {
			if mo.Handoff.Limiter, err = redisstore.NewLimiter(store, redisstore.LimiterOptions{Limit: mo.Handoff.RateLimit}); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	if cfg.AssertionEnabled() {
		var so assertion.SignerOptions
		if so, err = cfg.AssertionOptions(); err != nil {
			return nil, nil, nil, err
		}
		if mo.Assertion, err = assertion.NewSigner(so); err != nil {
			return nil, nil, nil, err
		}
	}
	if mo.Handoff.Rezi, err = rezi.New(ro); err != nil {
		return nil, nil, nil, err
	}
	auth, err := middleware.New(mo)
	if err != nil {
		return nil, nil, nil, err
	}
	if cfg.ACMEEnabled() {
		if acm, err = newACME(ctx, cfg, log, mo.Store); err != nil {
			return nil, nil, nil, err
		}
		closeStore := closeParts
		closeParts = func() { acm.Close(); closeStore() }
		defer func() {
			if err != nil {
				acm.Close()
			}
		}()
	}
	var app http.Handler = http.NotFoundHandler()
	if cfg.Upstream != "" {
		po := cfg.ProxyOptions(log)
		po.Identity, po.Groups, po.StripCookies, po.Assertion = userIdentity, groups, auth.OwnCookie, mo.Assertion
		if po.Transport, err = cfg.UpstreamTransport(log); err != nil {
			return nil, nil, nil, err
		}
		if app, err = proxy.New(po); err != nil {
			return nil, nil, nil, err
		}
	}
	return auth.Wrap(app), acm, closeParts, nil
}

// newACME starts the ACME manager of tls.acme. With session.store redis
// its account, certificates and locks live in that Redis, encrypted with
// keys derived from the session secrets (acme.RedisStorage), so the
// replicas order each certificate once; otherwise in tls.acme.cache_dir.
func newACME(ctx context.Context, cfg *config.Config, log *slog.Logger, store sessions.Store) (*acme.Manager, error) {
	ao := cfg.ACMEOptions(log)
	if rs, ok := store.(*redisstore.Store); ok {
		st := rs.Settings()
		storage, err := acme.NewRedisStorage(acme.RedisStorageOptions{
			Client: rs.Client(), Prefix: rs.Prefix() + redisstore.KindShared,
			Secrets: st.Secrets, Deployment: st.Deployment, Logger: log,
		})
		if err != nil {
			return nil, err
		}
		ao.Storage = storage
	}
	return acme.New(ctx, ao)
}

// userIdentity and groups hand the signed-in user to the proxy's headers.
func userIdentity(r *http.Request) (email, uid string, ok bool) {
	u, ok := middleware.UserFromContext(r.Context())
	return u.Email, u.UID, ok
}

func groups(r *http.Request) []string {
	u, _ := middleware.UserFromContext(r.Context())
	return u.Groups
}
