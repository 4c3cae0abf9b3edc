package config

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Secret is a configuration value that must never be shown: a client
// secret, a session secret, the uid secret or the Rezi private key.
//
// It formats (with every fmt verb), logs (slog) and marshals (YAML, JSON,
// text) as "REDACTED", or as "" when empty so that a missing secret is still
// visible. Convert it with string(s) only where the value is handed to the
// code that uses it.
type Secret string

// String returns "REDACTED", or "" when s is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

// Format writes the redacted form for every verb, so that %d, %x or %#v
// cannot reveal the value either.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", s.String())
		return
	}
	_, _ = io.WriteString(f, s.String())
}

// LogValue implements [slog.LogValuer] with the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalYAML implements [yaml.Marshaler] with the redacted form.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText implements [encoding.TextMarshaler] with the redacted form, so
// encoding/json cannot reveal the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Duration is a [time.Duration] written in the file as a Go duration string
// such as "8h", "90s" or "1h30m". A bare number is refused: "3600" could mean
// seconds or nanoseconds.
type Duration time.Duration

// String returns the duration in Go syntax without zero trailing units,
// such as "8h", "5m" or "1h30m".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalYAML implements [yaml.Marshaler]; the output parses back.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML implements [yaml.Unmarshaler] for callers that decode a
// Duration with yaml.v3 directly; [Parse] does its own decoding so that the
// error names the key.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("config: duration must be a string such as \"8h\" (line %d)", n.Line)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("config: %s (line %d)", durationHint, n.Line)
	}
	*d = Duration(v)
	return nil
}

const durationHint = `must be a duration with a unit, such as "8h", "90s" or "1h30m"`

// Config is the whole configuration file. The field docs are the reference
// for operators; config.example.yaml repeats them as comments.
type Config struct {
	// Listen is the host:port the proxy serves on. The default,
	// "127.0.0.1:4180", accepts connections from this machine only: a
	// deployment behind a load balancer or in a container must set it to a
	// reachable address such as ":4180".
	Listen string `yaml:"listen"`

	// PublicURL is the external base URL browsers use, such as
	// "https://rms.example.com", with no path. The OIDC redirect URI is
	// PublicURL + "/oauth2/callback" (see [Config.RedirectURL]). Required.
	// Plain http is accepted for local testing only: it exposes cookies and
	// tokens on the network.
	PublicURL string `yaml:"public_url"`

	// Upstream is the URL authenticated requests are proxied to. Empty means
	// no proxying: only /rezi, /oauth2/* and the health endpoints are served
	// and everything else is 404.
	Upstream string `yaml:"upstream"`

	// UpstreamMaxIdleConns sizes the idle connection pool to the upstream.
	// Zero means the transport keeps no idle connections, so every request
	// opens a new one.
	UpstreamMaxIdleConns int `yaml:"upstream_max_idle_conns"`

	// ShutdownTimeout bounds how long in-flight requests may run after
	// SIGINT or SIGTERM before the process exits anyway.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`

	// MetricsListen is the host:port of the separate Prometheus listener.
	// Empty means metrics are off. It must differ from Listen: metrics are
	// never served on the public port.
	MetricsListen string `yaml:"metrics_listen"`

	// OIDC is the sign-in provider and client.
	OIDC OIDC `yaml:"oidc"`

	// Session is the session cookie.
	Session Session `yaml:"session"`

	// Identity is the uid derivation.
	Identity Identity `yaml:"identity"`

	// Rezi is the Rezi API and the /rezi hand-off.
	Rezi Rezi `yaml:"rezi"`

	// Log is logging.
	Log Log `yaml:"log"`
}

// OIDC configures sign-in through the company's OpenID Connect provider.
type OIDC struct {
	// IssuerURL is the provider's issuer, exactly as its discovery document
	// states it. It must be https, except on loopback hosts (tests).
	// Required.
	IssuerURL string `yaml:"issuer_url"`

	// ClientID is rezigate's client id at the provider. Required.
	ClientID string `yaml:"client_id"`

	// ClientSecret is rezigate's client secret at the provider. Required;
	// set it through REZIGATE_OIDC_CLIENT_SECRET.
	ClientSecret Secret `yaml:"client_secret"`

	// Scopes are requested at sign-in and must include "openid". Without
	// "email" most providers send no email claim and every sign-in fails.
	Scopes []string `yaml:"scopes"`

	// AllowedEmailDomains restricts sign-in to these email domains
	// (lower-case). Empty means any email the provider vouches for.
	AllowedEmailDomains []string `yaml:"allowed_email_domains"`

	// RequireEmailVerified refuses ID tokens whose email_verified claim is
	// not true. Turning it off trusts whatever email address a user typed
	// into the provider, which at many providers anyone can choose.
	RequireEmailVerified bool `yaml:"require_email_verified"`

	// ProviderSignOut sends the browser to the provider's
	// end_session_endpoint on sign-out when discovery advertises one.
	// False only clears rezigate's session, so the provider signs the user
	// straight back in on the next visit.
	ProviderSignOut bool `yaml:"provider_sign_out"`
}

