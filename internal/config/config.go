package config

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/policy"
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
	Redis                Redis    `yaml:"redis"`
	// TrustedProxies are CIDRs (or single addresses) whose forward-auth
	// headers naming the original request are believed.
	TrustedProxies []string  `yaml:"trusted_proxies"`
	Policy         Policy    `yaml:"policy"`
	Assertion      Assertion `yaml:"assertion"`

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

// Session is the session cookie, where sessions are kept, and how often
// they are checked with the provider.
type Session struct {
	CookieName      string   `yaml:"cookie_name"`
	Secrets         []Secret `yaml:"secrets"`
	MaxAge          Duration `yaml:"max_age"`
	Secure          bool     `yaml:"secure"`
	Store           string   `yaml:"store"` // StoreCookie or StoreRedis
	RefreshInterval Duration `yaml:"refresh_interval"`
	RefreshGrace    Duration `yaml:"refresh_grace"`
}

// The values of session.store.
const (
	// StoreCookie keeps the whole session in the cookie (the default).
	StoreCookie = "cookie"
	// StoreRedis keeps sessions in Redis at redis.url.
	StoreRedis = "redis"
)

// Redis is the Redis that keeps sessions when session.store is redis. Its
// URL may hold a password, so it is a Secret: the password comes only
// from REZIGATE_REDIS_URL.
type Redis struct {
	URL Secret `yaml:"url"`
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

// Policy is who may sign in and enter where (policy.Options).
type Policy struct {
	GroupsClaim          string   `yaml:"groups_claim"`
	AllowGroups          []string `yaml:"allow_groups"`
	Default              string   `yaml:"default"`
	CaseInsensitivePaths bool     `yaml:"case_insensitive_paths"`
	Routes               []Route  `yaml:"routes"`
}

// Route is one policy route (policy.Route). Line is where it starts in
// the file, for messages and `rezigate explain`.
type Route struct {
	Path    string   `yaml:"path"`
	Methods []string `yaml:"methods"`
	Groups  []string `yaml:"groups"`
	Emails  []string `yaml:"emails"`
	Line    int      `yaml:"-"`
}

// routeKeys are the keys a route mapping may have.
var routeKeys = []string{"path", "methods", "groups", "emails"}

// UnmarshalYAML implements [yaml.Unmarshaler] to keep the route's line.
// yaml.v3 does not apply KnownFields below a custom unmarshaler, so
// unknown keys are refused here, in the decoder's own words, and
// decoding goes on to report every bad key.
func (r *Route) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a route must be a mapping with path, methods, groups and emails", n.Line)}}
	}
	var errs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(routeKeys, k.Value) {
			errs = append(errs, fmt.Sprintf("line %d: field %s not found in type config.Route", k.Line, k.Value))
		}
	}
	type plain Route
	var p plain
	if err := n.Decode(&p); err != nil {
		te, ok := err.(*yaml.TypeError)
		if !ok {
			return err
		}
		errs = append(errs, te.Errors...)
	}
	*r = Route(p)
	r.Line = n.Line
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	return nil
}

// Assertion is the signed identity sent upstream (assertion.SignerOptions
// and the header that carries it).
type Assertion struct {
	Header      string   `yaml:"header"`
	Audience    string   `yaml:"audience"`
	Lifetime    Duration `yaml:"lifetime"`
	SigningKeys []Secret `yaml:"signing_keys"`
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
			CookieName:   middleware.DefaultCookieName,
			Secrets:      []Secret{},
			MaxAge:       Duration(middleware.DefaultSessionMaxAge),
			Secure:       true,
			Store:        StoreCookie,
			RefreshGrace: Duration(middleware.DefaultRefreshGrace),
		},
		Rezi: Rezi{
			APIURL:      rezi.DefaultAPIURL,
			Timeout:     Duration(rezi.DefaultTimeout),
			CacheSize:   rezi.DefaultCacheSize,
			CacheMargin: Duration(rezi.DefaultCacheMargin),
			RateLimit:   middleware.DefaultRateLimit,
		},
		Log:            Log{Format: "text", Level: "info"},
		TrustedProxies: []string{},
		Policy: Policy{
			GroupsClaim: policy.DefaultGroupsClaim,
			AllowGroups: []string{},
			Default:     string(policy.DefaultDecision),
			Routes:      []Route{},
		},
		Assertion: Assertion{
			Lifetime:    Duration(assertion.DefaultLifetime),
			SigningKeys: []Secret{},
		},
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
