package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/rezigate/rezigate/internal/config"
	"github.com/rezigate/rezigate/sessions/redisstore"
)

// redisParts are what replicas share through Redis when session.store is
// redis: the session store, the Rezi token cache and the /rezi limiter.
type redisParts struct {
	store   *redisstore.Store
	tokens  *redisstore.TokenCache // nil when rezi.cache_size is 0
	limiter *redisstore.Limiter    // nil when rezi.rate_limit is 0
}

// Backoff between attempts to reach Redis at start.
const (
	redisRetryMin = 250 * time.Millisecond
	redisRetryMax = 10 * time.Second
)

// newRedisParts connects to Redis, retrying until it answers or ctx is
// done: rezigate does not serve before it can keep sessions. It returns
// nil for the cookie store.
func newRedisParts(ctx context.Context, cfg *config.Config, log *slog.Logger) (*redisParts, error) {
	if cfg.Session.Store != config.StoreRedis {
		return nil, nil
	}
	store, err := connectRedis(ctx, cfg.RedisOptions(), log)
	if err != nil {
		return nil, err
	}
	p := &redisParts{store: store}
	if cfg.Rezi.CacheSize.Option() > 0 {
		if p.tokens, err = redisstore.NewTokenCache(store, redisstore.TokenCacheOptions{Margin: time.Duration(cfg.Rezi.CacheMargin)}); err != nil {
			store.Close()
			return nil, err
		}
	}
	if n := cfg.Rezi.RateLimit.Option(); n > 0 {
		if p.limiter, err = redisstore.NewLimiter(store, redisstore.LimiterOptions{Limit: n, Window: time.Minute}); err != nil {
			store.Close()
			return nil, err
		}
	}
	return p, nil
}

// connectRedis builds the store, retrying with backoff while Redis does
// not answer. Invalid options fail at once.
func connectRedis(ctx context.Context, opts redisstore.Options, log *slog.Logger) (*redisstore.Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	wait := redisRetryMin
	for {
		store, err := redisstore.New(ctx, opts)
		if err == nil {
			return store, nil
		}
		log.Warn("redis: not reachable yet; retrying", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("redis: not reachable: %w", err)
		case <-time.After(wait):
		}
		wait = min(2*wait, redisRetryMax)
	}
}

// close closes the connections to Redis; a nil p does nothing.
func (p *redisParts) close() {
	if p != nil {
		p.store.Close()
	}
}
