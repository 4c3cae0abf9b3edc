package config

import (
	"crypto/ecdsa"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rezigate/rezigate/acme"
	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/handoff"
	"github.com/rezigate/rezigate/internal/certfile"
	"github.com/rezigate/rezigate/internal/loopback"
	"github.com/rezigate/rezigate/internal/yamlenv"
	"github.com/rezigate/rezigate/metrics"
	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/proxy"
	"github.com/rezigate/rezigate/rezi"
	"github.com/rezigate/rezigate/sessions"
	"github.com/rezigate/rezigate/sessions/redisstore"
	"github.com/rezigate/rezigate/tlsserve"
)

// redisPlaceholder stands in for the Redis store, which Validate cannot
// connect to: a sessions.Updater with the file's session settings, as the
// store built from RedisOptions has them.
type redisPlaceholder struct {
	*redisstore.Store
	settings sessions.Settings
}

func (p redisPlaceholder) Settings() sessions.Settings { return p.settings }

// OIDCOptions returns the oidc package's Options for the file. With
// session refresh on, the scopes ask for offline_access: without a
// refresh token there is nothing to refresh with.
func (c *Config) OIDCOptions(log *slog.Logger) oidc.Options {
	scopes := c.OIDC.Scopes
	if c.Session.RefreshInterval > 0 && scopes != nil && !slices.Contains(scopes, "offline_access") {
		scopes = append(slices.Clone(scopes), "offline_access")
	}
	return oidc.Options{
		IssuerURL: c.OIDC.IssuerURL, ClientID: c.OIDC.ClientID, ClientSecret: string(c.OIDC.ClientSecret),
		RedirectURL: strings.TrimSuffix(c.PublicURL, "/") + "/oauth2/callback", Scopes: scopes,
		GroupsClaim: c.Policy.GroupsClaim, Logger: log,
		Profile: oidc.Profile(c.OIDC.Provider), GraphURL: c.OIDC.GraphURL,
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
// the parts built from it. With session.store cookie, Session holds the
// session settings, for the cookie store the middleware builds; with
// redis, they go to the Redis store (RedisOptions) and the caller sets
// Store. The caller sets Assertion.
func (c *Config) MiddlewareOptions(p *oidc.Provider, rc *rezi.Client, log *slog.Logger, m *metrics.Metrics) middleware.Options {
	var session sessions.Settings
	if c.Session.Store != StoreRedis {
		session = c.SessionSettings()
	}
	return middleware.Options{
		Provider: p, PublicURL: c.PublicURL, Session: session,
		RefreshInterval: time.Duration(c.Session.RefreshInterval), RefreshGrace: time.Duration(c.Session.RefreshGrace),
		UIDSecret: []byte(c.Identity.UIDSecret), SkipProviderSignOut: !c.OIDC.ProviderSignOut,
		Handoff: handoff.Options{
			Rezi: rc, LoginURL: c.Rezi.LoginURL, OpenOnboarding: c.Rezi.OpenOnboarding,
			CloseOnboardingRedirect: c.Rezi.CloseOnboardingRedirect, RateLimit: c.Rezi.RateLimit.Option(),
		},
		Policy: c.PolicyOptions(), TrustedProxies: c.trustedProxies(), AssertionHeader: c.Assertion.Header,
		ServeHealth: true, RedactEmail: c.Log.RedactEmail, Metrics: m, Logger: log,
	}
}

// SessionSettings returns the session settings of the file (session.*,
// bound to the deployment public_url names), which are given once: to
// the session store, whichever session.store says.
func (c *Config) SessionSettings() sessions.Settings {
	secrets := make([][]byte, len(c.Session.Secrets))
	for i, s := range c.Session.Secrets {
		secrets[i] = []byte(s)
	}
	return sessions.Settings{
		Deployment: sessions.DeploymentOf(c.PublicURL), Secrets: secrets, CookieName: c.Session.CookieName,
		MaxAge: time.Duration(c.Session.MaxAge), InsecureCookies: !c.Session.Secure,
	}
}

// ProxyOptions returns the proxy's Options, for a file with an upstream.
// The caller sets Transport, from UpstreamTransport.
func (c *Config) ProxyOptions(log *slog.Logger) proxy.Options {
	up, _ := url.Parse(c.Upstream)
	public, _ := url.Parse(c.PublicURL)
	return proxy.Options{
		Upstream: up, PublicURL: public, Logger: log, AssertionHeader: c.Assertion.Header,
		StripHeaders: c.Proxy.StripHeaders,
	}
}

// UpstreamTransport returns the Transport to the upstream: its idle pool,
// and upstream_tls's CA, client certificate (re-read when its files
// change; log receives the reloads) and server name. It fails when a file
// does not load; the error never holds a key's text.
func (c *Config) UpstreamTransport(log *slog.Logger) (*http.Transport, error) {
	o := c.transportOptions()
	var err error
	if f := c.UpstreamTLS.CAFile; f != "" {
		if o.RootCAs, err = certfile.CertPool(f); err != nil {
			return nil, fmt.Errorf("upstream_tls.ca_file: %w", err)
		}
	}
	if c.UpstreamTLS.ClientCertFile != "" {
		p, err := certfile.Load(c.UpstreamTLS.ClientCertFile, c.UpstreamTLS.ClientKeyFile, log)
		if err != nil {
			return nil, fmt.Errorf("upstream_tls.client_cert_file: %w", err)
		}
		o.ClientCertificate = p.GetClientCertificate
	}
	return proxy.NewTransport(o), nil
}

func (c *Config) transportOptions() proxy.TransportOptions {
	return proxy.TransportOptions{MaxIdleConns: c.UpstreamMaxIdleConns.Option(), ServerName: c.UpstreamTLS.ServerName}
}

// TLSEnabled reports whether listen serves HTTPS: tls.cert_file or
// tls.key_file is set.
func (c *Config) TLSEnabled() bool { return c.TLS.CertFile != "" || c.TLS.KeyFile != "" }

// TLSOptions returns the server TLS options of the file, for TLSEnabled.
func (c *Config) TLSOptions(log *slog.Logger) tlsserve.Options {
	return tlsserve.Options{CertFile: c.TLS.CertFile, KeyFile: c.TLS.KeyFile, MinVersion: tlsVersion(c.TLS.MinVersion), Logger: log}
}

// tlsVersionNames are the spellings of tls.min_version: the versions
// tlsserve accepts, and the older ones it refuses by name.
var tlsVersionNames = map[uint16]string{
	tls.VersionTLS10: "1.0", tls.VersionTLS11: "1.1", tls.VersionTLS12: "1.2", tls.VersionTLS13: "1.3",
}

// tlsVersion returns the TLS version named s; "" is zero (the default),
// and any other name a value tlsserve refuses.
func tlsVersion(s string) uint16 {
	if s == "" {
		return 0
	}
	for v, name := range tlsVersionNames {
		if s == name {
			return v
		}
	}
	return 1
}

// PolicyOptions returns the policy package's Options, routes with lines,
// with every sign-in rule: policy.* and the email rules of
// oidc.allowed_email_domains and oidc.require_email_verified. The server
// and `rezigate explain` both judge with it.
func (c *Config) PolicyOptions() policy.Options {
	o := c.policyOptions()
	o.AllowedEmailDomains, o.AllowUnverifiedEmail = c.OIDC.AllowedEmailDomains, !c.OIDC.RequireEmailVerified
	return o
}

// policyOptions is PolicyOptions without the email rules.
func (c *Config) policyOptions() policy.Options {
	routes := make([]policy.Route, len(c.Policy.Routes))
	for i, r := range c.Policy.Routes {
		routes[i] = policy.Route{Path: r.Path, Methods: r.Methods, Groups: r.Groups, Emails: r.Emails, Line: r.Line}
	}
	return policy.Options{
		AllowGroups: c.Policy.AllowGroups, Default: policy.Decision(c.Policy.Default),
		CaseInsensitivePaths: c.Policy.CaseInsensitivePaths, Routes: routes,
		Provider: policy.Provider(c.OIDC.Provider),
	}
}

// RedisOptions returns the Redis store's Options, for session.store
// redis: the file's session settings, given to the store, from which the
// middleware reads them.
func (c *Config) RedisOptions() redisstore.Options {
	return redisstore.Options{
		Settings: c.SessionSettings(), URL: string(c.Redis.URL),
		SentinelUsername: c.Redis.SentinelUsername, SentinelPassword: string(c.Redis.SentinelPassword),
	}
}

// trustedProxies parses trusted_proxies: CIDRs, or single addresses
// meaning just themselves. Anything else becomes the invalid zero Prefix,
// which middleware.Options.Validate refuses by its index.
func (c *Config) trustedProxies() []netip.Prefix {
	out := make([]netip.Prefix, len(c.TrustedProxies))
	for i, s := range c.TrustedProxies {
		if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
			out[i] = p.Masked()
		} else if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil && a.Zone() == "" {
			out[i] = netip.PrefixFrom(a, a.BitLen())
		}
	}
	return out
}

// ACMEEnabled reports whether tls.acme.domains turns ACME on: listen
// then serves HTTPS with certificates from the CA.
func (c *Config) ACMEEnabled() bool { return len(c.TLS.ACME.Domains) > 0 }

// ACMEOptions returns the acme package's Options for the file: the
// TLS-ALPN-01 challenge is answered on listen, and HTTP-01 on
// tls.redirect_listen when it is set. The caller sets Storage
// (with session.store redis, an acme.RedisStorage on the store's Redis;
// nil means cache_dir).
func (c *Config) ACMEOptions(log *slog.Logger) acme.Options {
	a := c.TLS.ACME
	return acme.Options{
		Domains: a.Domains, DirectoryURL: a.DirectoryURL, Email: a.Email, CAFile: a.CAFile, CacheDir: a.CacheDir,
		TLSAddr: c.Listen, HTTPAddr: c.TLS.RedirectListen, Logger: log,
	}
}

// AssertionEnabled reports whether assertion.header turns the assertion on.
func (c *Config) AssertionEnabled() bool { return c.Assertion.Header != "" }

// AssertionOptions returns the signer's options for the file: the keys of
// assertion.signing_keys (none: the signer makes a fresh one), the public
// URL as issuer, and assertion.audience or else the upstream's origin as
// audience. The error never holds a key's text.
func (c *Config) AssertionOptions() (assertion.SignerOptions, error) {
	var pems []byte
	for _, k := range c.Assertion.SigningKeys {
		pems = append(append(pems, k...), '\n')
	}
	var keys []*ecdsa.PrivateKey
	if len(pems) > 0 {
		var err error
		if keys, err = assertion.ParsePrivateKeysPEM(pems); err != nil {
			return assertion.SignerOptions{}, err
		}
	}
	aud := c.Assertion.Audience
	if u, err := url.Parse(c.Upstream); aud == "" && err == nil && u.Scheme != "" && u.Host != "" {
		aud = u.Scheme + "://" + u.Host
	}
	return assertion.SignerOptions{
		Keys: keys, Issuer: strings.TrimSuffix(c.PublicURL, "/"), Audience: aud, Lifetime: time.Duration(c.Assertion.Lifetime),
	}, nil
}

// Validate reports every problem in c, one per line: the command's own
// keys here, the others by the Validate method of the package each key
// configures. Each names its key, or the variable its value came from.
func (c *Config) Validate() error { return yamlenv.Join(c.problems()) }

func (c *Config) problems() []*yamlenv.Problem {
	var probs []*yamlenv.Problem
	add := func(path, msg string) { probs = append(probs, c.problem(path, msg)) }
	// The command needs a client secret (oidc allows public clients), and
	// an empty api_url in the file is a mistake, not the default.
	for _, k := range []struct{ path, v string }{{"oidc.client_secret", string(c.OIDC.ClientSecret)}, {"rezi.api_url", c.Rezi.APIURL}} {
		if strings.TrimSpace(k.v) == "" {
			add(k.path, "required")
		}
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen", `must be host:port, such as "127.0.0.1:4180" or ":4180"`)
	}
	if _, _, err := net.SplitHostPort(c.MetricsListen); c.MetricsListen != "" && err != nil {
		add("metrics_listen", `must be host:port, such as "127.0.0.1:9090"`)
	} else if c.MetricsListen != "" && c.MetricsListen == c.Listen {
		add("metrics_listen", "must differ from listen: metrics are never served on the public port")
	}
	// In the file a zero duration is a mistake, not "the default".
	for path, d := range map[string]yamlenv.Duration{"shutdown_timeout": c.ShutdownTimeout, "session.max_age": c.Session.MaxAge,
		"session.refresh_grace": c.Session.RefreshGrace, "rezi.timeout": c.Rezi.Timeout, "rezi.cache_margin": c.Rezi.CacheMargin, "assertion.lifetime": c.Assertion.Lifetime} {
		if d <= 0 {
			add(path, "must be positive")
		}
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		add("log.format", `must be "text" or "json"`)
	}
	if new(slog.Level).UnmarshalText([]byte(c.Log.Level)) != nil {
		add("log.level", `must be "debug", "info", "warn" or "error"`)
	}
	mo := c.MiddlewareOptions(new(oidc.Provider), new(rezi.Client), nil, nil) // placeholders: Validate only checks they are there
	if c.Session.Store == StoreRedis {
		mo.Store = redisPlaceholder{new(redisstore.Store), c.SessionSettings().WithDefaults()}
	}
	// The middleware's problems come first: where two packages read one
	// key (public_url), its message is the one kept.
	errs := []error{mo.Validate(), c.OIDCOptions(nil).Validate(), c.ReziOptions(nil, nil).Validate(), c.transportOptions().Validate()}
	switch c.Session.Store {
	case StoreCookie:
	case StoreRedis:
		u, err := url.Parse(string(c.Redis.URL))
		if c.inFileOnly("redis.url") && (err != nil || u.User.String() != u.User.Username()) {
			add("redis.url", "must not hold a password in the file; set REZIGATE_REDIS_URL in the environment")
		}
		if c.inFileOnly("redis.sentinel_password") && c.Redis.SentinelPassword != "" {
			add("redis.sentinel_password", "must not be written in the file; set REZIGATE_REDIS_SENTINEL_PASSWORD in the environment")
		}
		errs = append(errs, c.RedisOptions().Validate())
	default:
		add("session.store", `must be "cookie" or "redis"`)
	}
	if c.Upstream != "" {
		errs = append(errs, c.ProxyOptions(nil).Validate())
	}
	errs = append(errs, c.tlsProblems(add))
	if c.ACMEEnabled() {
		ao := c.ACMEOptions(nil)
		if c.Session.Store == StoreRedis {
			ao.Storage = new(acme.RedisStorage) // placeholder: Validate only checks it is there
		} else if strings.TrimSpace(ao.CacheDir) == "" {
			add("tls.acme.cache_dir", "required unless session.store is redis: the account key and certificates must outlive a restart")
		}
		errs = append(errs, ao.Validate())
	}
	if ao, err := c.AssertionOptions(); c.AssertionEnabled() && err != nil {
		add("assertion.signing_keys", strings.TrimPrefix(err.Error(), "assertion: "))
	} else if c.AssertionEnabled() {
		errs = append(errs, ao.Validate())
	}
	probs = append(probs, c.translate(errors.Join(errs...))...)
	seen := map[string]bool{} // one problem per key: the first found
	probs = slices.DeleteFunc(probs, func(p *yamlenv.Problem) bool {
		dup := seen[p.Where]
		seen[p.Where] = true
		return dup
	})
	slices.SortStableFunc(probs, func(a, b *yamlenv.Problem) int { return strings.Compare(a.Where, b.Where) })
	return probs
}

// tlsProblems checks the tls and upstream_tls keys: their options by
// their packages' Validate (the returned error), and that their files
// load (reported through add), so -check names the key of a bad file.
func (c *Config) tlsProblems(add func(path, msg string)) error {
	to := c.TLSOptions(nil)
	if !c.TLSEnabled() { // only min_version to check
		to.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil }
	}
	err := to.Validate()
	if c.TLSEnabled() && err == nil {
		certErr, keyErr := certfile.Check(c.TLS.CertFile, c.TLS.KeyFile)
		if certErr != nil {
			add("tls.cert_file", certErr.Error())
		}
		if keyErr != nil {
			add("tls.key_file", keyErr.Error())
		}
	}
	if c.TLSEnabled() && c.ACMEEnabled() {
		add("tls.acme.domains", "set either tls.cert_file and tls.key_file or tls.acme, not both")
	}
	if r := c.TLS.RedirectListen; r != "" {
		u, uerr := url.Parse(c.PublicURL)
		if _, _, err := net.SplitHostPort(r); err != nil {
			add("tls.redirect_listen", `must be host:port, such as ":80"`)
		} else if r == c.Listen || r == c.MetricsListen {
			add("tls.redirect_listen", "must differ from listen and metrics_listen")
		} else if uerr != nil || u.Scheme != "https" {
			add("tls.redirect_listen", "needs an https public_url to redirect to")
		}
	}
	ut := c.UpstreamTLS
	switch {
	case ut.ClientCertFile == "" && ut.ClientKeyFile != "":
		add("upstream_tls.client_cert_file", "required with upstream_tls.client_key_file")
	case ut.ClientKeyFile == "" && ut.ClientCertFile != "":
		add("upstream_tls.client_key_file", "required with upstream_tls.client_cert_file")
	case ut.ClientCertFile != "":
		certErr, keyErr := certfile.Check(ut.ClientCertFile, ut.ClientKeyFile)
		if certErr != nil {
			add("upstream_tls.client_cert_file", certErr.Error())
		}
		if keyErr != nil {
			add("upstream_tls.client_key_file", keyErr.Error())
		}
	}
	if ut.CAFile != "" {
		if _, err := certfile.CertPool(ut.CAFile); err != nil {
			add("upstream_tls.ca_file", strings.TrimPrefix(err.Error(), "certfile: "))
		}
	}
	if u, uerr := url.Parse(c.Upstream); uerr != nil || u.Scheme != "https" {
		for _, k := range []struct{ path, v string }{
			{"upstream_tls.ca_file", ut.CAFile}, {"upstream_tls.client_cert_file", ut.ClientCertFile}, {"upstream_tls.server_name", ut.ServerName},
		} {
			if k.v != "" {
				add(k.path, "needs an https upstream")
			}
		}
	}
	return err
}

