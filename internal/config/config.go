// Package config is the rezigate command's configuration file: its keys
// (the Config type), their defaults (the packages' own constants), and
// their mapping onto the Options of the packages they configure, which
// own every rule. Decoding the file and its REZIGATE_* overrides is
// internal/yamlenv's; each key's `opt` tag names the Options fields it
// fills, so that a field error from a package's Validate is reported at
// the key, or at the variable the value came from.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rezigate/rezigate/acme"
	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/handoff"
	"github.com/rezigate/rezigate/internal/yamlenv"
	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/proxy"
	"github.com/rezigate/rezigate/rezi"
	"github.com/rezigate/rezigate/sessions"
	"github.com/rezigate/rezigate/tlsserve"
)

// Defaults of the keys only the command has; every other default is the
// owning package's exported constant.
const (
	DefaultListen          = "127.0.0.1:4180"
	DefaultShutdownTimeout = 15 * time.Second
)

// The values of session.store.
const (
	StoreCookie = "cookie" // the whole session sealed in the cookie (the default)
	StoreRedis  = "redis"  // sessions kept in the Redis at redis.url
)

// Config is the whole configuration file; config.example.yaml documents
// every key.
type Config struct {
	Listen               string           `yaml:"listen"`
	PublicURL            string           `yaml:"public_url" opt:"middleware.PublicURL proxy.PublicURL oidc.RedirectURL assertion.Issuer"`
	Upstream             string           `yaml:"upstream" opt:"proxy.Upstream"`
	UpstreamMaxIdleConns yamlenv.ZeroOff  `yaml:"upstream_max_idle_conns" opt:"proxy.MaxIdleConns"`
	ShutdownTimeout      yamlenv.Duration `yaml:"shutdown_timeout"`
	MetricsListen        string           `yaml:"metrics_listen"`
	TLS                  struct {
		CertFile       string `yaml:"cert_file" opt:"tlsserve.CertFile"`
		KeyFile        string `yaml:"key_file" opt:"tlsserve.KeyFile"`
		MinVersion     string `yaml:"min_version" opt:"tlsserve.MinVersion"` // "1.2" or "1.3"
		RedirectListen string `yaml:"redirect_listen"`
		// ACME: certificates from an ACME CA for listen (package acme).
		ACME struct {
			Domains      []string `yaml:"domains" opt:"acme.Domains"` // empty: no ACME
			DirectoryURL string   `yaml:"directory_url" opt:"acme.DirectoryURL"`
			Email        string   `yaml:"email" opt:"acme.Email"`
			CAFile       string   `yaml:"ca_file" opt:"acme.CAFile"`
			CacheDir     string   `yaml:"cache_dir" opt:"acme.CacheDir"` // with session.store redis: unused, Redis keeps them
		} `yaml:"acme"`
	} `yaml:"tls"`
	UpstreamTLS struct {
		CAFile         string `yaml:"ca_file" opt:"proxy.RootCAs"`
		ClientCertFile string `yaml:"client_cert_file" opt:"proxy.ClientCertificate"`
		ClientKeyFile  string `yaml:"client_key_file"`
		ServerName     string `yaml:"server_name" opt:"proxy.ServerName"`
	} `yaml:"upstream_tls"`
	OIDC struct {
		Provider             string         `yaml:"provider" opt:"oidc.Profile policy.Provider"`
		IssuerURL            string         `yaml:"issuer_url" opt:"oidc.IssuerURL"`
		ClientID             string         `yaml:"client_id" opt:"oidc.ClientID"`
		ClientSecret         yamlenv.Secret `yaml:"client_secret" opt:"oidc.ClientSecret"`
		Scopes               []string       `yaml:"scopes" opt:"oidc.Scopes"`
		AllowedEmailDomains  []string       `yaml:"allowed_email_domains" opt:"policy.AllowedEmailDomains"`
		RequireEmailVerified bool           `yaml:"require_email_verified" opt:"policy.AllowUnverifiedEmail"`
		ProviderSignOut      bool           `yaml:"provider_sign_out" opt:"middleware.SkipProviderSignOut"`
		GraphURL             string         `yaml:"graph_url" opt:"oidc.GraphURL"`
	} `yaml:"oidc"`
	Session struct {
		CookieName      string           `yaml:"cookie_name" opt:"middleware.Session.CookieName redisstore.Settings.CookieName"`
		Secrets         []yamlenv.Secret `yaml:"secrets" opt:"middleware.Session.Secrets redisstore.Settings.Secrets"`
		MaxAge          yamlenv.Duration `yaml:"max_age" opt:"middleware.Session.MaxAge redisstore.Settings.MaxAge"`
		Secure          bool             `yaml:"secure" opt:"middleware.Session.InsecureCookies redisstore.Settings.InsecureCookies"`
		Store           string           `yaml:"store"` // StoreCookie or StoreRedis
		RefreshInterval yamlenv.Duration `yaml:"refresh_interval" opt:"middleware.RefreshInterval"`
		RefreshGrace    yamlenv.Duration `yaml:"refresh_grace" opt:"middleware.RefreshGrace"`
	} `yaml:"session"`
	Identity struct {
		UIDSecret yamlenv.Secret `yaml:"uid_secret" opt:"middleware.UIDSecret"`
	} `yaml:"identity"`
	Rezi struct {
		APIURL                  string           `yaml:"api_url" opt:"rezi.APIURL"`
		PrivateKey              yamlenv.Secret   `yaml:"private_key" opt:"rezi.PrivateKey"`
		LoginURL                string           `yaml:"login_url" opt:"middleware.Handoff.LoginURL"`
		OpenOnboarding          bool             `yaml:"open_onboarding"`
		CloseOnboardingRedirect string           `yaml:"close_onboarding_redirect" opt:"middleware.Handoff.CloseOnboardingRedirect"`
		Timeout                 yamlenv.Duration `yaml:"timeout" opt:"rezi.Timeout"`
		CacheSize               yamlenv.ZeroOff  `yaml:"cache_size" opt:"rezi.CacheSize"`
		CacheMargin             yamlenv.Duration `yaml:"cache_margin" opt:"rezi.CacheMargin"`
		RateLimit               yamlenv.ZeroOff  `yaml:"rate_limit" opt:"middleware.Handoff.RateLimit"`
	} `yaml:"rezi"`
	Log   Log `yaml:"log"`
	Redis struct {
		URL              yamlenv.Secret `yaml:"url" opt:"redisstore.URL redisstore.Password"` // may hold a password
		SentinelUsername string         `yaml:"sentinel_username" opt:"redisstore.SentinelUsername"`
		SentinelPassword yamlenv.Secret `yaml:"sentinel_password" opt:"redisstore.SentinelPassword"` // only from the environment
	} `yaml:"redis"`
	TrustedProxies []string `yaml:"trusted_proxies" opt:"middleware.TrustedProxies"`
	Policy         struct {
		GroupsClaim          string   `yaml:"groups_claim" opt:"oidc.GroupsClaim"`
		AllowGroups          []string `yaml:"allow_groups" opt:"policy.AllowGroups"`
		Default              string   `yaml:"default" opt:"policy.Default"`
		CaseInsensitivePaths bool     `yaml:"case_insensitive_paths" opt:"policy.CaseInsensitivePaths"`
		Routes               []Route  `yaml:"routes" opt:"policy.Routes"`
	} `yaml:"policy"`
	Proxy struct {
		StripHeaders []string `yaml:"strip_headers" opt:"proxy.StripHeaders"` // added to the built-in list
	} `yaml:"proxy"`
	Assertion struct {
		Header      string           `yaml:"header" opt:"middleware.AssertionHeader proxy.AssertionHeader"` // empty: no assertion
		Audience    string           `yaml:"audience" opt:"assertion.Audience"`                             // empty: the upstream's origin
		Lifetime    yamlenv.Duration `yaml:"lifetime" opt:"assertion.Lifetime"`
		SigningKeys []yamlenv.Secret `yaml:"signing_keys" opt:"assertion.Keys"` // PEM; empty: a fresh key
	} `yaml:"assertion"`

	origin yamlenv.Origin // where each value came from
}

