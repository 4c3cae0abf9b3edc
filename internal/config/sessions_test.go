package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/yamlenv"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/rezi"
	"github.com/rezigate/rezigate/sessions"
	"github.com/rezigate/rezigate/sessions/redisstore"
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
		{"sentinel password from the environment", "session:\n  store: redis\nredis:\n  url: redis://s1:26379/0?master_set=main\n  sentinel_username: rezigate\n", []string{"REZIGATE_REDIS_SENTINEL_PASSWORD=" + redisPassword}, ""},
		{"sentinel password in the file", "session:\n  store: redis\nredis:\n  url: redis://s1:26379/0?master_set=main\n  sentinel_password: " + redisPassword + "\n", nil, "redis.sentinel_password: must not be written in the file; set REZIGATE_REDIS_SENTINEL_PASSWORD"},
		{"sentinel password without sentinels", "session:\n  store: redis\nredis:\n  url: redis://127.0.0.1:6379/0\n", []string{"REZIGATE_REDIS_SENTINEL_PASSWORD=" + redisPassword}, "REZIGATE_REDIS_SENTINEL_PASSWORD: is set, but the URL names no Sentinels"},
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
	if ro := c.RedisOptions(); ro.URL != url || ro.Settings.SetCookieName() != "__Host-_rezigate" || ro.Settings.MaxAge != 8*time.Hour {
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

// TestSessionSettingsGivenOnce: the session.* keys become one
// sessions.Settings, given to the store that session.store names: to the
// middleware's cookie store through Options.Session, or to the Redis
// store, with Options.Session left empty so that the middleware reads
// them from the store. Either way the middleware accepts the result.
func TestSessionSettingsGivenOnce(t *testing.T) {
	c, err := Parse([]byte(minimalYAML+"session:\n  cookie_name: rms\n  max_age: 2h\n"), secretEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := sessions.Settings{
		Deployment: "https://rms.example.com", Secrets: [][]byte{[]byte(testSessionKey1), []byte(testSessionKey2)},
		CookieName: "rms", MaxAge: 2 * time.Hour,
	}
	if got := c.SessionSettings(); fmt.Sprintf("%#v %q", got, got.Secrets) != fmt.Sprintf("%#v %q", want, want.Secrets) {
		t.Errorf("SessionSettings() = %v; want %v", got, want)
	}
	mo := c.MiddlewareOptions(new(oidc.Provider), new(rezi.Client), nil, nil)
	if mo.Store != nil || mo.Session.MaxAge != 2*time.Hour || mo.Session.CookieName != "rms" {
		t.Errorf("cookie store: MiddlewareOptions().Session = %v, Store %v; want the settings, no Store", mo.Session, mo.Store)
	}
	if err := mo.Validate(); err != nil {
		t.Errorf("cookie store: middleware Validate = %v", err)
	}

	c.Session.Store, c.Redis.URL = StoreRedis, "redis://127.0.0.1:6379/0"
	mo = c.MiddlewareOptions(new(oidc.Provider), new(rezi.Client), nil, nil)
	if !mo.Session.IsZero() {
		t.Errorf("redis store: MiddlewareOptions().Session = %v; want it empty, the store has the settings", mo.Session)
	}
	if ro := c.RedisOptions(); ro.Settings.MaxAge != 2*time.Hour || ro.Settings.CookieName != "rms" || ro.Settings.Deployment != want.Deployment {
		t.Errorf("RedisOptions().Settings = %v; want %v", ro.Settings, want)
	}
	mo.Store = redisPlaceholder{new(redisstore.Store), c.RedisOptions().Settings.WithDefaults()}
	if err := mo.Validate(); err != nil {
		t.Errorf("redis store: middleware Validate = %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("redis store: Validate = %v", err)
	}

	// A rule of the session settings is reported once, at its key, with
	// either store.
	for _, store := range []string{StoreCookie, StoreRedis} {
		_, err := Parse([]byte(minimalYAML+"session:\n  store: "+store+"\n  max_age: 1000h\nredis:\n  url: redis://127.0.0.1:6379\n"), secretEnv)
		if err == nil || strings.Count(err.Error(), "session.max_age: must be at most 30 days") != 1 {
			t.Errorf("store %s, max_age 1000h: Parse = %v; want one session.max_age problem", store, err)
		}
	}
}
