package config

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/proxy"
	"github.com/rezigate/rezigate/rezi"
)

// Defaults of the keys that only the command has; every other default is
// the owning package's exported constant.
const (
	DefaultListen          = "127.0.0.1:4180"
	DefaultShutdownTimeout = 15 * time.Second
)

// Secret is a configuration value that must never be shown: a client
// secret, a session secret, the uid secret or the Rezi private key. It
// formats (every fmt verb), logs and marshals as "REDACTED", or as "" when
// empty so that a missing secret is still visible.
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

// Duration is a [time.Duration] written as a Go duration string such as
// "8h", "90s" or "1h30m". A bare number is refused: "3600" could mean
// seconds or nanoseconds.
type Duration time.Duration

// String returns the duration in Go syntax without zero trailing units.
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

// UnmarshalYAML implements [yaml.Unmarshaler]. Its error is a
// [yaml.TypeError], so decoding goes on and reports every bad key.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, durationHint)}}
	}
	*d = Duration(v)
	return nil
}

const durationHint = `must be a duration with a unit, such as "8h", "90s" or "1h30m"`

// ZeroOff is a count where 0 in the file means "off", while the packages'
// Options read 0 as "the default" and a negative value as "off". A key
// left out keeps its default, so the two never meet: [ZeroOff.Option] is
// the one place the file's 0 becomes the Options' "off".
type ZeroOff int

// Option returns n for the packages' Options: -1 (off) for 0.
func (n ZeroOff) Option() int {
	if n == 0 {
		return -1
	}
	return int(n)
}

// Config is the whole configuration file. config.example.yaml documents
// every key; the field docs say only what the file adds to the Options it
// maps onto.
type Config struct {
	Listen               string   `yaml:"listen"`
	PublicURL            string   `yaml:"public_url"`
	Upstream             string   `yaml:"upstream"`
	UpstreamMaxIdleConns ZeroOff  `yaml:"upstream_max_idle_conns"`
	ShutdownTimeout      Duration `yaml:"shutdown_timeout"`
	MetricsListen        string   `yaml:"metrics_listen"`
	OIDC                 OIDC     `yaml:"oidc"`
	Session              Session  `yaml:"session"`
	Identity             Identity `yaml:"identity"`
	Rezi                 Rezi     `yaml:"rezi"`
	Log                  Log      `yaml:"log"`

	// fromEnv maps the key paths set by the environment to the variable
	// that set them; inFile holds the key paths the file sets.
	fromEnv map[string]string
	inFile  map[string]bool
}

// OIDC is the sign-in provider and client (oidc.Options and the sign-in
// rules of middleware.Options).
type OIDC struct {
	IssuerURL            string   `yaml:"issuer_url"`
	ClientID             string   `yaml:"client_id"`
	ClientSecret         Secret   `yaml:"client_secret"`
	Scopes               []string `yaml:"scopes"`
	AllowedEmailDomains  []string `yaml:"allowed_email_domains"`
	RequireEmailVerified bool     `yaml:"require_email_verified"`
	ProviderSignOut      bool     `yaml:"provider_sign_out"`
}

// Session is the session cookie.
type Session struct {
	CookieName string   `yaml:"cookie_name"`
	Secrets    []Secret `yaml:"secrets"`
	MaxAge     Duration `yaml:"max_age"`
	Secure     bool     `yaml:"secure"`
}

// Identity is the uid derivation.
type Identity struct {
	UIDSecret Secret `yaml:"uid_secret"`
}

// Rezi is the Rezi API client and the /rezi hand-off.
type Rezi struct {
	APIURL                  string   `yaml:"api_url"`
	PrivateKey              Secret   `yaml:"private_key"`
	LoginURL                string   `yaml:"login_url"`
	OpenOnboarding          bool     `yaml:"open_onboarding"`
	CloseOnboardingRedirect string   `yaml:"close_onboarding_redirect"`
	Timeout                 Duration `yaml:"timeout"`
	CacheSize               ZeroOff  `yaml:"cache_size"`
	CacheMargin             Duration `yaml:"cache_margin"`
	RateLimit               ZeroOff  `yaml:"rate_limit"`
}

// Log is logging.
type Log struct {
	Format      string `yaml:"format"`
	Level       string `yaml:"level"`
	RedactEmail bool   `yaml:"redact_email"`
}

// SlogLevel returns Level as a [slog.Level]; Validate refuses an unknown one.
func (l Log) SlogLevel() slog.Level {
	var v slog.Level
	_ = v.UnmarshalText([]byte(l.Level))
	return v
}

// Defaults returns the configuration used for every key the file and the
// environment leave unset: the owning packages' defaults. The required
// keys are empty, so Defaults alone does not validate.
func Defaults() Config {
	return Config{
		Listen:               DefaultListen,
		UpstreamMaxIdleConns: proxy.DefaultMaxIdleConns,
		ShutdownTimeout:      Duration(DefaultShutdownTimeout),
		OIDC: OIDC{
			Scopes:               slices.Clone(oidc.DefaultScopes),
			AllowedEmailDomains:  []string{},
			RequireEmailVerified: true,
			ProviderSignOut:      true,
		},
		Session: Session{
			CookieName: middleware.DefaultCookieName,
			Secrets:    []Secret{},
			MaxAge:     Duration(middleware.DefaultSessionMaxAge),
			Secure:     true,
		},
		Rezi: Rezi{
			APIURL:      rezi.DefaultAPIURL,
			Timeout:     Duration(rezi.DefaultTimeout),
			CacheSize:   rezi.DefaultCacheSize,
			CacheMargin: Duration(rezi.DefaultCacheMargin),
			RateLimit:   middleware.DefaultRateLimit,
		},
		Log: Log{Format: "text", Level: "info"},
	}
}

// Redacted returns the effective configuration as YAML, every secret shown
// as "REDACTED" (or "" when unset), for `rezigate -check`. It parses back,
// with the secrets to be supplied again.
func (c *Config) Redacted() string {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	_ = enc.Encode(c) // strings, ints, bools and the redacting types cannot fail
	_ = enc.Close()
	return b.String()
}