// problem names the key at path as the operator set it, and says which
// variable to set for a missing secret. A value from the file gets its
// line; a key the file leaves out says so, since no line holds it.
func (c *Config) problem(path, msg string) *yamlenv.Problem {
	k, known := schema().Key(path)
	if known && k.Secret && strings.HasPrefix(msg, "required") {
		msg = "required; set " + k.Env
	}
	where := c.origin.Where(path)
	switch line, inFile := c.origin.Lines[path]; {
	case where != path || endsWithLine.MatchString(msg): // from a variable, or the line is said
	case inFile:
		msg += fmt.Sprintf(" (line %d)", line)
	case !known || !k.Secret:
		msg += " (not in the file)"
	}
	return &yamlenv.Problem{Where: where, Msg: msg}
}

// endsWithLine matches a message that already names its line.
var endsWithLine = regexp.MustCompile(`\(line \d+\)$`)

// inFileOnly reports whether the file sets path and no variable overrides it.
func (c *Config) inFileOnly(path string) bool {
	_, in := c.origin.Lines[path]
	return in && c.origin.Env[path] == ""
}

// translate turns the packages' field errors (or warnings) into problems
// at the keys they came from; fields no key sets are dropped.
func (c *Config) translate(err error) []*yamlenv.Problem {
	var probs []*yamlenv.Problem
	for _, fe := range optionerr.Fields(err) {
		if path, ok := schema().PathOf("opt", fe.Pkg+"."+fe.Field); ok {
			probs = append(probs, c.problem(path, fe.Msg))
		}
	}
	return probs
}

