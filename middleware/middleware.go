package middleware

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rezigate/rezigate/internal/localpath"
	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/internal/session"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/rezi"
)

// Defaults for zero Options fields.
const (
	DefaultCookieName      = "_rezigate"
	DefaultSessionMaxAge   = 8 * time.Hour
	DefaultMaxStateCookies = 5
	DefaultReziRateLimit   = 10
	// MinSecretLen is the shortest session or uid secret accepted, in bytes.
	MinSecretLen = session.MinSecretLen
	// stateInfix separates the cookie name from a sign-in attempt's state
	// in the name of that attempt's cookie.
	stateInfix = "_st_"
	// stateMaxAge bounds how long a sign-in attempt may take at the provider.
	stateMaxAge = 10 * time.Minute
)

// Options configure the middleware. Provider, PublicURL, SessionSecrets
// and UIDSecret are required; LoginURL is required when Rezi is set.
type Options struct {
	// Provider signs users in. Required.
	Provider *oidc.Provider
	// Rezi mints RMS login tokens. Nil means /rezi answers 404.
	Rezi *rezi.Client
	// PublicURL is the external base URL of the site (scheme and host, no
	// path), used to build absolute redirect targets. Required.
	PublicURL string
	// SessionSecrets seal the session and sign-in state cookies; each must
	// be at least MinSecretLen bytes. The first seals new cookies, all open
	// them: put a new secret first to rotate, and remove an old one to sign
	// out everyone whose cookie it sealed. Required.
	SessionSecrets [][]byte
	// CookieName names the session cookie; sign-in state cookies are named
	// CookieName + "_st_" + a per-attempt suffix. Empty means DefaultCookieName.
	// Unless InsecureCookies is set, every name gets the "__Host-" prefix,
	// so that no other host of the same site can plant a cookie that
	// shadows them; the name itself must therefore not start with "__".
	CookieName string
	// SessionMaxAge is how long a session lasts. Zero means DefaultSessionMaxAge.
	SessionMaxAge time.Duration
	// InsecureCookies drops the Secure flag from cookies, so they travel
	// over plain http. It MUST NOT be set when the site is reachable over
	// https or from another machine: the session cookie would then be sent
	// in clear text. It exists for local testing only.
	InsecureCookies bool
	// UIDSecret keys the uid derivation. At least MinSecretLen bytes.
	// Changing it changes every user's uid, which detaches users from
	// their RMS accounts: never change it once users exist. Required.
	UIDSecret []byte
	// AllowedEmailDomains limits sign-in to these email domains (matched
	// case-insensitively and exactly; no subdomains). Empty allows any.
	AllowedEmailDomains []string
	// AllowUnverifiedEmail admits users whose ID token does not say
	// email_verified=true. Zero (false) refuses them, which is what keeps an
	// attacker from registering someone else's address at a lax provider.
	AllowUnverifiedEmail bool
	// ProviderSignOut sends the browser to the provider's
	// end_session_endpoint after clearing the session, when the provider
	// has one. False only clears the local session.
	ProviderSignOut bool
	// LoginURL is the RMS login URL that /rezi redirects to with the user
	// token: absolute http(s), or a local path resolved against PublicURL.
	LoginURL string
	// OpenOnboarding is the default for the openOnboarding option of the
	// RMS login URL; a /rezi?openOnboarding= query overrides it.
	OpenOnboarding bool
	// CloseOnboardingRedirect is the default for closeOnboardingRedirect
	// (a local path); empty means the option is not sent. A
	// /rezi?closeOnboardingRedirect= query overrides it.
	CloseOnboardingRedirect string
	// ReziRateLimit is how many /rezi requests one uid may make per minute.
	// Zero means DefaultReziRateLimit; negative disables the limit.
	ReziRateLimit int
	// MaxStateCookies caps the sign-in attempts one browser may have in
	// flight; starting another drops the oldest. Zero means DefaultMaxStateCookies.
	MaxStateCookies int
	// ServeHealth makes the middleware answer GET /healthz (200 while the
	// process runs) and GET /readyz (200 once the provider's discovery
	// document is loaded, 503 before) without a session.
	ServeHealth bool
	// RedactEmail keeps email addresses out of info-level access logs,
	// which then name users by uid only.
	RedactEmail bool
	// Metrics, when not nil, receives request, sign-in and Rezi counts.
	// Build it with NewMetrics.
	Metrics *Metrics
	// Logger receives access logs and failures. Nil means slog.Default().
	Logger *slog.Logger
}

