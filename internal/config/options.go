package config

import (
	"crypto/ecdsa"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/internal/loopback"
	"github.com/rezigate/rezigate/internal/optionerr"
	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/proxy"
	"github.com/rezigate/rezigate/rezi"
)

// yamlPaths translates the packages' field errors to the keys they come
// from. A field missing here is not set by the file (such as Provider).
// Indices are written "[]" on both sides and carried over in order, so
// "policy.Routes[2].Methods[1]" becomes "policy.routes[2].methods[1]";
// an index at the end of a field is kept ("SessionSecrets[1]").
var yamlPaths = map[string]string{
	"policy.GroupsClaim":                         "policy.groups_claim",
	"policy.AllowGroups":                         "policy.allow_groups",
	"policy.Default":                             "policy.default",
	"policy.CaseInsensitivePaths":                "policy.case_insensitive_paths",
	"policy.Routes":                              "policy.routes",
	"policy.Routes[].Path":                       "policy.routes[].path",
	"policy.Routes[].Methods":                    "policy.routes[].methods",
	"policy.Routes[].Groups":                     "policy.routes[].groups",
	"policy.Routes[].Emails":                     "policy.routes[].emails",
	"middleware.TrustedProxies":                  "trusted_proxies",
	"middleware.AssertionHeader":                 "assertion.header",
	"proxy.AssertionHeader":                      "assertion.header",
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
		RedirectURL: strings.TrimSuffix(c.PublicURL, "/") + "/oauth2/callback", Scopes: c.scopes(), Logger: log,
		GroupsClaim: c.Policy.GroupsClaim,
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
		Policy: c.PolicyOptions(), TrustedProxies: c.trustedProxies(), AssertionHeader: c.Assertion.Header,
		Provider: p, PublicURL: c.PublicURL, SessionSecrets: secrets, CookieName: c.Session.CookieName,
		SessionMaxAge: time.Duration(c.Session.MaxAge), InsecureCookies: !c.Session.Secure,
		RefreshInterval: time.Duration(c.Session.RefreshInterval), RefreshGrace: time.Duration(c.Session.RefreshGrace),
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
		Upstream: up, PublicURL: public, Logger: log, AssertionHeader: c.Assertion.Header,
		Transport: proxy.NewTransport(c.transportOptions()),
	}
}

// PolicyOptions returns the policy package's Options for the file, each
// route with its line in the file.
func (c *Config) PolicyOptions() policy.Options {
	routes := make([]policy.Route, len(c.Policy.Routes))
	for i, r := range c.Policy.Routes {
		routes[i] = policy.Route{Path: r.Path, Methods: r.Methods, Groups: r.Groups, Emails: r.Emails, Line: r.Line}
	}
	return policy.Options{
		GroupsClaim: c.Policy.GroupsClaim, AllowGroups: c.Policy.AllowGroups, Default: policy.Decision(c.Policy.Default),
		CaseInsensitivePaths: c.Policy.CaseInsensitivePaths, Routes: routes,
	}
}

// trustedProxies parses trusted_proxies: CIDRs, or single addresses
// meaning just themselves. An entry that is neither becomes the invalid
// zero Prefix, which middleware.Options.Validate refuses by its index.
func (c *Config) trustedProxies() []netip.Prefix {
	out := make([]netip.Prefix, len(c.TrustedProxies))
	for i, s := range c.TrustedProxies {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out[i] = p.Masked()
		} else if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			out[i] = netip.PrefixFrom(a, a.BitLen())
		}
	}
	return out
}

// AssertionEnabled reports whether assertion.header is set, which turns
// the signed identity on.
func (c *Config) AssertionEnabled() bool { return c.Assertion.Header != "" }