// Session configures the session cookie.
type Session struct {
	// CookieName is the session cookie's name; state cookies derive their
	// names from it. At most 64 characters of an RFC 6265 token.
	CookieName string `yaml:"cookie_name"`

	// Secrets are the keys for the session and state cookies, each at least
	// 32 bytes. The first signs and encrypts new cookies; all are accepted,
	// so a secret can be rotated by putting a new one first. Removing a
	// secret signs out everyone whose cookie it made. Required; set them
	// through REZIGATE_SESSION_SECRETS, comma-separated.
	Secrets []Secret `yaml:"secrets"`

	// MaxAge is how long a sign-in lasts, at most 30 days.
	MaxAge Duration `yaml:"max_age"`

	// Secure sets the Secure flag on cookies. False is for plain-http local
	// testing only: the session cookie then travels unencrypted.
	Secure bool `yaml:"secure"`
}

// Identity configures how the stable user id is derived.
type Identity struct {
	// UIDSecret is the HMAC key of uid = hex(HMAC-SHA256(UIDSecret,
	// issuer_url + "|" + sub)), at least 32 bytes. Changing it changes every
	// user's uid, which makes them new users at Rezi: never change it once
	// users exist. Required; set it through REZIGATE_IDENTITY_UID_SECRET.
	UIDSecret Secret `yaml:"uid_secret"`
}

// Rezi configures the Rezi API client and the /rezi hand-off.
type Rezi struct {
	// APIURL is the base of the Rezi API; the token call is
	// POST APIURL + "/user/token". It must be https, except on loopback
	// hosts (tests).
	APIURL string `yaml:"api_url"`

	// PrivateKey is the company's Rezi API key, sent as a Bearer token.
	// Required; set it through REZIGATE_REZI_PRIVATE_KEY.
	PrivateKey Secret `yaml:"private_key"`

	// LoginURL is where /rezi sends the browser with ?token=…: an absolute
	// http(s) URL, or a local path resolved against PublicURL (see
	// [Config.LoginURL]). Required.
	LoginURL string `yaml:"login_url"`

	// OpenOnboarding is the default of the openOnboarding parameter that
	// /rezi passes to the RMS; a query parameter on /rezi overrides it.
	OpenOnboarding bool `yaml:"open_onboarding"`

	// CloseOnboardingRedirect is the default closeOnboardingRedirect, a
	// local path. Empty means the parameter is not sent.
	CloseOnboardingRedirect string `yaml:"close_onboarding_redirect"`

	// Timeout bounds a whole Rezi call including its retry, at most 2
	// minutes. The first call for a new user takes about 2 s at Rezi.
	Timeout Duration `yaml:"timeout"`

	// CacheSize is how many users' Rezi tokens are kept in memory. Zero
	// turns the cache off, so every /rezi click calls Rezi.
	CacheSize int `yaml:"cache_size"`

	// CacheMargin is how long before its expiry a cached token stops being
	// used, less than 1 hour. Zero uses tokens up to their last second,
	// which can hand the RMS a token that expires in transit.
	CacheMargin Duration `yaml:"cache_margin"`

	// RateLimit is how many /rezi calls per minute one user may make before
	// getting 429. Zero turns the limit off.
	RateLimit int `yaml:"rate_limit"`
}

// Log configures logging.
type Log struct {
	// Format is "text" or "json".
	Format string `yaml:"format"`

	// Level is "debug", "info", "warn" or "error".
	Level string `yaml:"level"`

	// RedactEmail makes access logs show the uid and never the email at info
	// level, for deployments where logs leave the company.
	RedactEmail bool `yaml:"redact_email"`
}

// SlogLevel returns Level as a [slog.Level]; an unknown level means
// [slog.LevelInfo] (Validate refuses one).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Defaults returns the configuration used for every key the file and the
// environment leave unset. The required keys (public_url, oidc.issuer_url,
// oidc.client_id, the secrets and rezi.login_url) are empty, so Defaults
// alone does not validate.
func Defaults() Config {
	return Config{
		Listen:               "127.0.0.1:4180",
		UpstreamMaxIdleConns: 256,
		ShutdownTimeout:      Duration(15 * time.Second),
		OIDC: OIDC{
			Scopes:               []string{"openid", "email", "profile"},
			AllowedEmailDomains:  []string{},
			RequireEmailVerified: true,
			ProviderSignOut:      true,
		},
		Session: Session{
			CookieName: "_rezigate",
			Secrets:    []Secret{},
			MaxAge:     Duration(8 * time.Hour),
			Secure:     true,
		},
		Rezi: Rezi{
			APIURL:      "https://open-api.rezi.ai/v1",
			Timeout:     Duration(10 * time.Second),
			CacheSize:   10000,
			CacheMargin: Duration(5 * time.Minute),
			RateLimit:   10,
		},
		Log: Log{
			Format: "text",
			Level:  "info",
		},
	}
}

// Redacted returns the effective configuration as YAML, with every secret
// shown as "REDACTED" (or "" when unset), for `rezigate -check`. The output
// parses back as a configuration file, with the secrets to be supplied
// again.
func (c *Config) Redacted() string {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	// Encoding plain strings, ints and bools cannot fail; Secret and
	// Duration marshal without error.
	_ = enc.Encode(c)
	_ = enc.Close()
	return b.String()
}
