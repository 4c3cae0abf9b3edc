package sessions

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rezigate/rezigate/internal/httpurl"
	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/sessions/internal/storecheck"
)

// Defaults for zero Settings fields, and the limits Validate enforces.
const (
	// DefaultCookieName is Settings.CookieName when it is empty.
	DefaultCookieName = "_rezigate"
	// DefaultMaxAge is Settings.MaxAge when it is zero.
	DefaultMaxAge = 8 * time.Hour
	// LongestMaxAge is the longest Settings.MaxAge accepted.
	LongestMaxAge = 30 * 24 * time.Hour
	// MinSecretLen is the shortest session secret accepted, in bytes.
	MinSecretLen = storecheck.MinSecretLen
)

// hostPrefix is added to the names of Secure cookies: a browser then
// accepts the cookie only from this exact host, over https, for Path=/ and
// without a Domain attribute, so a sibling host (evil.example.com setting
// a cookie for .example.com) cannot plant one under the same name.
const hostPrefix = "__Host-"

// Settings are the session settings: given once, to the store, which
// seals its cookies with them; the middleware reads them back from the
// store (Store.Settings), so the two cannot disagree. Deployment and
// Secrets are required; every other zero field means its default.
type Settings struct {
	// Deployment names the deployment whose sessions these are: its
	// public URL's origin, as DeploymentOf gives it
	// ("https://rms.example.com"). Every store binds it into its seal and
	// keys, so a cookie of another deployment that shares the secrets
	// (and Redis) is not a session here, whatever that deployment let in.
	// It is required: an embedder running several deployments on one set
	// of secrets would otherwise let a user signed in to one into all.
	Deployment string
	// Secrets seal the session cookies (and the middleware's sign-in
	// state cookies); at least one is required, and each must be at least
	// MinSecretLen bytes. The first seals new cookies, every one opens
	// them, which allows rotation: put the new secret first and keep the
	// old one until the last cookie it sealed has expired; remove one to
	// sign out everyone whose cookie it sealed.
	Secrets [][]byte
	// CookieName names the session cookie; the middleware's sign-in state
	// cookies are named after it. Empty means DefaultCookieName;
	// otherwise 1 to 64 letters, digits or any of !#$%&'*+-.^_`|~ (an RFC
	// 6265 token). Unless InsecureCookies is set, the cookie is set as
	// "__Host-" + CookieName (SetCookieName), so that no other host of the
	// same site can plant a cookie that shadows it; the name itself must
	// therefore not start with "__". The name as set is bound into the
	// seal, so a value cannot be moved to another cookie.
	CookieName string
	// MaxAge is the longest a session lasts; a cookie sealed longer ago
	// no longer opens, and no store key lives longer. Zero means
	// DefaultMaxAge; negative or more than LongestMaxAge is an error.
	MaxAge time.Duration
	// InsecureCookies drops the Secure flag (and the "__Host-" prefix)
	// from the cookies, so they travel over plain http. It MUST NOT be
	// set when the site is reachable over https or from another machine:
	// the session cookie would then be sent in clear text. It exists for
	// local testing only. Without it, a Deployment of plain http is
	// accepted only on a loopback host, since browsers drop Secure
	// cookies elsewhere.
	InsecureCookies bool
}

// DeploymentOf returns the Deployment of a public URL: its scheme and
// host, lower-cased, without a default port or a path
// ("https://RMS.example.com:443/" gives "https://rms.example.com"); ""
// when publicURL is not an absolute http(s) URL with a host.
func DeploymentOf(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil || u.Hostname() == "" || u.Opaque != "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" && !(u.Scheme == "https" && port == "443") && !(u.Scheme == "http" && port == "80") {
		host += ":" + port
	}
	return u.Scheme + "://" + host
}

