package config

import (
	"github.com/rezigate/rezigate/internal/yamlenv"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEnvOverrides(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		get  func(*Config) any
		want any
	}{
		{"string", []string{"REZIGATE_LISTEN=:9000"}, func(c *Config) any { return c.Listen }, ":9000"},
		{"string over the file", []string{"REZIGATE_PUBLIC_URL=https://other.example.com"}, func(c *Config) any { return c.PublicURL }, "https://other.example.com"},
		{"nested string", []string{"REZIGATE_OIDC_CLIENT_ID=other"}, func(c *Config) any { return c.OIDC.ClientID }, "other"},
		{"secret", []string{"REZIGATE_REZI_PRIVATE_KEY=" + testUIDSecret}, func(c *Config) any { return c.Rezi.PrivateKey }, yamlenv.Secret(testUIDSecret)},
		{"list", []string{"REZIGATE_OIDC_SCOPES=openid, email ,groups"}, func(c *Config) any { return c.OIDC.Scopes }, []string{"openid", "email", "groups"}},
		{"list of one", []string{"REZIGATE_OIDC_ALLOWED_EMAIL_DOMAINS=Example.com"}, func(c *Config) any { return c.OIDC.AllowedEmailDomains }, []string{"Example.com"}},
		{"empty list", []string{"REZIGATE_OIDC_ALLOWED_EMAIL_DOMAINS="}, func(c *Config) any { return c.OIDC.AllowedEmailDomains }, []string{}},
		{"secret list", []string{"REZIGATE_SESSION_SECRETS=" + testSessionKey2}, func(c *Config) any { return c.Session.Secrets }, []yamlenv.Secret{testSessionKey2}},
		{"bool", []string{"REZIGATE_OIDC_REQUIRE_EMAIL_VERIFIED=false"}, func(c *Config) any { return c.OIDC.RequireEmailVerified }, false},
		{"bool as 1", []string{"REZIGATE_REZI_OPEN_ONBOARDING=1"}, func(c *Config) any { return c.Rezi.OpenOnboarding }, true},
		{"int", []string{"REZIGATE_REZI_CACHE_SIZE=5"}, func(c *Config) any { return c.Rezi.CacheSize }, yamlenv.ZeroOff(5)},
		{"top-level int", []string{"REZIGATE_UPSTREAM_MAX_IDLE_CONNS=0"}, func(c *Config) any { return c.UpstreamMaxIdleConns }, yamlenv.ZeroOff(0)},
		{"duration", []string{"REZIGATE_SESSION_MAX_AGE=90m"}, func(c *Config) any { return c.Session.MaxAge }, yamlenv.Duration(90 * time.Minute)},
		{"top-level duration", []string{"REZIGATE_SHUTDOWN_TIMEOUT=1s"}, func(c *Config) any { return c.ShutdownTimeout }, yamlenv.Duration(time.Second)},
		{"normalised after override", []string{"REZIGATE_LOG_LEVEL=DEBUG"}, func(c *Config) any { return c.Log.Level }, "debug"},
		{"first of two wins", []string{"REZIGATE_LOG_FORMAT=json", "REZIGATE_LOG_FORMAT=text"}, func(c *Config) any { return c.Log.Format }, "json"},
		{"other variables ignored", []string{"HOME=/root", "rezigate_listen=x", "REZIGATEX=1", "NOEQUALS"}, func(c *Config) any { return c.Listen }, "127.0.0.1:4180"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := append(append([]string{}, tc.env...), secretEnv...)
			c, err := Parse([]byte(minimalYAML), env)
			if err != nil {
				t.Fatalf("Parse(minimal, %q) = %v; want no error", tc.env, err)
			}
			if got := tc.get(c); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(minimal, %q) gave %#v; want %#v", tc.env, got, tc.want)
			}
		})
	}
}

func TestEnvErrors(t *testing.T) {
	tests := []struct {
		name string
		env  string
		want string
	}{
		{"unknown variable", "REZIGATE_REZI_PRIVATEKEY=x", "REZIGATE_REZI_PRIVATEKEY: names no configuration key"},
		{"section, not a key", "REZIGATE_OIDC=x", "REZIGATE_OIDC: names no configuration key"},
		{"prefix alone", "REZIGATE_=x", "REZIGATE_: names no configuration key"},
		{"bad bool", "REZIGATE_SESSION_SECURE=maybe", "REZIGATE_SESSION_SECURE: must be true or false"},
		{"empty bool", "REZIGATE_SESSION_SECURE=", "REZIGATE_SESSION_SECURE: must be true or false"},
		{"bad int", "REZIGATE_REZI_RATE_LIMIT=ten", "REZIGATE_REZI_RATE_LIMIT: must be an integer"},
		{"bad duration", "REZIGATE_REZI_TIMEOUT=10", "REZIGATE_REZI_TIMEOUT: must be a duration"},
		{"valid form, invalid value", "REZIGATE_REZI_TIMEOUT=1h", "REZIGATE_REZI_TIMEOUT: must be at most 2m"},
		{"short secret", "REZIGATE_IDENTITY_UID_SECRET=short", "REZIGATE_IDENTITY_UID_SECRET: must be at least 32 bytes, got 5"},
		{"empty item in a secret list", "REZIGATE_SESSION_SECRETS=" + testSessionKey1 + ",", "REZIGATE_SESSION_SECRETS[1]: must be at least 32 bytes, got 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The variable under test comes first, so it wins over secretEnv.
			env := append([]string{tc.env}, secretEnv...)
			_, err := Parse([]byte(minimalYAML), env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(minimal, %q) = %v; want an error containing %q", tc.env, err, tc.want)
			}
		})
	}
}

func TestSettings(t *testing.T) {
	all := schema().Keys()
	if len(all) != 62 {
		t.Errorf("len(schema().Keys()) = %d; want 62 (update this count, config.example.yaml and docs/configuration.md when adding a key)", len(all))
	}
	envs := map[string]string{}
	for _, s := range all {
		if prev, dup := envs[s.Env]; dup {
			t.Errorf("settings %s and %s share the variable %s", prev, s.Path, s.Env)
		}
		envs[s.Env] = s.Path
	}
	wantEnv := map[string]string{
		"rezi.private_key":            "REZIGATE_REZI_PRIVATE_KEY",
		"session.secrets":             "REZIGATE_SESSION_SECRETS",
		"upstream_max_idle_conns":     "REZIGATE_UPSTREAM_MAX_IDLE_CONNS",
		"oidc.require_email_verified": "REZIGATE_OIDC_REQUIRE_EMAIL_VERIFIED",
		"proxy.strip_headers":         "REZIGATE_PROXY_STRIP_HEADERS",
	}
	var secrets []string
	for _, s := range all {
		if want, ok := wantEnv[s.Path]; ok && s.Env != want {
			t.Errorf("setting %s has variable %s; want %s", s.Path, s.Env, want)
		}
		if s.Secret {
			secrets = append(secrets, s.Path)
		}
	}
	wantSecrets := []string{"oidc.client_secret", "session.secrets", "identity.uid_secret", "rezi.private_key", "redis.url", "redis.sentinel_password", "assertion.signing_keys"}
	if !reflect.DeepEqual(secrets, wantSecrets) {
		t.Errorf("secret settings = %q; want %q", secrets, wantSecrets)
	}
}
