package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rezigate/rezigate/internal/localpath"
	"github.com/rezigate/rezigate/internal/loopback"
)

// Limits enforced by Validate.
const (
	minSecretLen    = 32
	maxCookieName   = 64
	maxSessionAge   = 30 * 24 * time.Hour
	maxReziTimeout  = 2 * time.Minute
	maxCacheMargin  = time.Hour // Rezi tokens live less than an hour
	redirectPath    = "/oauth2/callback"
	httpsOrLoopback = "must be an absolute https URL (http only for a loopback host)"
	httpOrHTTPS     = "must be an absolute http or https URL with a host"
)

// Validate reports every problem in c, joined with [errors.Join]; nil means
// c is usable. Each problem reads "yaml.path: what is wrong" and never
// contains a secret's value. Validate does no I/O and does not modify c.
func (c *Config) Validate() error {
	if c == nil {
		return errors.New("config: nil config")
	}
	var v validator

	v.hostPort("listen", c.Listen)
	pub := v.publicURL(c.PublicURL)
	if c.Upstream != "" {
		if u := v.url("upstream", c.Upstream, httpOrHTTPS, false); u != nil && u.Fragment != "" {
			v.add("upstream", "must not have a fragment")
		}
	}
	v.min("upstream_max_idle_conns", c.UpstreamMaxIdleConns, 0)
	v.duration("shutdown_timeout", c.ShutdownTimeout, false, 0, "")
	if c.MetricsListen != "" && v.hostPort("metrics_listen", c.MetricsListen) && sameListener(c.Listen, c.MetricsListen) {
		v.add("metrics_listen", "must differ from listen: metrics are never served on the public port")
	}

	// oidc
	if c.OIDC.IssuerURL == "" {
		v.add("oidc.issuer_url", "is required")
	} else if u := v.url("oidc.issuer_url", c.OIDC.IssuerURL, httpsOrLoopback, true); u != nil {
		v.noQuery("oidc.issuer_url", c.OIDC.IssuerURL)
	}
	v.required("oidc.client_id", c.OIDC.ClientID)
	v.required("oidc.client_secret", string(c.OIDC.ClientSecret))
	hasOpenID := false
	for i, s := range c.OIDC.Scopes {
		if s == "openid" {
			hasOpenID = true
		}
		if !validScope(s) {
			v.add(fmt.Sprintf("oidc.scopes[%d]", i), "must be a scope name: printable ASCII without spaces, quotes or backslashes")
		}
	}
	if !hasOpenID {
		v.add("oidc.scopes", `must include "openid"`)
	}
	for i, dom := range c.OIDC.AllowedEmailDomains {
		if !validDomain(dom) {
			v.add(fmt.Sprintf("oidc.allowed_email_domains[%d]", i), `must be a domain name such as "example.com" (no "@", no wildcard, no trailing dot)`)
		}
	}

	// session
	if !validCookieName(c.Session.CookieName) {
		v.add("session.cookie_name", fmt.Sprintf("must be 1 to %d letters, digits or any of !#$%%&'*+-.^_`|~", maxCookieName))
	} else if strings.HasPrefix(c.Session.CookieName, "__") {
		v.add("session.cookie_name", "must not start with __ (the __Host- prefix is added when session.secure is true)")
	}
	if len(c.Session.Secrets) == 0 {
		v.add("session.secrets", fmt.Sprintf("is required: at least one secret of %d bytes or more", minSecretLen))
	}
	for i, s := range c.Session.Secrets {
		v.secretLen(fmt.Sprintf("session.secrets[%d]", i), s)
	}
	v.duration("session.max_age", c.Session.MaxAge, false, maxSessionAge, "must be at most 30 days (720h)")
	if c.Session.Secure && pub != nil && pub.Scheme == "http" && !loopback.Host(pub.Hostname()) {
		v.add("session.secure", "is true but public_url is plain http on a non-loopback host, so browsers would drop every cookie; use https")
	}

	// identity
	if c.Identity.UIDSecret == "" {
		v.add("identity.uid_secret", fmt.Sprintf("is required: a secret of %d bytes or more", minSecretLen))
	} else {
		v.secretLen("identity.uid_secret", c.Identity.UIDSecret)
	}

	// rezi
	if c.Rezi.APIURL == "" {
		v.add("rezi.api_url", "is required")
	} else if v.url("rezi.api_url", c.Rezi.APIURL, httpsOrLoopback, true) != nil {
		v.noQuery("rezi.api_url", c.Rezi.APIURL)
	}
	v.required("rezi.private_key", string(c.Rezi.PrivateKey))
	switch {
	case c.Rezi.LoginURL == "":
		v.add("rezi.login_url", "is required")
	case strings.HasPrefix(c.Rezi.LoginURL, "/"):
		if !localpath.Valid(c.Rezi.LoginURL) {
			v.add("rezi.login_url", "must be an absolute http or https URL, or a local path starting with a single /")
		}
	default:
		v.url("rezi.login_url", c.Rezi.LoginURL, "must be an absolute http or https URL, or a local path starting with a single /", false)
	}
	if c.Rezi.CloseOnboardingRedirect != "" && !localpath.Valid(c.Rezi.CloseOnboardingRedirect) {
		v.add("rezi.close_onboarding_redirect", "must be a local path starting with a single /, such as /dashboard")
	}
	v.duration("rezi.timeout", c.Rezi.Timeout, false, maxReziTimeout, "must be at most 2m")
	v.min("rezi.cache_size", c.Rezi.CacheSize, 0)
	v.duration("rezi.cache_margin", c.Rezi.CacheMargin, true, maxCacheMargin-1, "must be less than 1h: Rezi tokens live less than an hour")
	v.min("rezi.rate_limit", c.Rezi.RateLimit, 0)

	// log
	switch c.Log.Format {
	case "text", "json":
	default:
		v.add("log.format", `must be "text" or "json"`)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.add("log.level", `must be "debug", "info", "warn" or "error"`)
	}

	return errors.Join(v.problems...)
}