// LogValue keeps secrets out of logs.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("public_url", o.PublicURL),
		slog.String("cookie_name", o.CookieName),
		slog.String("session_secrets", "REDACTED"),
		slog.String("uid_secret", "REDACTED"),
		slog.String("login_url", o.LoginURL),
	)
}

// String keeps secrets out of fmt output.
func (o Options) String() string { return o.LogValue().String() }

// User is a signed-in user.
type User struct {
	// Email is the address from the provider's ID token.
	Email string
	// UID is lowercase hex(HMAC-SHA256(UIDSecret, issuer + "|" + sub)):
	// stable for the same person as long as UIDSecret does not change, and
	// revealing neither the provider's subject nor the email.
	UID string
}

type userKey struct{}

// UserFromContext returns the signed-in user of a request that went
// through (*Auth).Wrap.
func UserFromContext(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(*User)
	if !ok {
		return User{}, false
	}
	return *u, true
}

// Auth is the configured middleware. It is safe for concurrent use.
type Auth struct {
	opts        Options
	log         *slog.Logger
	codec       *session.Codec
	stateCodec  *session.Codec
	statePrefix string
	// baseCookieName is CookieName as configured, without hostPrefix.
	baseCookieName string
	publicURL      *url.URL
	loginURL       *url.URL
	domains        map[string]bool
	limiter        *limiter
	metrics        *Metrics
	sessions       *sessionCache
	// csrf decides which sign-out requests came from this site.
	csrf *http.CrossOriginProtection
}