// Warnings lists settings that are allowed but unsafe, one line each
// naming the key, for -check and the start-up log. It assumes c is valid.
func (c *Config) Warnings() []string {
	var w []string
	v := reflect.ValueOf(c).Elem()
	for _, k := range schema().Keys() {
		if k.Secret && c.inFileOnly(k.Path) && v.FieldByIndex(k.Index).Len() > 0 {
			w = append(w, k.Path+": a secret written in the file; set "+k.Env+" in the environment instead")
		}
	}
	if host, _, err := net.SplitHostPort(c.MetricsListen); err == nil && !loopback.Host(host) {
		w = append(w, "metrics_listen: not a loopback address: anyone who can reach it reads traffic and sign-in statistics")
	}
	mo := c.MiddlewareOptions(nil, nil, nil, nil)
	mo.Session = c.SessionSettings() // their warnings, whichever store the settings go to
	warn := mo.Warnings()
	if ao, err := c.AssertionOptions(); c.AssertionEnabled() && err == nil {
		warn = append(warn, ao.Warnings()...)
	}
	for _, p := range c.translate(errors.Join(warn...)) {
		w = append(w, p.Error())
	}
	return w
}

// ProfileRules says in one line what the oidc.provider profile does, for
// -check.
func ProfileRules(provider string) string {
	switch oidc.Profile(provider) {
	case oidc.ProfileEntra:
		return "uid from oid; tid must be the issuer's tenant; email_verified not required; email or preferred_username; guests refused; groups from Microsoft Graph on overage"
	case oidc.ProfileGoogle:
		return "hd must be in allowed_email_domains; refresh asked with access_type=offline and prompt=consent"
	case oidc.ProfileOkta:
		return "groups from the groups claim; the groups scope is requested with the default scopes"
	case oidc.ProfileKeycloak:
		return `groups as full paths without the leading "/" ("/rms/admins" is "rms/admins")`
	}
	return "standard claims: uid from sub, email and email_verified, groups from policy.groups_claim"
}

// RedisProblem names where redis.url came from (its variable,
// REZIGATE_REDIS_URL, or the key) in err, an error of redisstore.New or
// Connect, when it wraps redisstore.ErrMisconfigured: Redis refused the
// URL, which no retry mends. Other errors come back as they are.
func (c *Config) RedisProblem(err error) error {
	if !errors.Is(err, redisstore.ErrMisconfigured) {
		return err
	}
	return fmt.Errorf("%s: %w", c.origin.Where("redis.url"), err)
}