// Route is one policy route (policy.Route); Line is where it starts in
// the file, for messages and `rezigate explain`.
type Route struct {
	Path    string   `yaml:"path" opt:"policy.Routes[].Path"`
	Methods []string `yaml:"methods" opt:"policy.Routes[].Methods"`
	Groups  []string `yaml:"groups" opt:"policy.Routes[].Groups"`
	Emails  []string `yaml:"emails" opt:"policy.Routes[].Emails"`
	Line    int      `yaml:"-"`
}

// Log is logging: text or json, and the slog level's name.
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

// Defaults returns the configuration of every key the file and the
// environment leave unset: the owning packages' defaults. The required
// keys are empty, so Defaults alone does not validate.
func Defaults() Config {
	var c Config
	c.Listen, c.ShutdownTimeout, c.UpstreamMaxIdleConns = DefaultListen, yamlenv.Duration(DefaultShutdownTimeout), proxy.DefaultMaxIdleConns
	c.TLS.MinVersion = tlsVersionNames[tlsserve.DefaultMinVersion]
	c.OIDC.Provider = string(oidc.ProfileGeneric)
	c.OIDC.Scopes, c.OIDC.RequireEmailVerified, c.OIDC.ProviderSignOut = slices.Clone(oidc.DefaultScopes), true, true
	c.Session.CookieName, c.Session.MaxAge, c.Session.Secure = sessions.DefaultCookieName, yamlenv.Duration(sessions.DefaultMaxAge), true
	c.Session.Store, c.Session.RefreshGrace = StoreCookie, yamlenv.Duration(middleware.DefaultRefreshGrace)
	c.Rezi.APIURL, c.Rezi.Timeout, c.Rezi.CacheSize = rezi.DefaultAPIURL, yamlenv.Duration(rezi.DefaultTimeout), rezi.DefaultCacheSize
	c.Rezi.CacheMargin, c.Rezi.RateLimit = yamlenv.Duration(rezi.DefaultCacheMargin), handoff.DefaultRateLimit
	c.Log = Log{Format: "text", Level: "info"}
	c.Policy.GroupsClaim, c.Policy.Default = oidc.DefaultGroupsClaim, string(policy.DefaultDecision)
	c.Assertion.Lifetime = yamlenv.Duration(assertion.DefaultLifetime)
	// Empty lists, not nil, so that -check prints them as [].
	c.TrustedProxies, c.OIDC.AllowedEmailDomains, c.Session.Secrets = []string{}, []string{}, []yamlenv.Secret{}
	c.Policy.AllowGroups, c.Policy.Routes, c.Assertion.SigningKeys = []string{}, []Route{}, []yamlenv.Secret{}
	c.Proxy.StripHeaders = []string{}
	c.TLS.ACME.Domains, c.TLS.ACME.DirectoryURL = []string{}, acme.DefaultDirectoryURL
	return c
}

