package config

import (
	"strings"
	"testing"

	"github.com/rezigate/rezigate/handoff"
	"github.com/rezigate/rezigate/proxy"
	"github.com/rezigate/rezigate/rezi"
)

// TestRulesNameTheirKeys checks that a rule a package's Validate enforces
// comes out under the YAML key it configures, or under the variable the
// value came from. The rules themselves are tested in their packages.
func TestRulesNameTheirKeys(t *testing.T) {
	tests := []struct {
		name string
		doc  string   // appended to minimalYAML
		env  []string // put before secretEnv, so they win
		want string
	}{
		{"public url with a path", "public_url: https://rms.example.com/app\n", nil, "public_url: "},
		{"public url missing", "public_url: ''\n", nil, "public_url: required"},
		{"plain http with secure cookies", "public_url: http://rms.example.com\n", nil, "session.secure: "},
		{"cookie name", "session:\n  cookie_name: 'a;b'\n", nil, "session.cookie_name: "},
		{"cookie name prefix", "session:\n  cookie_name: __Host-x\n", nil, "session.cookie_name: must not start with __"},
		{"max age too long", "session:\n  max_age: 1000h\n", nil, "session.max_age: must be at most 30 days"},
		{"max age zero", "session:\n  max_age: 0s\n", nil, "session.max_age: must be positive"},
		{"short session secret", "", []string{"REZIGATE_SESSION_SECRETS=short"}, "REZIGATE_SESSION_SECRETS[0]: must be at least 32 bytes"},
		{"domain", "oidc:\n  allowed_email_domains: ['a@b.com']\n", nil, "oidc.allowed_email_domains[0]: "},
		{"login url", "rezi:\n  login_url: 'javascript:alert(1)'\n", nil, "rezi.login_url: "},
		{"login url protocol-relative", "rezi:\n  login_url: //evil.example/login\n", nil, "rezi.login_url: "},
		{"close redirect", "rezi:\n  close_onboarding_redirect: https://evil.example\n", nil, "rezi.close_onboarding_redirect: must be a local path"},
		{"http issuer on a public name", "oidc:\n  issuer_url: http://127.attacker.example.com\n", nil, "oidc.issuer_url: "},
		{"scopes without openid", "oidc:\n  scopes: [email]\n", nil, `oidc.scopes: must include "openid"`},
		{"api url http", "rezi:\n  api_url: http://rezi.example.com/v1\n", nil, "rezi.api_url: "},
		{"timeout too long", "rezi:\n  timeout: 1h\n", nil, "rezi.timeout: must be at most 2m"},
		{"cache margin too long", "rezi:\n  cache_margin: 2h\n", nil, "rezi.cache_margin: "},
		{"negative cache size", "rezi:\n  cache_size: -1\n", nil, "rezi.cache_size: must not be negative (0 turns it off)"},
		{"negative rate limit", "rezi:\n  rate_limit: -5\n", nil, "rezi.rate_limit: must not be negative"},
		{"negative idle conns", "upstream_max_idle_conns: -1\n", nil, "upstream_max_idle_conns: must not be negative"},
		{"upstream fragment", "upstream: http://127.0.0.1:3000/#x\n", nil, "upstream: "},
		{"strip header empty", "upstream: http://127.0.0.1:3000\nproxy:\n  strip_headers: [X-Ok, '']\n", nil, "proxy.strip_headers[1]: must not be empty"},
		{"strip header not a name", "upstream: http://127.0.0.1:3000\nproxy:\n  strip_headers: ['X Role']\n", nil, "proxy.strip_headers[0]: must be a header name"},
		{"env-set strip header named by its variable", "upstream: http://127.0.0.1:3000\n", []string{"REZIGATE_PROXY_STRIP_HEADERS=X-Ok,a:b"}, "REZIGATE_PROXY_STRIP_HEADERS[1]: must be a header name"},
		{"upstream not a URL", "upstream: ftp://example.com\n", nil, "upstream: "},
		{"listen", "listen: nope\n", nil, "listen: must be host:port"},
		{"metrics on the public port", "listen: 127.0.0.1:4180\nmetrics_listen: 127.0.0.1:4180\n", nil, "metrics_listen: must differ from listen"},
		{"log format", "log:\n  format: xml\n", nil, `log.format: must be "text" or "json"`},
		{"log level", "log:\n  level: loud\n", nil, "log.level: must be"},
		{"shutdown zero", "shutdown_timeout: 0s\n", nil, "shutdown_timeout: must be positive"},
		{"env-set value named by its variable", "", []string{"REZIGATE_PUBLIC_URL=https://rms.example.com/app"}, "REZIGATE_PUBLIC_URL: "},
		{"env-set domain named by its variable", "", []string{"REZIGATE_OIDC_ALLOWED_EMAIL_DOMAINS=example.com,a b"}, "REZIGATE_OIDC_ALLOWED_EMAIL_DOMAINS[1]: "},
		{"empty secret variable says which variable", "", []string{"REZIGATE_OIDC_CLIENT_SECRET="}, "REZIGATE_OIDC_CLIENT_SECRET: required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), append(append(tc.env, requiredEnv(tc.doc)...), secretEnv...))
			if err == nil || !hasProblem(err, tc.want) {
				t.Errorf("Parse(%q, %q) = %v; want a problem starting %q", tc.doc, tc.env, err, tc.want)
			}
		})
	}
}

