package config

import (
	"fmt"
	"github.com/rezigate/rezigate/internal/yamlenv"
	"slices"
	"strings"
	"testing"
	"time"
)

const redisPassword = "redis-password-0123456789"

// TestSessionStoreRules: session.store, session.refresh_* and redis.url
// are checked together, with messages naming the key, or the variable
// the value came from.
func TestSessionStoreRules(t *testing.T) {
	tests := []struct {
		name string
		doc  string   // appended to minimalYAML
		env  []string // before secretEnv
		want string   // "" = valid
	}{
		{"defaults: the cookie store", "", nil, ""},
		{"unknown store", "session:\n  store: memcached\n", nil, `session.store: must be "cookie" or "redis"`},
		{"redis without url", "session:\n  store: redis\n", nil, "redis.url: required; set REZIGATE_REDIS_URL"},
		{"redis url from the environment", "session:\n  store: redis\n", []string{"REZIGATE_REDIS_URL=redis://:" + redisPassword + "@127.0.0.1:6379/0"}, ""},
		{"redis url without password in the file", "session:\n  store: redis\nredis:\n  url: redis://127.0.0.1:6379/0\n", nil, ""},
		{"redis password in the file", "session:\n  store: redis\nredis:\n  url: redis://:" + redisPassword + "@127.0.0.1:6379/0\n", nil, "redis.url: must not hold a password in the file; set REZIGATE_REDIS_URL"},
		{"bad redis url from the environment", "session:\n  store: redis\n", []string{"REZIGATE_REDIS_URL=http://:" + redisPassword + "@127.0.0.1/"}, "REZIGATE_REDIS_URL: scheme must be redis, rediss or unix"},
		{"weakening redis url", "session:\n  store: redis\n", []string{"REZIGATE_REDIS_URL=rediss://127.0.0.1:6379/0?skip_verify=true"}, "REZIGATE_REDIS_URL: must not turn off TLS"},
		{"refresh with the cookie store", "session:\n  refresh_interval: 10m\n", nil, "session.refresh_interval: needs a server-side Store"},
		{"refresh with the cookie store from the environment", "", []string{"REZIGATE_SESSION_REFRESH_INTERVAL=10m"}, "REZIGATE_SESSION_REFRESH_INTERVAL: needs a server-side Store"},
		{"refresh with redis", "session:\n  store: redis\n  refresh_interval: 10m\nredis:\n  url: redis://127.0.0.1:6379\n", nil, ""},
		{"negative refresh", "session:\n  store: redis\n  refresh_interval: -1m\nredis:\n  url: redis://127.0.0.1:6379\n", nil, "session.refresh_interval: must not be negative"},
		{"zero grace", "session:\n  refresh_grace: 0s\n", nil, "session.refresh_grace: must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(minimalYAML+tc.doc), append(slices.Clone(tc.env), secretEnv...))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Parse = %v; want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Parse = %v; want an error containing %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), redisPassword) {
				t.Errorf("the error shows the Redis password: %v", err)
			}
		})
	}
}

// TestRedisURLIsSecret: redis.url prints as REDACTED in -check's output,
// in fmt and logs, and -check warns when it is written in the file.
func TestRedisURLIsSecret(t *testing.T) {
	url := "redis://:" + redisPassword + "@127.0.0.1:6379/0"
	c, err := Parse([]byte(minimalYAML+"session:\n  store: redis\n"), append([]string{"REZIGATE_REDIS_URL=" + url}, secretEnv...))
	if err != nil {
		t.Fatal(err)
	}
	if out := c.Redacted(); strings.Contains(out, redisPassword) || !strings.Contains(out, "url: REDACTED") {
		t.Errorf("Redacted() shows the Redis URL or does not say REDACTED:\n%s", out)
	}
	if s := fmt.Sprintf("%v %+v %#v", c, c, c.Redis); strings.Contains(s, redisPassword) {
		t.Errorf("fmt shows the Redis password: %s", s)
	}
	if ro := c.RedisOptions(); ro.URL != url || ro.Name != "__Host-_rezigate" || ro.MaxAge != 8*time.Hour {
		t.Errorf("RedisOptions() = %v; want the URL, cookie __Host-_rezigate, 8h", ro)
	}
	for _, w := range c.Warnings() {
		if strings.HasPrefix(w, "redis.url") {
			t.Errorf("warning for a URL from the environment: %s", w)
		}
	}
	c, err = Parse([]byte(minimalYAML+"session:\n  store: redis\nredis:\n  url: redis://127.0.0.1:6379/0\n"), secretEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(c.Warnings(), func(w string) bool {
		return strings.HasPrefix(w, "redis.url:") && strings.Contains(w, "REZIGATE_REDIS_URL")
	}) {
		t.Errorf("Warnings() = %q; want one for redis.url written in the file", c.Warnings())
	}
}

// TestRefreshAsksForOfflineAccess: with refresh on, the provider is asked
// for a refresh token; without it, the scopes stay as written.
func TestRefreshAsksForOfflineAccess(t *testing.T) {
	c := valid()
	if got := c.OIDCOptions(nil).Scopes; slices.Contains(got, "offline_access") {
		t.Errorf("refresh off: scopes %q; want no offline_access", got)
	}
	c.Session.Store, c.Redis.URL, c.Session.RefreshInterval = StoreRedis, "redis://127.0.0.1:6379", yamlenv.Duration(time.Minute)
	if got := c.OIDCOptions(nil).Scopes; !slices.Contains(got, "offline_access") || !slices.Contains(got, "openid") {
		t.Errorf("refresh on: scopes %q; want openid and offline_access", got)
	}
	if slices.Contains(c.OIDC.Scopes, "offline_access") {
		t.Error("OIDCOptions changed the configuration's own scopes")
	}
	if mo := c.MiddlewareOptions(nil, nil, nil, nil); mo.RefreshInterval != time.Minute || mo.RefreshGrace != time.Hour {
		t.Errorf("MiddlewareOptions: RefreshInterval %v, RefreshGrace %v; want 1m, 1h", mo.RefreshInterval, mo.RefreshGrace)
	}
}
