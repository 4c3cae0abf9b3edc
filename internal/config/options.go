package config

import (
	"errors"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/rezigate/rezigate/internal/loopback"
	"github.com/rezigate/rezigate/internal/optionerr"
	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/proxy"
	"github.com/rezigate/rezigate/rezi"
)

// yamlPaths translates the packages' field errors to the keys they come
// from. A field missing here is not set by the file (such as Provider).
var yamlPaths = map[string]string{
	"oidc.IssuerURL":                             "oidc.issuer_url",
	"oidc.ClientID":                              "oidc.client_id",
	"oidc.ClientSecret":                          "oidc.client_secret",
	"oidc.RedirectURL":                           "public_url",
	"oidc.Scopes":                                "oidc.scopes",
	"rezi.APIURL":                                "rezi.api_url",
	"rezi.PrivateKey":                            "rezi.private_key",
	"rezi.Timeout":                               "rezi.timeout",
	"rezi.CacheSize":                             "rezi.cache_size",
	"rezi.CacheMargin":                           "rezi.cache_margin",
	"proxy.Upstream":                             "upstream",
	"proxy.PublicURL":                            "public_url",
	"proxy.MaxIdleConns":                         "upstream_max_idle_conns",
	"middleware.PublicURL":                       "public_url",
	"middleware.SessionSecrets":                  "session.secrets",
	"middleware.CookieName":                      "session.cookie_name",
	"middleware.SessionMaxAge":                   "session.max_age",
	"middleware.InsecureCookies":                 "session.secure",
	"middleware.UIDSecret":                       "identity.uid_secret",
	"middleware.AllowedEmailDomains":             "oidc.allowed_email_domains",
	"middleware.Handoff.LoginURL":                "rezi.login_url",
	"middleware.Handoff.CloseOnboardingRedirect": "rezi.close_onboarding_redirect",
	"middleware.Handoff.RateLimit":               "rezi.rate_limit",
}

// OIDCOptions returns the oidc package's Options for the file.
func (c *Config) OIDCOptions(log *slog.Logger) oidc.Options {
	return oidc.Options{
		IssuerURL: c.OIDC.IssuerURL, ClientID: c.OIDC.ClientID, ClientSecret: string(c.OIDC.ClientSecret),
		RedirectURL: strings.TrimSuffix(c.PublicURL, "/") + "/oauth2/callback", Scopes: c.OIDC.Scopes, Logger: log,
	}
}

// ReziOptions returns the rezi package's Options for the file.
func (c *Config) ReziOptions(log *slog.Logger, observe func(string, time.Duration)) rezi.Options {
	return rezi.Options{
		APIURL: c.Rezi.APIURL, PrivateKey: string(c.Rezi.PrivateKey), Timeout: time.Duration(c.Rezi.Timeout),
		CacheSize: c.Rezi.CacheSize.Option(), CacheMargin: time.Duration(c.Rezi.CacheMargin), Logger: log, Observe: observe,
	}
}

// MiddlewareOptions returns the middleware's Options for the file, with
// the parts built from it.
func (c *Config) MiddlewareOptions(p *oidc.Provider, rc *rezi.Client, log *slog.Logger, m *middleware.Metrics) middleware.Options {
	secrets := make([][]byte, len(c.Session.Secrets))
	for i, s := range c.Session.Secrets {
		secrets[i] = []byte(s)
	}
	return middleware.Options{
		Provider: p, PublicURL: c.PublicURL, SessionSecrets: secrets, CookieName: c.Session.CookieName,
		SessionMaxAge: time.Duration(c.Session.MaxAge), InsecureCookies: !c.Session.Secure,
		UIDSecret: []byte(c.Identity.UIDSecret), AllowedEmailDomains: c.OIDC.AllowedEmailDomains,
		AllowUnverifiedEmail: !c.OIDC.RequireEmailVerified, SkipProviderSignOut: !c.OIDC.ProviderSignOut,
		Handoff: middleware.Handoff{
			Rezi: rc, LoginURL: c.Rezi.LoginURL, OpenOnboarding: c.Rezi.OpenOnboarding,
			CloseOnboardingRedirect: c.Rezi.CloseOnboardingRedirect, RateLimit: c.Rezi.RateLimit.Option(),
		},
		ServeHealth: true, RedactEmail: c.Log.RedactEmail, Metrics: m, Logger: log,
	}
}

// ProxyOptions returns the proxy's Options for the file; they are
// meaningful only when Upstream is set.
func (c *Config) ProxyOptions(log *slog.Logger) proxy.Options {
	up, _ := url.Parse(c.Upstream)
	public, _ := url.Parse(c.PublicURL)
	return proxy.Options{
		Upstream: up, PublicURL: public, Logger: log,
		Transport: proxy.NewTransport(c.transportOptions()),
	}
}

func (c *Config) transportOptions() proxy.TransportOptions {
	return proxy.TransportOptions{MaxIdleConns: c.UpstreamMaxIdleConns.Option()}
}

// Validate reports every problem in c, joined with [errors.Join]: the
// command's own keys here, everything else by the Validate method of the
// package the key configures. Each problem names its key, or the
// environment variable its value came from, and never holds a secret.
func (c *Config) Validate() error { return joinProblems(c.problems()) }

