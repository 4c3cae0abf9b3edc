package config

import (
	"errors"
	"net/url"
	"slices"
	"time"

	"github.com/rezigate/rezigate/internal/optionerr"
	"github.com/rezigate/rezigate/sessions/redisstore"
)

// offlineAccess is the scope that asks the provider for a refresh token.
const offlineAccess = "offline_access"

// scopes returns oidc.scopes, with offline_access added when sessions are
// refreshed: without a refresh token there is nothing to refresh with.
func (c *Config) scopes() []string {
	if c.Session.RefreshInterval > 0 && c.OIDC.Scopes != nil && !slices.Contains(c.OIDC.Scopes, offlineAccess) {
		return append(slices.Clone(c.OIDC.Scopes), offlineAccess)
	}
	return c.OIDC.Scopes
}

// SessionCookieName is the name the middleware gives the session cookie:
// session.cookie_name, with the __Host- prefix on Secure cookies. The
// Redis store binds it into its cookies' seal.
func (c *Config) SessionCookieName() string {
	if c.Session.Secure {
		return "__Host-" + c.Session.CookieName
	}
	return c.Session.CookieName
}

// RedisOptions returns the Redis store's Options for the file; they are
// meaningful only when session.store is redis.
func (c *Config) RedisOptions() redisstore.Options {
	secrets := make([][]byte, len(c.Session.Secrets))
	for i, s := range c.Session.Secrets {
		secrets[i] = []byte(s)
	}
	return redisstore.Options{
		URL: string(c.Redis.URL), Secrets: secrets, Name: c.SessionCookieName(), MaxAge: time.Duration(c.Session.MaxAge),
	}
}

// needsRedis ends the message of a setting that the cookie store cannot
// honour.
const needsRedis = "needs session.store: redis (the cookie store keeps nothing on the server to refresh or revoke)"

// sessionProblems reports what is wrong with session.store,
// session.refresh_*, and redis.url.
func (c *Config) sessionProblems(add func(path, msg string)) {
	switch c.Session.Store {
	case StoreCookie:
		if c.Session.RefreshInterval > 0 {
			add("session.refresh_interval", needsRedis)
		}
	case StoreRedis:
		if c.Redis.URL == "" {
			add("redis.url", "required when session.store is redis")
		} else if c.inFile["redis.url"] && c.fromEnv["redis.url"] == "" && urlHasPassword(string(c.Redis.URL)) {
			add("redis.url", "must not hold a password in the file; set REZIGATE_REDIS_URL in the environment")
		}
		for _, fe := range optionerr.Fields(errors.Join(c.RedisOptions().Validate())) {
			if fe.Field == "URL" || fe.Field == "Password" {
				add("redis.url", fe.Msg)
			}
		}
	default:
		add("session.store", `must be "cookie" or "redis"`)
	}
	if c.Session.RefreshInterval < 0 {
		add("session.refresh_interval", "must not be negative (0 turns refreshing off)")
	}
	if c.Session.RefreshGrace <= 0 {
		add("session.refresh_grace", "must be positive")
	}
}

func urlHasPassword(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return true // cannot tell; the store refuses it anyway
	}
	_, ok := u.User.Password()
	return ok
}