// Warnings lists settings that are allowed but unsafe outside local testing,
// one line each naming the key, for the command to log at start. It assumes
// c is valid and skips what it cannot parse.
func (c *Config) Warnings() []string {
	var w []string
	if u, err := url.Parse(c.PublicURL); err == nil && u.Scheme == "http" && !loopback.Host(u.Hostname()) {
		w = append(w, "public_url: plain http on a non-loopback host: session cookies and Rezi tokens cross the network unencrypted")
	}
	if !c.Session.Secure {
		w = append(w, "session.secure: false: the session cookie is also sent over plain http, where anyone on the path can take it")
	}
	if c.MetricsListen != "" {
		if host, _, err := net.SplitHostPort(c.MetricsListen); err == nil && !loopback.Host(host) {
			w = append(w, "metrics_listen: not a loopback address: anyone who can reach it reads traffic and sign-in statistics")
		}
	}
	if !c.OIDC.RequireEmailVerified {
		w = append(w, "oidc.require_email_verified: false: an email address nobody has verified is trusted as the user's identity")
	}
	if u, err := url.Parse(c.Rezi.LoginURL); err == nil && u.Scheme == "http" && !loopback.Host(u.Hostname()) {
		w = append(w, "rezi.login_url: plain http on a non-loopback host: Rezi login tokens cross the network unencrypted")
	}
	return w
}

// RedirectURL returns the OIDC redirect URI to register at the provider:
// public_url + "/oauth2/callback".
func (c *Config) RedirectURL() string {
	return strings.TrimSuffix(c.PublicURL, "/") + redirectPath
}

// LoginURL returns rezi.login_url as an absolute URL, resolving a local path
// against public_url. It fails only on a config that does not validate.
func (c *Config) LoginURL() (*url.URL, error) {
	base, err := url.Parse(c.PublicURL)
	if err != nil || !base.IsAbs() {
		return nil, errors.New("config: public_url: not an absolute URL")
	}
	ref, err := url.Parse(c.Rezi.LoginURL)
	if err != nil || c.Rezi.LoginURL == "" {
		return nil, errors.New("config: rezi.login_url: not a URL or local path")
	}
	return base.ResolveReference(ref), nil
}

type validator struct {
	problems []error
}

func (v *validator) add(path, msg string) {
	v.problems = append(v.problems, &problem{path: path, msg: msg})
}