func (c *Config) problems() []*problem {
	var probs []*problem
	seen := map[string]bool{} // one problem per key: the first found
	add := func(path, msg string) {
		if !seen[path] {
			seen[path] = true
			probs = append(probs, &problem{c.where(path), msg})
		}
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen", `must be host:port, such as "127.0.0.1:4180" or ":4180"`)
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			add("metrics_listen", `must be host:port, such as "127.0.0.1:9090"`)
		} else if c.MetricsListen == c.Listen {
			add("metrics_listen", "must differ from listen: metrics are never served on the public port")
		}
	}
	// In the file a zero duration is a mistake, not "the default".
	for _, d := range []struct {
		path string
		v    Duration
	}{{"shutdown_timeout", c.ShutdownTimeout}, {"session.max_age", c.Session.MaxAge}, {"rezi.timeout", c.Rezi.Timeout}, {"rezi.cache_margin", c.Rezi.CacheMargin}} {
		if d.v <= 0 {
			add(d.path, "must be positive")
		}
	}
	for _, n := range []struct {
		path string
		v    ZeroOff
	}{{"upstream_max_idle_conns", c.UpstreamMaxIdleConns}, {"rezi.cache_size", c.Rezi.CacheSize}, {"rezi.rate_limit", c.Rezi.RateLimit}} {
		if n.v < 0 {
			add(n.path, "must not be negative (0 turns it off)")
		}
	}
	for _, r := range []struct{ path, v string }{{"public_url", c.PublicURL}, {"oidc.client_secret", string(c.OIDC.ClientSecret)}, {"rezi.api_url", c.Rezi.APIURL}} {
		if strings.TrimSpace(r.v) == "" {
			add(r.path, "required")
		}
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		add("log.format", `must be "text" or "json"`)
	}
	var level slog.Level
	if level.UnmarshalText([]byte(c.Log.Level)) != nil {
		add("log.level", `must be "debug", "info", "warn" or "error"`)
	}
	// The packages validate without I/O; the provider and the Rezi client
	// only need to exist, so placeholders stand in for them.
	mw := c.MiddlewareOptions(new(oidc.Provider), new(rezi.Client), nil, nil)
	errs := []error{c.OIDCOptions(nil).Validate(), c.ReziOptions(nil, nil).Validate(), mw.Validate(), c.transportOptions().Validate()}
	if c.Upstream != "" {
		errs = append(errs, c.ProxyOptions(nil).Validate())
	}
	for _, fe := range optionerr.Fields(errors.Join(errs...)) {
		field, index, _ := strings.Cut(fe.Field, "[")
		path, ok := yamlPaths[fe.Pkg+"."+field]
		if !ok {
			continue
		}
		if index != "" {
			path += "[" + index
		}
		add(path, fe.Msg)
	}
	for _, p := range probs {
		if s, ok := lookupSetting(p.where); ok && s.secret && strings.HasPrefix(p.msg, "required") {
			p.msg = "required; set " + s.env
		}
	}
	return probs
}

// where names a key path as the operator set it: by its environment
// variable when the value came from there.
func (c *Config) where(path string) string {
	base, index, _ := strings.Cut(path, "[")
	if env, ok := c.fromEnv[base]; ok {
		if index != "" {
			return env + "[" + index
		}
		return env
	}
	return path
}

// Warnings lists settings that are allowed but unsafe, one line each
// naming the key, for -check and the start-up log. It assumes c is valid.
func (c *Config) Warnings() []string {
	var w []string
	for _, s := range settings() {
		if s.secret && c.inFile[s.path] && c.fromEnv[s.path] == "" && !emptySecret(c, s) {
			w = append(w, s.path+": a secret written in the file; set "+s.env+" in the environment instead")
		}
	}
	if len(c.OIDC.AllowedEmailDomains) == 0 {
		w = append(w, "oidc.allowed_email_domains: empty: anyone with a verified email at the provider gets in")
	}
	for _, k := range []struct{ path, raw string }{{"public_url", c.PublicURL}, {"rezi.login_url", c.Rezi.LoginURL}} {
		if u, err := url.Parse(k.raw); err == nil && u.Scheme == "http" && !loopback.Host(u.Hostname()) {
			w = append(w, k.path+": plain http on a non-loopback host: cookies and Rezi tokens cross the network unencrypted")
		}
	}
	if !c.Session.Secure {
		w = append(w, "session.secure: false: the session cookie is also sent over plain http, where anyone on the path can take it")
	}
	if host, _, err := net.SplitHostPort(c.MetricsListen); err == nil && !loopback.Host(host) {
		w = append(w, "metrics_listen: not a loopback address: anyone who can reach it reads traffic and sign-in statistics")
	}
	if !c.OIDC.RequireEmailVerified {
		w = append(w, "oidc.require_email_verified: false: an email address nobody has verified is trusted as the user's identity")
	}
	return w
}

func emptySecret(c *Config, s setting) bool {
	switch v := reflect.ValueOf(c).Elem().FieldByIndex(s.index).Interface().(type) {
	case Secret:
		return v == ""
	case []Secret:
		return len(v) == 0
	}
	return true
}