// New validates opts and returns the middleware. It does no network I/O.
func New(opts Options) (*Auth, error) {
	var errs []error
	if opts.Provider == nil {
		errs = append(errs, errors.New("middleware: Provider: required"))
	}
	if opts.CookieName == "" {
		opts.CookieName = DefaultCookieName
	}
	if opts.SessionMaxAge == 0 {
		opts.SessionMaxAge = DefaultSessionMaxAge
	}
	if opts.MaxStateCookies <= 0 {
		opts.MaxStateCookies = DefaultMaxStateCookies
	}
	if opts.ReziRateLimit == 0 {
		opts.ReziRateLimit = DefaultReziRateLimit
	}
	baseName := opts.CookieName
	if !validCookieName(baseName) {
		errs = append(errs, errors.New("middleware: CookieName: not a valid cookie name"))
	} else if strings.HasPrefix(baseName, "__") {
		errs = append(errs, errors.New("middleware: CookieName: must not start with __ (the __Host- prefix is added when cookies are Secure)"))
	}
	if !opts.InsecureCookies {
		opts.CookieName = hostPrefix + baseName
	}
	a := &Auth{
		opts: opts, log: opts.Logger, metrics: opts.Metrics, statePrefix: opts.CookieName + stateInfix,
		baseCookieName: baseName, sessions: newSessionCache(sessionCacheSize),
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	pu, err := url.Parse(opts.PublicURL)
	if err != nil || pu.Host == "" || (pu.Scheme != "http" && pu.Scheme != "https") || (pu.Path != "" && pu.Path != "/") || pu.RawQuery != "" || pu.Fragment != "" {
		errs = append(errs, errors.New("middleware: PublicURL: must be an absolute http(s) URL without path, query or fragment"))
	} else {
		pu.Path = ""
		a.publicURL = pu
		a.csrf = http.NewCrossOriginProtection()
		// Behind a proxy that rewrites Host, Origin still names the public URL.
		if err := a.csrf.AddTrustedOrigin(pu.String()); err != nil {
			errs = append(errs, fmt.Errorf("middleware: PublicURL: %w", err))
		}
	}
	if a.codec, err = session.NewCodec(opts.SessionSecrets, opts.SessionMaxAge); err != nil {
		errs = append(errs, fmt.Errorf("middleware: SessionSecrets: %w", err))
	} else {
		a.stateCodec, _ = session.NewCodec(opts.SessionSecrets, stateMaxAge)
	}
	if len(opts.UIDSecret) < MinSecretLen {
		errs = append(errs, fmt.Errorf("middleware: UIDSecret: must be at least %d bytes", MinSecretLen))
	}
	a.domains = make(map[string]bool, len(opts.AllowedEmailDomains))
	for _, d := range opts.AllowedEmailDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" || strings.ContainsAny(d, "@ /") {
			errs = append(errs, fmt.Errorf("middleware: AllowedEmailDomains: %q is not a domain", d))
		}
		a.domains[d] = true
	}
	if opts.Rezi != nil {
		a.loginURL, err = resolveLoginURL(opts.LoginURL, a.publicURL)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if opts.CloseOnboardingRedirect != "" && !localpath.Valid(opts.CloseOnboardingRedirect) {
		errs = append(errs, errors.New("middleware: CloseOnboardingRedirect: must be a local path starting with a single /"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if opts.ReziRateLimit > 0 {
		a.limiter = newLimiter(opts.ReziRateLimit, time.Minute)
	}
	return a, nil
}

func resolveLoginURL(raw string, public *url.URL) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("middleware: LoginURL: required when Rezi is set")
	}
	if localpath.Valid(raw) {
		if public == nil {
			return nil, errors.New("middleware: LoginURL: a path needs a valid PublicURL")
		}
		rel, err := url.Parse(raw)
		if err != nil {
			return nil, errors.New("middleware: LoginURL: not a valid path")
		}
		return public.ResolveReference(rel), nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.Fragment != "" {
		return nil, errors.New("middleware: LoginURL: must be an absolute http(s) URL or a local path")
	}
	return u, nil
}

// validCookieName accepts RFC 6265 token characters only.
func validCookieName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// uid derives the stable, opaque user id sent to Rezi and upstreams.
func (a *Auth) uid(issuer, subject string) string {
	m := hmac.New(sha256.New, a.opts.UIDSecret)
	m.Write([]byte(issuer))
	m.Write([]byte{'|'})
	m.Write([]byte(subject))
	return hex.EncodeToString(m.Sum(nil))
}

// UID returns the uid that the middleware derives for a provider subject.
// Operators can recompute it to find a user's RMS account.
func (a *Auth) UID(subject string) string {
	return a.uid(a.opts.Provider.Issuer(), subject)
}

// Wrap returns a handler that serves the sign-in and /rezi endpoints and
// passes every other request to next only when it carries a valid session.
// When the middleware answers a request itself without reading all of its
// body, the response closes the connection (HTTP/1), so a client cannot
// hold it by sending that body slowly; requests passed to next are not
// affected.
// The middleware's own cookies still reach next; a proxy in next should
// drop them (see OwnCookie and proxy.Options.StripCookies).
func (a *Auth) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestid.New()
		w.Header()[requestid.Header] = []string{id}
		sw := &statusWriter{ResponseWriter: w}
		sw.watchBody(r)
		route, user := a.route(sw, r, id, next)
		sw.finish()
		a.logAccess(r, id, route, sw.status(), time.Since(start), user)
	})
}

// OwnCookie reports whether a cookie name is one of the middleware's: the
// session cookie or a sign-in state cookie. Upstreams must never see them.
func (a *Auth) OwnCookie(name string) bool {
	return name == a.opts.CookieName || strings.HasPrefix(name, a.statePrefix) ||
		name == a.baseCookieName || strings.HasPrefix(name, a.baseCookieName+stateInfix)
}