func (v *validator) required(path, s string) {
	if strings.TrimSpace(s) == "" {
		v.add(path, "is required")
	}
}

func (v *validator) min(path string, n, lo int) {
	if n < lo {
		v.add(path, fmt.Sprintf("must be %d or more", lo))
	}
}

// duration checks that d is more than 0 (or not negative, when zeroOK)
// and, when hi > 0, at most hi; tooLong is the message for the latter.
func (v *validator) duration(path string, d Duration, zeroOK bool, hi time.Duration, tooLong string) {
	switch {
	case d < 0 && zeroOK:
		v.add(path, "must not be negative")
	case d <= 0 && !zeroOK:
		v.add(path, "must be more than 0")
	case hi > 0 && time.Duration(d) > hi:
		v.add(path, tooLong)
	}
}

func (v *validator) secretLen(path string, s Secret) {
	if len(s) < minSecretLen {
		v.add(path, fmt.Sprintf("must be at least %d bytes, got %d", minSecretLen, len(s)))
	}
}

// url checks that s is an absolute http(s) URL with a host and no user
// information; with httpsOnly, http is accepted for loopback hosts only.
// It returns the parsed URL, or nil after adding msg.
func (v *validator) url(path, s, msg string, httpsOnly bool) *url.URL {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		v.add(path, msg)
		return nil
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (!httpsOnly || loopback.Host(u.Hostname())):
	default:
		v.add(path, msg)
		return nil
	}
	if u.User != nil {
		v.add(path, "must not contain a user name or password")
		return nil
	}
	return u
}

func (v *validator) noQuery(path, s string) {
	if strings.ContainsAny(s, "?#") {
		v.add(path, "must not have a query or fragment")
	}
}

func (v *validator) publicURL(s string) *url.URL {
	if s == "" {
		v.add("public_url", "is required")
		return nil
	}
	u := v.url("public_url", s, httpOrHTTPS, false)
	if u == nil {
		return nil
	}
	if strings.ContainsAny(s, "?#") {
		v.add("public_url", "must not have a query or fragment")
		return nil
	}
	if u.Path != "" && u.Path != "/" {
		v.add("public_url", "must have no path: rezigate serves from the root of its host")
		return nil
	}
	return u
}

// hostPort checks a listen address and reports whether it is well formed.
func (v *validator) hostPort(path, s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		v.add(path, "must be host:port, such as 127.0.0.1:4180 or :4180")
		return false
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || strconv.FormatUint(n, 10) != port {
		v.add(path, "must end in a port number from 0 to 65535")
		return false
	}
	if host != "" && !isIP(host) && !validDomain(strings.ToLower(host)) {
		v.add(path, "host must be an IP address or a host name")
		return false
	}
	return true
}

// sameListener reports whether two valid listen addresses would collide.
func sameListener(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	if pa != pb || pa == "0" {
		return false
	}
	canon := func(h string) string {
		h = strings.ToLower(h)
		if h == "localhost" {
			return "127.0.0.1"
		}
		if ip, err := netip.ParseAddr(h); err == nil {
			if ip.IsUnspecified() {
				return ""
			}
			return ip.Unmap().String()
		}
		return h
	}
	ca, cb := canon(ha), canon(hb)
	return ca == "" || cb == "" || ca == cb
}

func isIP(h string) bool {
	_, err := netip.ParseAddr(h)
	return err == nil
}

// validScope reports whether s is a scope token (RFC 6749 section 3.3).
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return false
		}
	}
	return true
}

// validDomain reports whether s looks like a DNS name: ASCII labels of 1 to
// 63 letters, digits and inner hyphens, at most 253 bytes, and not an IP
// address. Unicode domains are written in their xn-- form.
func validDomain(s string) bool {
	if s == "" || len(s) > 253 || isIP(s) {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	// An all-digit last label is an IPv4 address in some spelling, not a
	// domain.
	last := labels[len(labels)-1]
	return strings.Trim(last, "0123456789") != ""
}

// validCookieName reports whether s is an RFC 6265 cookie-name token of at
// most maxCookieName bytes.
func validCookieName(s string) bool {
	if s == "" || len(s) > maxCookieName {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
