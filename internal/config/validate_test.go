package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestValidateValid(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"base", func(c *Config) {}},
		{"public_url with trailing slash", func(c *Config) { c.PublicURL = "https://rms.example.com/" }},
		{"public_url with port", func(c *Config) { c.PublicURL = "https://rms.example.com:8443" }},
		{"http public_url on loopback", func(c *Config) { c.PublicURL = "http://127.0.0.1:4180" }},
		{"http public_url on localhost", func(c *Config) { c.PublicURL = "http://localhost:4180" }},
		{"http public_url elsewhere with secure off", func(c *Config) {
			c.PublicURL = "http://rms.internal.example"
			c.Session.Secure = false
		}},
		{"no upstream", func(c *Config) { c.Upstream = "" }},
		{"http upstream with path", func(c *Config) { c.Upstream = "http://app:3000/base?x=1" }},
		{"listen on all interfaces", func(c *Config) { c.Listen = ":4180" }},
		{"listen on ipv6 loopback", func(c *Config) { c.Listen = "[::1]:4180" }},
		{"listen on port 0", func(c *Config) { c.Listen = "127.0.0.1:0"; c.MetricsListen = "127.0.0.1:0" }},
		{"metrics on another port", func(c *Config) { c.MetricsListen = "127.0.0.1:9090" }},
		{"zero idle conns", func(c *Config) { c.UpstreamMaxIdleConns = 0 }},
		{"http issuer on 127.0.0.1", func(c *Config) { c.OIDC.IssuerURL = "http://127.0.0.1:5556/dex" }},
		{"http issuer on 127.1.2.3", func(c *Config) { c.OIDC.IssuerURL = "http://127.1.2.3:5556" }},
		{"http issuer on ::1", func(c *Config) { c.OIDC.IssuerURL = "http://[::1]:5556" }},
		{"http issuer on localhost", func(c *Config) { c.OIDC.IssuerURL = "http://LOCALHOST:5556" }},
		{"issuer with trailing slash", func(c *Config) { c.OIDC.IssuerURL = "https://accounts.example.com/" }},
		{"only openid", func(c *Config) { c.OIDC.Scopes = []string{"openid"} }},
		{"domains", func(c *Config) { c.OIDC.AllowedEmailDomains = []string{"example.com", "xn--bcher-kva.example", "corp"} }},
		{"cookie name with symbols", func(c *Config) { c.Session.CookieName = "rezigate.v1!" }},
		{"cookie name of 64 bytes", func(c *Config) { c.Session.CookieName = strings.Repeat("a", 64) }},
		{"one secret of exactly 32 bytes", func(c *Config) { c.Session.Secrets = []Secret{Secret(strings.Repeat("k", 32))} }},
		{"max_age of 30 days", func(c *Config) { c.Session.MaxAge = Duration(30 * 24 * time.Hour) }},
		{"http api_url on loopback", func(c *Config) { c.Rezi.APIURL = "http://127.0.0.1:8081/v1" }},
		{"login_url a path", func(c *Config) { c.Rezi.LoginURL = "/login/" }},
		{"login_url with query", func(c *Config) { c.Rezi.LoginURL = "https://app.example.com/login/?tenant=a" }},
		{"close_onboarding_redirect a path", func(c *Config) { c.Rezi.CloseOnboardingRedirect = "/dashboard/education" }},
		{"timeout of 2m", func(c *Config) { c.Rezi.Timeout = Duration(2 * time.Minute) }},
		{"cache off", func(c *Config) { c.Rezi.CacheSize = 0 }},
		{"zero cache margin", func(c *Config) { c.Rezi.CacheMargin = 0 }},
		{"cache margin just under 1h", func(c *Config) { c.Rezi.CacheMargin = Duration(59 * time.Minute) }},
		{"rate limit off", func(c *Config) { c.Rezi.RateLimit = 0 }},
		{"json debug logs", func(c *Config) { c.Log.Format = "json"; c.Log.Level = "debug" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v; want nil", err)
			}
		})
	}
}