// Validate reports every problem with s at once: errors.Join of
// *optionerr.Error values, each reading "sessions: Field: what is wrong".
// It never includes a secret. The stores and the middleware report these
// problems under their own field that holds s ("Settings.MaxAge").
func (s Settings) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, optionerr.New("sessions", field, format, args...))
	}
	switch d := DeploymentOf(s.Deployment); {
	case s.Deployment == "":
		add("Deployment", "required (the public URL's origin), so that no other deployment's sessions open here")
	case d != s.Deployment:
		add("Deployment", "must be a public URL's origin as DeploymentOf gives it, such as https://rms.example.com")
	case !s.InsecureCookies && !secureOrigin(d):
		add("InsecureCookies", "is false but the public URL is plain http on a non-loopback host, so browsers would drop every cookie; use https")
	}
	errs = append(errs, storecheck.Secrets("sessions", s.Secrets)...)
	if msg := storecheck.CookieName(s.CookieName); s.CookieName != "" && msg != "" {
		add("CookieName", "%s", msg)
	}
	switch {
	case s.MaxAge < 0:
		add("MaxAge", "must not be negative")
	case s.MaxAge > LongestMaxAge:
		add("MaxAge", "must be at most 30 days (%v)", LongestMaxAge)
	}
	return errors.Join(errs...)
}

// Warnings lists the settings that are allowed but unsafe, as Validate
// reports problems.
func (s Settings) Warnings() []error {
	if s.InsecureCookies {
		return []error{optionerr.New("sessions", "InsecureCookies", "cookies are also sent over plain http, where anyone on the path can take the session")}
	}
	return nil
}

// secureOrigin reports whether a Deployment is https, or plain http on a
// loopback host (the one rule, httpurl.Secure).
func secureOrigin(deployment string) bool {
	u, err := url.Parse(deployment)
	return err == nil && httpurl.Secure(u)
}

// WithDefaults returns s with every zero field that has a default set to
// it, and its own copy of the secrets. Stores return their settings this
// way from Settings.
func (s Settings) WithDefaults() Settings {
	if s.CookieName == "" {
		s.CookieName = DefaultCookieName
	}
	if s.MaxAge == 0 {
		s.MaxAge = DefaultMaxAge
	}
	s.Secrets = cloneSecrets(s.Secrets)
	return s
}

// SetCookieName is the name the session cookie is set under: CookieName
// (or DefaultCookieName) with the "__Host-" prefix unless InsecureCookies
// is set.
func (s Settings) SetCookieName() string {
	name := s.CookieName
	if name == "" {
		name = DefaultCookieName
	}
	if s.InsecureCookies {
		return name
	}
	return hostPrefix + name
}

// IsZero reports whether s is the zero Settings: nothing given.
func (s Settings) IsZero() bool {
	return s.Deployment == "" && s.Secrets == nil && s.CookieName == "" && s.MaxAge == 0 && !s.InsecureCookies
}

func cloneSecrets(secrets [][]byte) [][]byte {
	if secrets == nil {
		return nil
	}
	out := make([][]byte, len(secrets))
	for i, s := range secrets {
		out[i] = slices.Clone(s)
	}
	return out
}

// String formats s with the secrets shown as a count, so %v never prints
// them.
func (s Settings) String() string {
	return fmt.Sprintf("sessions.Settings{Deployment:%q Secrets:%s CookieName:%q MaxAge:%v InsecureCookies:%t}",
		s.Deployment, storecheck.RedactSecrets(s.Secrets), s.CookieName, s.MaxAge, s.InsecureCookies)
}

// GoString makes %#v as safe as %v.
func (s Settings) GoString() string { return s.String() }

// LogValue implements slog.LogValuer without the secrets.
func (s Settings) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("deployment", s.Deployment),
		slog.String("secrets", storecheck.RedactSecrets(s.Secrets)),
		slog.String("cookie_name", s.CookieName),
		slog.Duration("max_age", s.MaxAge),
		slog.Bool("insecure_cookies", s.InsecureCookies),
	)
}