// route dispatches one request and reports its route class and user. The
// request is copied once, with the request id and, for the app, the user.
func (a *Auth) route(w *statusWriter, r *http.Request, id string, next http.Handler) (string, *User) {
	ctx := requestid.NewContext(r.Context(), id)
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/oauth2/"):
		return a.serveOAuth2(w, w.own(r.WithContext(ctx)))
	case p == "/rezi":
		return "rezi", a.serveRezi(w, w.own(r.WithContext(ctx)))
	case a.opts.ServeHealth && (p == "/healthz" || p == "/readyz"):
		a.serveHealth(w, r)
		return "health", nil
	}
	u, ok := a.sessionUser(r)
	if !ok {
		a.signInRequired(w, r)
		return "unauthenticated", nil
	}
	w.body = nil // the app reads its own body, at its own pace
	next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, userKey{}, u)))
	return "app", u
}

func (a *Auth) serveOAuth2(w http.ResponseWriter, r *http.Request) (string, *User) {
	switch r.URL.Path {
	case "/oauth2/start":
		a.serveStart(w, r)
		return "start", nil
	case "/oauth2/callback":
		return "callback", a.serveCallback(w, r)
	case "/oauth2/sign_out":
		a.serveSignOut(w, r)
		return "sign_out", nil
	case "/oauth2/signed_out":
		a.serveSignedOut(w, r)
		return "signed_out", nil
	case "/oauth2/auth":
		return "auth", a.serveForwardAuth(w, r)
	case "/oauth2/userinfo":
		return "userinfo", a.serveUserInfo(w, r)
	}
	a.errorPage(w, r, http.StatusNotFound, "There is nothing at this address.")
	return "oauth2_other", nil
}

func (a *Auth) serveHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Path == "/readyz" && !a.opts.Provider.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("identity provider not ready\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// signInRequired answers a request without a session: a browser's
// top-level navigation is sent to sign in; a script or API client gets a
// 401 it can act on instead of an HTML login page it cannot follow.
func (a *Auth) signInRequired(w http.ResponseWriter, r *http.Request) {
	if isNavigation(r) {
		a.redirectToStart(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(`{"error":"unauthorized","message":"sign in required"}` + "\n"))
}

func isNavigation(r *http.Request) bool {
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" {
		return mode == "navigate"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// redirectToStart sends the browser to sign in and back to where it was.
func (a *Auth) redirectToStart(w http.ResponseWriter, r *http.Request) {
	rd := r.URL.RequestURI()
	loc := "/oauth2/start"
	if localpath.Valid(rd) && rd != "/" {
		loc += "?rd=" + url.QueryEscape(rd)
	}
	redirect(w, loc)
}

// redirect writes a 302 with loc as the exact Location value. http.Redirect
// is avoided on purpose: it cleans paths, and "/../\evil" cleaned becomes
// "/\evil", which browsers follow off-site. Callers pass only values that
// are checked local paths or URLs built from configuration.
func redirect(w http.ResponseWriter, loc string) {
	w.Header().Set("Location", loc)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusFound)
}

// sessionUser returns the user of a valid, unexpired session cookie.
// Anything else, including a tampered cookie, is "not signed in".
func (a *Auth) sessionUser(r *http.Request) (*User, bool) {
	var u *User
	now := time.Now()
	eachCookie(r.Header, a.opts.CookieName, func(v string) bool {
		if cached, ok := a.sessions.get(v, now); ok {
			u = cached
			return true
		}
		var s session.Session
		if a.codec.Decode(a.opts.CookieName, v, &s) != nil || !now.Before(s.Expires) || s.UID == "" {
			return false
		}
		u = &User{Email: s.Email, UID: s.UID}
		a.sessions.put(v, u, s.Expires)
		return true
	})
	return u, u != nil
}

// Identity returns the signed-in user of r as proxy.Options.Identity
// expects it, for requests that went through (*Auth).Wrap.
func Identity(r *http.Request) (email, uid string, ok bool) {
	u, ok := r.Context().Value(userKey{}).(*User)
	if !ok {
		return "", "", false
	}
	return u.Email, u.UID, true
}