// TestValidateRules has one case per rule: each breaks exactly one thing
// and expects exactly one problem, naming the key.
func TestValidateRules(t *testing.T) {
	long := func(n int) Secret { return Secret(strings.Repeat("s", n)) }
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // the whole problem, or its start
	}{
		{"listen without port", func(c *Config) { c.Listen = "127.0.0.1" }, "listen: must be host:port"},
		{"listen empty", func(c *Config) { c.Listen = "" }, "listen: must be host:port"},
		{"listen port too big", func(c *Config) { c.Listen = "127.0.0.1:65536" }, "listen: must end in a port number"},
		{"listen port named", func(c *Config) { c.Listen = "127.0.0.1:http" }, "listen: must end in a port number"},
		{"listen bad host", func(c *Config) { c.Listen = "a b:80" }, "listen: host must be"},

		{"public_url missing", func(c *Config) { c.PublicURL = "" }, "public_url: is required"},
		{"public_url relative", func(c *Config) { c.PublicURL = "rms.example.com" }, "public_url: must be an absolute http or https URL"},
		{"public_url other scheme", func(c *Config) { c.PublicURL = "ftp://rms.example.com" }, "public_url: must be an absolute http or https URL"},
		{"public_url no host", func(c *Config) { c.PublicURL = "https:///path" }, "public_url: must be an absolute http or https URL"},
		{"public_url with path", func(c *Config) { c.PublicURL = "https://rms.example.com/app" }, "public_url: must have no path"},
		{"public_url with query", func(c *Config) { c.PublicURL = "https://rms.example.com/?a=b" }, "public_url: must not have a query or fragment"},
		{"public_url with empty fragment", func(c *Config) { c.PublicURL = "https://rms.example.com#" }, "public_url: must not have a query or fragment"},
		{"public_url with user", func(c *Config) { c.PublicURL = "https://u:p@rms.example.com" }, "public_url: must not contain a user name or password"},

		{"upstream relative", func(c *Config) { c.Upstream = "/app" }, "upstream: must be an absolute http or https URL"},
		{"upstream other scheme", func(c *Config) { c.Upstream = "unix:///run/app.sock" }, "upstream: must be an absolute http or https URL"},
		{"upstream with fragment", func(c *Config) { c.Upstream = "http://app:3000/#x" }, "upstream: must not have a fragment"},
		{"upstream with user", func(c *Config) { c.Upstream = "http://admin:pw@app:3000" }, "upstream: must not contain a user name or password"},

		{"negative idle conns", func(c *Config) { c.UpstreamMaxIdleConns = -1 }, "upstream_max_idle_conns: must be 0 or more"},
		{"zero shutdown timeout", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdown_timeout: must be more than 0"},
		{"negative shutdown timeout", func(c *Config) { c.ShutdownTimeout = Duration(-time.Second) }, "shutdown_timeout: must be more than 0"},

		{"metrics_listen malformed", func(c *Config) { c.MetricsListen = "9090" }, "metrics_listen: must be host:port"},
		{"metrics_listen same as listen", func(c *Config) { c.MetricsListen = c.Listen }, "metrics_listen: must differ from listen"},
		{"metrics_listen wildcard on listen's port", func(c *Config) { c.MetricsListen = ":4180" }, "metrics_listen: must differ from listen"},
		{"metrics_listen localhost on listen's port", func(c *Config) { c.MetricsListen = "localhost:4180" }, "metrics_listen: must differ from listen"},

		{"issuer missing", func(c *Config) { c.OIDC.IssuerURL = "" }, "oidc.issuer_url: is required"},
		{"issuer http", func(c *Config) { c.OIDC.IssuerURL = "http://login.example.com" }, "oidc.issuer_url: must be an absolute https URL"},
		{"issuer relative", func(c *Config) { c.OIDC.IssuerURL = "login.example.com" }, "oidc.issuer_url: must be an absolute https URL"},
		{"issuer with query", func(c *Config) { c.OIDC.IssuerURL = "https://login.example.com/?tenant=a" }, "oidc.issuer_url: must not have a query or fragment"},
		{"issuer http on a loopback look-alike", func(c *Config) { c.OIDC.IssuerURL = "http://127.0.0.1.evil.com" }, "oidc.issuer_url: must be an absolute https URL"},
		{"client_id missing", func(c *Config) { c.OIDC.ClientID = "" }, "oidc.client_id: is required"},
		{"client_id blank", func(c *Config) { c.OIDC.ClientID = "  " }, "oidc.client_id: is required"},
		{"client_secret missing", func(c *Config) { c.OIDC.ClientSecret = "" }, "oidc.client_secret: is required"},
		{"scopes without openid", func(c *Config) { c.OIDC.Scopes = []string{"email", "profile"} }, `oidc.scopes: must include "openid"`},
		{"scopes empty", func(c *Config) { c.OIDC.Scopes = nil }, `oidc.scopes: must include "openid"`},
		{"scope with a space", func(c *Config) { c.OIDC.Scopes = []string{"openid", "email profile"} }, "oidc.scopes[1]: must be a scope name"},
		{"scope empty", func(c *Config) { c.OIDC.Scopes = []string{"openid", ""} }, "oidc.scopes[1]: must be a scope name"},
		{"domain with @", func(c *Config) { c.OIDC.AllowedEmailDomains = []string{"@example.com"} }, "oidc.allowed_email_domains[0]: must be a domain name"},
		{"domain wildcard", func(c *Config) { c.OIDC.AllowedEmailDomains = []string{"ok.example", "*.example.com"} }, "oidc.allowed_email_domains[1]: must be a domain name"},
		{"domain trailing dot", func(c *Config) { c.OIDC.AllowedEmailDomains = []string{"example.com."} }, "oidc.allowed_email_domains[0]: must be a domain name"},
		{"domain an IP", func(c *Config) { c.OIDC.AllowedEmailDomains = []string{"10.0.0.1"} }, "oidc.allowed_email_domains[0]: must be a domain name"},
		{"domain empty", func(c *Config) { c.OIDC.AllowedEmailDomains = []string{""} }, "oidc.allowed_email_domains[0]: must be a domain name"},
		{"domain leading hyphen", func(c *Config) { c.OIDC.AllowedEmailDomains = []string{"-example.com"} }, "oidc.allowed_email_domains[0]: must be a domain name"},
		{"domain unicode", func(c *Config) { c.OIDC.AllowedEmailDomains = []string{"bücher.example"} }, "oidc.allowed_email_domains[0]: must be a domain name"},
		{"domain label too long", func(c *Config) { c.OIDC.AllowedEmailDomains = []string{strings.Repeat("a", 64) + ".com"} }, "oidc.allowed_email_domains[0]: must be a domain name"},

		{"cookie name empty", func(c *Config) { c.Session.CookieName = "" }, "session.cookie_name: must be 1 to 64"},
		{"cookie name with space", func(c *Config) { c.Session.CookieName = "my cookie" }, "session.cookie_name: must be 1 to 64"},
		{"cookie name with =", func(c *Config) { c.Session.CookieName = "a=b" }, "session.cookie_name: must be 1 to 64"},
		{"cookie name with ;", func(c *Config) { c.Session.CookieName = "a;b" }, "session.cookie_name: must be 1 to 64"},
		{"cookie name too long", func(c *Config) { c.Session.CookieName = strings.Repeat("a", 65) }, "session.cookie_name: must be 1 to 64"},
		{"cookie name with its own prefix", func(c *Config) { c.Session.CookieName = "__Host-rezigate" }, "session.cookie_name: must not start with __"},
		{"no session secrets", func(c *Config) { c.Session.Secrets = nil }, "session.secrets: is required"},
		{"short second session secret", func(c *Config) { c.Session.Secrets = []Secret{long(32), long(5)} }, "session.secrets[1]: must be at least 32 bytes, got 5"},
		{"empty session secret", func(c *Config) { c.Session.Secrets = []Secret{""} }, "session.secrets[0]: must be at least 32 bytes, got 0"},
		{"zero max_age", func(c *Config) { c.Session.MaxAge = 0 }, "session.max_age: must be more than 0"},
		{"max_age over 30 days", func(c *Config) { c.Session.MaxAge = Duration(31 * 24 * time.Hour) }, "session.max_age: must be at most 30 days"},
		{"secure cookies over plain http", func(c *Config) { c.PublicURL = "http://rms.example.com" }, "session.secure: is true but public_url is plain http"},

		{"uid_secret missing", func(c *Config) { c.Identity.UIDSecret = "" }, "identity.uid_secret: is required"},
		{"uid_secret short", func(c *Config) { c.Identity.UIDSecret = long(31) }, "identity.uid_secret: must be at least 32 bytes, got 31"},

		{"api_url missing", func(c *Config) { c.Rezi.APIURL = "" }, "rezi.api_url: is required"},
		{"api_url http", func(c *Config) { c.Rezi.APIURL = "http://open-api.rezi.ai/v1" }, "rezi.api_url: must be an absolute https URL"},
		{"api_url with query", func(c *Config) { c.Rezi.APIURL = "https://open-api.rezi.ai/v1?debug=1" }, "rezi.api_url: must not have a query or fragment"},
		{"private_key missing", func(c *Config) { c.Rezi.PrivateKey = "" }, "rezi.private_key: is required"},
		{"login_url missing", func(c *Config) { c.Rezi.LoginURL = "" }, "rezi.login_url: is required"},
		{"login_url other scheme", func(c *Config) { c.Rezi.LoginURL = "javascript:alert(1)" }, "rezi.login_url: must be an absolute http or https URL, or a local path"},
		{"login_url relative", func(c *Config) { c.Rezi.LoginURL = "login/" }, "rezi.login_url: must be an absolute http or https URL, or a local path"},
		{"login_url protocol-relative", func(c *Config) { c.Rezi.LoginURL = "//evil.com/login" }, "rezi.login_url: must be an absolute http or https URL, or a local path"},
		{"login_url backslash", func(c *Config) { c.Rezi.LoginURL = `/\evil.com` }, "rezi.login_url: must be an absolute http or https URL, or a local path"},
		{"login_url with user", func(c *Config) { c.Rezi.LoginURL = "https://u@app.example.com/login" }, "rezi.login_url: must not contain a user name or password"},
		{"close_onboarding_redirect absolute", func(c *Config) { c.Rezi.CloseOnboardingRedirect = "https://evil.com" }, "rezi.close_onboarding_redirect: must be a local path"},
		{"close_onboarding_redirect protocol-relative", func(c *Config) { c.Rezi.CloseOnboardingRedirect = "//evil.com" }, "rezi.close_onboarding_redirect: must be a local path"},
		{"close_onboarding_redirect relative", func(c *Config) { c.Rezi.CloseOnboardingRedirect = "dashboard" }, "rezi.close_onboarding_redirect: must be a local path"},
		{"zero timeout", func(c *Config) { c.Rezi.Timeout = 0 }, "rezi.timeout: must be more than 0"},
		{"timeout over 2m", func(c *Config) { c.Rezi.Timeout = Duration(2*time.Minute + time.Second) }, "rezi.timeout: must be at most 2m"},
		{"negative cache size", func(c *Config) { c.Rezi.CacheSize = -1 }, "rezi.cache_size: must be 0 or more"},
		{"negative cache margin", func(c *Config) { c.Rezi.CacheMargin = Duration(-time.Second) }, "rezi.cache_margin: must not be negative"},
		{"cache margin of 1h", func(c *Config) { c.Rezi.CacheMargin = Duration(time.Hour) }, "rezi.cache_margin: must be less than 1h"},
		{"negative rate limit", func(c *Config) { c.Rezi.RateLimit = -1 }, "rezi.rate_limit: must be 0 or more"},

		{"log format", func(c *Config) { c.Log.Format = "xml" }, `log.format: must be "text" or "json"`},
		{"log level", func(c *Config) { c.Log.Level = "trace" }, `log.level: must be "debug", "info", "warn" or "error"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil; want %q", tc.want)
			}
			problems := unjoin(err)
			if len(problems) != 1 || !strings.HasPrefix(problems[0].Error(), tc.want) {
				t.Errorf("Validate() = %v; want exactly one problem starting %q", err, tc.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := valid()
	c.PublicURL = "rms.example.com"
	c.OIDC.IssuerURL = "http://login.example.com"
	c.Session.Secrets = []Secret{"short", Secret(strings.Repeat("k", 40)), "also short"}
	c.Session.MaxAge = 0
	c.Rezi.LoginURL = "ftp://x"
	c.Log.Level = "loud"
	want := []string{
		"public_url",
		"oidc.issuer_url",
		"session.secrets[0]",
		"session.secrets[2]",
		"session.max_age",
		"rezi.login_url",
		"log.level",
	}
	if got := problemPaths(c.Validate()); !reflect.DeepEqual(got, want) {
		t.Errorf("Validate() problems at %q; want %q", got, want)
	}

	// Parse reports file, environment and validation problems together.
	doc := `
public_url: "rms.example.com"
listn: ":80"
session:
  max_age: forever
`
	env := append([]string{"REZIGATE_TYPO=1", "REZIGATE_REZI_CACHE_SIZE=many"}, secretEnv...)
	_, err := Parse([]byte(doc), env)
	wantParse := []string{
		"listn",
		"session.max_age",
		"REZIGATE_REZI_CACHE_SIZE",
		"REZIGATE_TYPO",
		"public_url",
		"oidc.issuer_url",
		"oidc.client_id",
		"rezi.login_url",
	}
	if got := problemPaths(err); !reflect.DeepEqual(got, wantParse) {
		t.Errorf("Parse(...) problems at %q; want %q\nerror: %v", got, wantParse, err)
	}
}

func TestValidateNil(t *testing.T) {
	var c *Config
	if err := c.Validate(); err == nil {
		t.Errorf("(*Config)(nil).Validate() = nil; want an error")
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string // the key each warning names, in order
	}{
		{"safe defaults", func(c *Config) {}, nil},
		{"http on loopback", func(c *Config) {
			c.PublicURL = "http://127.0.0.1:4180"
			c.Rezi.LoginURL = "http://localhost:3000/login/"
		}, nil},
		{"metrics on loopback", func(c *Config) { c.MetricsListen = "[::1]:9090" }, nil},
		{"http public_url", func(c *Config) {
			c.PublicURL = "http://rms.internal.example"
			c.Session.Secure = false
		}, []string{"public_url", "session.secure"}},
		{"insecure cookies", func(c *Config) { c.Session.Secure = false }, []string{"session.secure"}},
		{"metrics on all interfaces", func(c *Config) { c.MetricsListen = ":9090" }, []string{"metrics_listen"}},
		{"metrics on a public address", func(c *Config) { c.MetricsListen = "10.0.0.5:9090" }, []string{"metrics_listen"}},
		{"unverified emails", func(c *Config) { c.OIDC.RequireEmailVerified = false }, []string{"oidc.require_email_verified"}},
		{"http login_url", func(c *Config) { c.Rezi.LoginURL = "http://app.example.com/login/" }, []string{"rezi.login_url"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate() = %v; want a valid config", err)
			}
			var got []string
			for _, w := range c.Warnings() {
				key, _, _ := strings.Cut(w, ":")
				got = append(got, key)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Warnings() = %q; want warnings for %q", c.Warnings(), tc.want)
			}
		})
	}
}

func TestLoginURL(t *testing.T) {
	tests := []struct {
		public, login, want string
	}{
		{"https://rms.example.com", "/login/", "https://rms.example.com/login/"},
		{"https://rms.example.com", "/login/?tenant=a", "https://rms.example.com/login/?tenant=a"},
		{"http://127.0.0.1:4180", "/login/", "http://127.0.0.1:4180/login/"},
		{"https://rms.example.com", "https://app.example.com/login/", "https://app.example.com/login/"},
	}
	for _, tc := range tests {
		c := valid()
		c.PublicURL, c.Rezi.LoginURL = tc.public, tc.login
		u, err := c.LoginURL()
		if err != nil || u.String() != tc.want {
			t.Errorf("LoginURL() with public_url %q, login_url %q = %v, %v; want %s", tc.public, tc.login, u, err, tc.want)
		}
	}
	c := valid()
	c.PublicURL = ""
	c.Rezi.LoginURL = "/login/"
	if u, err := c.LoginURL(); err == nil {
		t.Errorf("LoginURL() with no public_url = %v; want an error", u)
	}
}

func TestRedirectURL(t *testing.T) {
	for _, pub := range []string{"https://rms.example.com", "https://rms.example.com/"} {
		c := valid()
		c.PublicURL = pub
		if got, want := c.RedirectURL(), "https://rms.example.com/oauth2/callback"; got != want {
			t.Errorf("RedirectURL() with public_url %q = %q; want %q", pub, got, want)
		}
	}
}

func TestValidDomain(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"example.com", true},
		{"a.b.c.example.co.uk", true},
		{"xn--bcher-kva.example", true},
		{"1password.com", true},
		{"corp", true},
		{"EXAMPLE.com", false}, // Parse lower-cases first
		{"example..com", false},
		{".example.com", false},
		{"example-.com", false},
		{"exa_mple.com", false},
		{"192.168.0.1", false},
		{"example.123", false},
		{"::1", false},
		{strings.Repeat("a.", 127) + "com", false},
	}
	for _, tc := range tests {
		if got := validDomain(tc.in); got != tc.want {
			t.Errorf("validDomain(%q) = %v; want %v", tc.in, got, tc.want)
		}
	}
}