// AssertionOptions returns the signer's options for the file: the keys
// from assertion.signing_keys (nil when the list is empty: the caller
// makes a fresh key), the public URL as issuer, and assertion.audience or
// else the upstream URL's origin as audience. The error says only what is
// wrong with the keys, never their text.
func (c *Config) AssertionOptions() (assertion.SignerOptions, error) {
	var keys []*ecdsa.PrivateKey
	if len(c.Assertion.SigningKeys) > 0 {
		pems := make([]string, len(c.Assertion.SigningKeys))
		for i, k := range c.Assertion.SigningKeys {
			pems[i] = string(k)
		}
		var err error
		if keys, err = assertion.ParsePrivateKeysPEM([]byte(strings.Join(pems, "\n"))); err != nil {
			return assertion.SignerOptions{}, err
		}
	}
	aud := c.Assertion.Audience
	if aud == "" {
		if u, err := url.Parse(c.Upstream); err == nil && u.Scheme != "" && u.Host != "" {
			aud = u.Scheme + "://" + u.Host
		}
	}
	return assertion.SignerOptions{
		Keys: keys, Issuer: strings.TrimSuffix(c.PublicURL, "/"), Audience: aud,
		Lifetime: time.Duration(c.Assertion.Lifetime),
	}, nil
}

// assertionProblems checks the assertion keys with the signer's own
// Validate, whose problems read "assertion: Field: message".
func (c *Config) assertionProblems(add func(path, msg string)) {
	if !c.AssertionEnabled() {
		return
	}
	o, err := c.AssertionOptions()
	if err != nil {
		add("assertion.signing_keys", strings.TrimPrefix(err.Error(), "assertion: "))
		return
	}
	var errs []error
	if j, ok := o.Validate().(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		field, msg, _ := strings.Cut(strings.TrimPrefix(e.Error(), "assertion: "), ": ")
		switch {
		case field == "Keys" && len(o.Keys) == 0: // a fresh key is made at start
		case strings.HasPrefix(field, "Keys"):
			add("assertion.signing_keys", field+": "+msg)
		case field == "Audience":
			add("assertion.audience", "required when upstream is empty")
		case field == "Lifetime":
			add("assertion.lifetime", msg)
		case field == "Issuer":
			add("public_url", msg)
		}
	}
}

// fieldIndex matches one index in a field name, such as "[2]".
var fieldIndex = regexp.MustCompile(`\[\d+\]`)

// yamlPath translates a package's field name to its key path through
// yamlPaths, carrying indices over.
func yamlPath(pkg, field string) (string, bool) {
	idx := fieldIndex.FindAllString(field, -1)
	tmpl := fieldIndex.ReplaceAllString(field, "[]")
	key, trailing := strings.CutSuffix(tmpl, "[]")
	path, ok := yamlPaths[pkg+"."+key]
	if !ok {
		return "", false
	}
	if trailing {
		path += "[]"
	}
	for _, i := range idx {
		path = strings.Replace(path, "[]", i, 1)
	}
	return path, !strings.Contains(path, "[]")
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
	}{{"shutdown_timeout", c.ShutdownTimeout}, {"session.max_age", c.Session.MaxAge}, {"rezi.timeout", c.Rezi.Timeout}, {"rezi.cache_margin", c.Rezi.CacheMargin}, {"assertion.lifetime", c.Assertion.Lifetime}} {
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
	c.sessionProblems(add)
	// The packages validate without I/O; the provider and the Rezi client
	// only need to exist, so placeholders stand in for them.
	mw := c.MiddlewareOptions(new(oidc.Provider), new(rezi.Client), nil, nil)
	errs := []error{c.OIDCOptions(nil).Validate(), c.ReziOptions(nil, nil).Validate(), mw.Validate(), c.transportOptions().Validate()}
	if c.Upstream != "" {
		errs = append(errs, c.ProxyOptions(nil).Validate())
	}
	for _, fe := range optionerr.Fields(errors.Join(errs...)) {
		if path, ok := yamlPath(fe.Pkg, fe.Field); ok {
			add(path, fe.Msg)
		}
	}
	c.assertionProblems(add)
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
	for _, p := range c.trustedProxies() {
		if p.IsValid() && p.Bits() == 0 {
			w = append(w, "trusted_proxies: "+p.String()+" trusts every client's X-Forwarded-Uri and X-Original-URI, so anyone can have forward-auth judge another path than the one they request")
		}
	}
	if len(c.Policy.Routes) > 0 && c.Policy.Default == string(policy.Allow) {
		w = append(w, "policy.default: allow: every path no route names is open to every signed-in user")
	}
	if c.AssertionEnabled() && len(c.Assertion.SigningKeys) == 0 {
		w = append(w, "assertion.signing_keys: empty: a fresh key is made at every start, so this is right for one replica only (set REZIGATE_ASSERTION_SIGNING_KEYS to share keys between replicas and restarts)")
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