// Redacted returns the effective configuration as YAML for -check, every
// secret shown as "REDACTED" (or "" when unset). It parses back, with the
// secrets to be supplied again.
func (c *Config) Redacted() string {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	_ = enc.Encode(c) // strings, ints, bools and the redacting types cannot fail
	_ = enc.Close()
	return b.String()
}

// EnvPrefix starts the name of every environment variable that overrides a
// key: EnvPrefix + the key path in upper snake case.
const EnvPrefix = "REZIGATE_"

// ErrNoFile means the configuration file does not exist.
var ErrNoFile = errors.New("no such file")

// schema is the file's keys, from Config's yaml tags.
var schema = sync.OnceValue(func() *yamlenv.Schema { return yamlenv.NewSchema(reflect.TypeFor[Config](), EnvPrefix) })

// Load reads the file at path and parses it with [Parse]. A missing file is
// an error: running on defaults by accident would hide a deployment
// mistake.
func Load(path string, environ []string) (*Config, error) {
	c, err := load(path, environ, (*Config).problems)
	if errors.Is(err, ErrNoFile) {
		return nil, fmt.Errorf("%w (use -config FILE, or -demo to try rezigate without one)", err)
	}
	return c, err
}

// LoadPolicy is [Load] for judging requests: the file must decode, but
// only the policy keys are validated, so that an operator can ask about a
// deployment's file from a shell without its secrets.
func LoadPolicy(path string, environ []string) (*Config, error) {
	return load(path, environ, func(c *Config) []*yamlenv.Problem { return c.translate(c.PolicyOptions().Validate()) })
}

func load(path string, environ []string, check func(*Config) []*yamlenv.Problem) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNoFile)
	} else if err != nil {
		return nil, fmt.Errorf("%s: %w", path, errors.Unwrap(err))
	}
	return parse(data, environ, check)
}

// Parse builds a Config from a YAML document and environment variables
// ("NAME=value" entries as [os.Environ] returns them; nil means none): the
// defaults, then the document, then the overrides, then every package's
// Options.Validate. The error joins every problem, one per line.
func Parse(data []byte, environ []string) (*Config, error) {
	return parse(data, environ, (*Config).problems)
}

func parse(data []byte, environ []string, check func(*Config) []*yamlenv.Problem) (*Config, error) {
	c := Defaults()
	origin, probs, ok := schema().Decode(data, environ, &c)
	if !ok {
		return nil, yamlenv.Join(probs)
	}
	c.origin = origin
	c.Log.Format, c.Log.Level = strings.ToLower(c.Log.Format), strings.ToLower(c.Log.Level)
	for i := range c.Policy.Routes {
		c.Policy.Routes[i].Line = origin.Lines[fmt.Sprintf("policy.routes[%d]", i)]
	}
	// A key that failed to decode kept its default; a complaint about
	// that default as well would only confuse.
	failed := map[string]bool{}
	for _, p := range probs {
		failed[p.Where] = true
	}
	for _, p := range check(&c) {
		if base, _, _ := strings.Cut(p.Where, "["); !failed[base] {
			probs = append(probs, p)
		}
	}
	if len(probs) > 0 {
		return nil, yamlenv.Join(probs)
	}
	return &c, nil
}