// requiredEnv supplies, through the environment, the required keys that
// doc leaves out, so that a test's document can hold any section.
func requiredEnv(doc string) []string {
	var env []string
	for key, kv := range map[string]string{
		"public_url:": "REZIGATE_PUBLIC_URL=https://rms.example.com",
		"issuer_url:": "REZIGATE_OIDC_ISSUER_URL=https://login.example.com",
		"client_id:":  "REZIGATE_OIDC_CLIENT_ID=rezigate",
		"login_url:":  "REZIGATE_REZI_LOGIN_URL=/login/",
	} {
		if !strings.Contains(doc, key) {
			env = append(env, kv)
		}
	}
	return env
}

// hasProblem reports whether one line of err starts with prefix.
func hasProblem(err error, prefix string) bool {
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}

func TestMissingSecretSaysWhichVariable(t *testing.T) {
	_, err := Parse([]byte(minimalYAML), nil)
	if err == nil {
		t.Fatal("Parse(no secrets) = nil error")
	}
	for _, want := range []string{
		"oidc.client_secret: required; set REZIGATE_OIDC_CLIENT_SECRET",
		"session.secrets: required; set REZIGATE_SESSION_SECRETS",
		"identity.uid_secret: required; set REZIGATE_IDENTITY_UID_SECRET",
		"rezi.private_key: required; set REZIGATE_REZI_PRIVATE_KEY",
	} {
		if !hasProblem(err, want) {
			t.Errorf("Parse(no secrets) = %v; want the line %q", err, want)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 4 {
		t.Errorf("Parse(no secrets) reported %d problems; want 4, one per secret:\n%v", n, err)
	}
}

// TestZeroMeansOff checks the one place where the file's 0 becomes the
// packages' "off", and that a key left out keeps the package default.
func TestZeroMeansOff(t *testing.T) {
	doc := "upstream: http://127.0.0.1:3000\nupstream_max_idle_conns: 0\nrezi:\n  cache_size: 0\n  rate_limit: 0\n"
	off, err := Parse([]byte(doc), append(requiredEnv(doc), secretEnv...))
	if err != nil {
		t.Fatal(err)
	}
	def, err := Parse([]byte(minimalYAML), secretEnv)
	if err != nil {
		t.Fatal(err)
	}
	doc = "rezi:\n  cache_size: 7\n  rate_limit: 3\n"
	set, err := Parse([]byte(doc), append(requiredEnv(doc), secretEnv...))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want int
	}{
		{"rezi.cache_size: 0", off.ReziOptions(nil, nil).CacheSize, -1},
		{"rezi.rate_limit: 0", off.MiddlewareOptions(nil, nil, nil, nil).Handoff.RateLimit, -1},
		{"upstream_max_idle_conns: 0", off.transportOptions().MaxIdleConns, -1},
		{"rezi.cache_size left out", def.ReziOptions(nil, nil).CacheSize, rezi.DefaultCacheSize},
		{"rezi.rate_limit left out", def.MiddlewareOptions(nil, nil, nil, nil).Handoff.RateLimit, handoff.DefaultRateLimit},
		{"upstream_max_idle_conns left out", def.transportOptions().MaxIdleConns, proxy.DefaultMaxIdleConns},
		{"rezi.cache_size: 7", set.ReziOptions(nil, nil).CacheSize, 7},
		{"rezi.rate_limit: 3", set.MiddlewareOptions(nil, nil, nil, nil).Handoff.RateLimit, 3},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s maps to %d; want %d", tc.name, tc.got, tc.want)
		}
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		env     []string
		want    []string
		wantNot []string
	}{
		{"secrets from the environment, no domains", minimalYAML, secretEnv,
			[]string{"oidc.allowed_email_domains: empty: anyone with a verified email at the provider gets in"},
			[]string{"a secret written in the file"}},
		{"a secret in the file", "identity:\n  uid_secret: " + testUIDSecret + "\n", []string{secretEnv[0], secretEnv[1], secretEnv[3]},
			[]string{"identity.uid_secret: a secret written in the file; set REZIGATE_IDENTITY_UID_SECRET in the environment instead"}, nil},
		{"a secret in the file overridden by the environment", "identity:\n  uid_secret: " + testUIDSecret + "\n", secretEnv,
			nil, []string{"identity.uid_secret: a secret written"}},
		{"domains set", "oidc:\n  allowed_email_domains: [example.com]\n", secretEnv,
			nil, []string{"oidc.allowed_email_domains"}},
		{"plain http on a public host", "public_url: http://rms.example.com\nsession:\n  secure: false\n", secretEnv,
			[]string{"public_url: plain http on a non-loopback host", "session.secure: cookies are also sent over plain http"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.doc), append(requiredEnv(tc.doc), tc.env...))
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			all := strings.Join(c.Warnings(), "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("Warnings() = %q; want %q", all, w)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(all, w) {
					t.Errorf("Warnings() = %q; want nothing like %q", all, w)
				}
			}
			for _, s := range []string{testClientSecret, testSessionKey1, testUIDSecret, testPrivateKey} {
				if strings.Contains(all, s) {
					t.Errorf("Warnings() leaks a secret: %q", all)
				}
			}
		})
	}
}
