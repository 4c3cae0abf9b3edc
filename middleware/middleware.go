package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/identity"
	"github.com/rezigate/rezigate/internal/httptoken"
	"github.com/rezigate/rezigate/internal/httpurl"
	"github.com/rezigate/rezigate/internal/localpath"
	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/internal/session"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/rezi"
	"github.com/rezigate/rezigate/sessions"
)

// Defaults for zero Options fields, and the limits Validate enforces.
const (
	DefaultMaxStateCookies = 5
	// DefaultRateLimit is Handoff.RateLimit when it is zero: /rezi calls
	// per minute per uid.
	DefaultRateLimit = 10
	// DefaultRefreshGrace is Options.RefreshGrace when it is zero.
	DefaultRefreshGrace = time.Hour
	// MinSecretLen is the shortest UIDSecret accepted, in bytes.
	MinSecretLen = session.MinSecretLen
	// maxCookieName is the longest AssertionHeader accepted, in bytes.
	maxCookieName = 64
	// maxRequestID is the longest id from Options.RequestID that is used.
	maxRequestID = 128
	// stateInfix separates the cookie name from a sign-in attempt's state
	// in the name of that attempt's cookie.
	stateInfix = "_st_"
	// stateMaxAge bounds how long a sign-in attempt may take at the provider.
	stateMaxAge = 10 * time.Minute
)

// Options configure the middleware. Provider, PublicURL, UIDSecret, and
// either Session.Secrets or a Store are required, and Handoff.LoginURL
// when Handoff.Rezi is set; every other zero field means its documented
// default.
type Options struct {
	// Provider signs users in. Required.
	Provider *oidc.Provider
	// PublicURL is the external base URL of the site: an absolute http(s)
	// URL with a host and no user info, path, query or fragment (a single
	// trailing "/" is allowed), used to build absolute redirect targets.
	// Required.
	PublicURL string
	// Session are the session settings (sessions.Settings: secrets,
	// cookie name, max age, InsecureCookies), for the cookie store New
	// builds when Store is nil; Session.Secrets is then required, and an
	// empty Session.Deployment means sessions.DeploymentOf(PublicURL),
	// the only one accepted. With a Store, leave Session empty: the store
	// was built with the settings, and the middleware reads them from it
	// (Store.Settings), so the two cannot disagree; setting both is an
	// error. Either way the settings' secrets also seal the sign-in state
	// cookies, named after the session cookie.
	Session sessions.Settings
	// UIDSecret keys the uid derivation (identity.UID). Required, at
	// least MinSecretLen bytes. Changing it changes every user's uid,
	// which detaches users from their RMS accounts: never change it once
	// users exist.
	UIDSecret []byte
	// AllowedEmailDomains limits sign-in to these email domains (matched
	// with ASCII letters folded and exactly; no subdomains). Each must be a
	// DNS name such as "example.com": no "@", wildcard or trailing dot,
	// and a Unicode domain in its xn-- form. Empty allows any. It is
	// passed into the policy as policy.Options.AllowedEmailDomains, where
	// the rule lives (Policy.SignIn), so setting both is an error. Like
	// every sign-in rule it is applied again at each refresh
	// (RefreshInterval): a user whose address moves to another domain
	// loses the session.
	AllowedEmailDomains []string
	// AllowUnverifiedEmail admits users whose ID token does not say
	// email_verified=true. Zero (false) refuses them, which is what keeps an
	// attacker from registering someone else's address at a lax provider.
	// It is passed into the policy: either this or
	// policy.Options.AllowUnverifiedEmail set admits them.
	AllowUnverifiedEmail bool
	// SkipProviderSignOut makes sign-out clear only the local session.
	// Zero (false) also sends the browser to the provider's
	// end_session_endpoint, when the provider has one, so that the next
	// sign-in asks for credentials again.
	SkipProviderSignOut bool
	// MaxStateCookies caps the sign-in attempts one browser may have in
	// flight; starting another drops the oldest. Zero means
	// DefaultMaxStateCookies; negative is an error.
	MaxStateCookies int
	// Store keeps the sessions. Nil means a sessions.CookieStore built
	// from Session: the whole session sealed in the cookie, exactly as
	// rezigate always did, which cannot be revoked. A Store is built with
	// the session settings (sessions.Settings) and the middleware reads
	// them from it: New refuses a Store whose settings are invalid or
	// bound to another deployment than PublicURL's
	// (sessions.DeploymentOf). What it may offer beyond sessions.Store is
	// looked for once, here: a sessions.Revoker (such as redisstore.Store)
	// makes sign-out end the session on every replica, and serves "sign
	// out everywhere" (POST /oauth2/sign_out with everywhere=true); one
	// that is also a sessions.JTIRecorder serves OpenID Connect
	// Back-Channel Logout at POST /oauth2/backchannel_logout; a
	// sessions.Updater allows RefreshInterval; a sessions.Pinger is
	// checked by /readyz. When the store cannot answer, requests that
	// need a session get 503 and keep their cookie.
	Store sessions.Store
	// RefreshInterval is how often a session is re-checked with the
	// provider's token endpoint (with the refresh token kept at sign-in),
	// so that a user disabled there loses access within about this
	// interval. Zero means never; negative is an error; it needs a Store
	// that is a sessions.Updater, and the provider must issue refresh
	// tokens (include "offline_access" in oidc.Options.Scopes): a session
	// without one ends when its first check is due.
	RefreshInterval time.Duration
	// RefreshGrace is how long past its due check a session stays usable
	// while the provider cannot be reached; after that the user is treated
	// as signed out until a check succeeds. A refused refresh ends the
	// session at once, whatever the grace. Zero means DefaultRefreshGrace;
	// negative means no grace.
	RefreshGrace time.Duration
	// Handoff configures /rezi, the hand-off into the Rezi RMS.
	Handoff Handoff
	// Policy decides who may sign in (AllowGroups, and the email rules
	// with AllowedEmailDomains and AllowUnverifiedEmail above: others get
	// the 403 page and no session; every refresh applies the same rules
	// and ends the session of a user who no longer passes them) and which
	// signed-in user may enter which path,
	// /rezi included (others get 403: a page for a navigation, small JSON
	// otherwise). With routes, every request path is first normalised
	// (policy.Normalize): a path upstreams could read differently gets
	// 400, and the path judged is the path the next handler (the proxy)
	// sees. The zero value lets every signed-in user in everywhere and
	// leaves paths as they came. New refuses what policy.Options.Validate
	// refuses; its field errors keep the "policy" prefix. With the cookie
	// store, a session keeps only the groups the policy names.
	Policy policy.Options
	// TrustedProxies are the peers whose X-Forwarded-Method and
	// X-Forwarded-Uri (Traefik, Caddy) or X-Original-Method and
	// X-Original-URI (nginx) headers /oauth2/auth believes when it judges
	// the original request by Policy's routes. The headers of any other
	// peer are ignored, and with routes such a request gets 403, never
	// 202. Nil trusts no peer.
	TrustedProxies []netip.Prefix
	// Assertion, when not nil, is served as a JWK Set at
	// assertion.JWKSPath (GET, no session needed) and signs the assertion
	// header of each 202 answer from /oauth2/auth. The proxy signs those
	// of proxied requests with the same signer. Nil serves no JWK Set.
	Assertion *assertion.Signer
	// AssertionHeader names the assertion header of /oauth2/auth answers.
	// Empty means assertion.DefaultHeader.
	AssertionHeader string
	// ServeHealth makes the middleware answer GET /healthz (200 while the
	// process runs) and GET /readyz (200 once the provider's discovery
	// document is loaded, 503 before) without a session.
	ServeHealth bool
	// RedactEmail keeps email addresses out of info-level access logs,
	// which then name users by uid only.
	RedactEmail bool
	// NoAccessLog turns the access log off: no line at all per request.
	// Failures are still logged, and Metrics still counts requests.
	NoAccessLog bool
	// RequestID returns the id of a request, shown on error pages, sent
	// in the X-Request-Id response header and written to every log line
	// about the request; it may take one from a trusted edge proxy's
	// header. Nil means a fresh random id. An id that is empty, longer
	// than 128 bytes or has anything but letters, digits and ._- in it is
	// replaced by a fresh one, since it ends up in headers and pages.
	RequestID func(*http.Request) string
	// Metrics, when not nil, receives request, sign-in and Rezi counts.
	// Build it with NewMetrics.
	Metrics *Metrics
	// Logger receives access logs and failures. Nil means slog.Default().
	Logger *slog.Logger
}

// Handoff configures /rezi: a signed-in user's token from Rezi, then a
// redirect into the RMS with it.
type Handoff struct {
	// Rezi mints RMS login tokens. Nil means /rezi answers 404.
	Rezi *rezi.Client
	// LoginURL is the RMS login URL that /rezi redirects to with the user
	// token: an absolute http(s) URL without user info or fragment, or a
	// local path (starting with a single "/") resolved against PublicURL.
	// Required when Rezi is set.
	LoginURL string
	// OpenOnboarding is the default for the openOnboarding option of the
	// RMS login URL; a /rezi?openOnboarding= query overrides it.
	OpenOnboarding bool
	// CloseOnboardingRedirect is the default for closeOnboardingRedirect,
	// a local path starting with a single "/"; empty means the option is
	// not sent. A /rezi?closeOnboardingRedirect= query overrides it.
	CloseOnboardingRedirect string
	// RateLimit is how many /rezi requests one uid may make per minute.
	// Zero means DefaultRateLimit; negative turns the limit off.
	RateLimit int
	// Limiter, when not nil, replaces the in-process limit (RateLimit is
	// then ignored): a limit shared by every replica, such as
	// redisstore.Limiter. Every /rezi call counts, cached tokens too.
	// When it cannot answer, /rezi answers 503.
	Limiter Limiter
}

// Limiter limits how often each uid may do something.
type Limiter interface {
	// Allow counts one call of uid and reports whether it is within the
	// limit; when it is not, retryAfter says how long to wait. An error
	// means the limiter could not answer.
	Allow(ctx context.Context, uid string) (ok bool, retryAfter time.Duration, err error)
}

// Validate reports every problem with o at once: errors.Join of
// *optionerr.Error values, one per field, each reading
// "middleware: Field: what is wrong". It does no I/O and never includes a
// secret, or any other field's value, in its result; nil means New
// accepts o.
func (o Options) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, optionerr.New("middleware", field, format, args...))
	}
	if o.Provider == nil {
		add("Provider", "required")
	}
	pub, msg := parsePublicURL(o.PublicURL)
	if msg != "" {
		add("PublicURL", "%s", msg)
	}
	errs = append(errs, o.sessionProblems(pub != nil)...)
	switch {
	case len(o.UIDSecret) == 0:
		add("UIDSecret", "required: a secret of %d bytes or more", MinSecretLen)
	case session.CheckSecret(o.UIDSecret) != "":
		add("UIDSecret", "%s", session.CheckSecret(o.UIDSecret))
	}
	for i, d := range o.AllowedEmailDomains {
		if !policy.ValidEmailDomain(d) {
			add(fmt.Sprintf("AllowedEmailDomains[%d]", i), `must be a domain name such as "example.com" (no "@", no wildcard, no trailing dot)`)
		}
	}
	if len(o.AllowedEmailDomains) > 0 && len(o.Policy.AllowedEmailDomains) > 0 {
		add("AllowedEmailDomains", "set either this or Policy.AllowedEmailDomains, not both")
	}
	if o.MaxStateCookies < 0 {
		add("MaxStateCookies", "must not be negative")
	}
	if o.RefreshInterval < 0 {
		add("RefreshInterval", "must not be negative (0 turns refreshing off)")
	} else if _, ok := o.Store.(sessions.Updater); o.RefreshInterval > 0 && !ok {
		add("RefreshInterval", "needs a server-side Store that keeps refresh tokens (a sessions.Updater, such as redisstore.Store); the cookie store cannot")
	}
	h := o.Handoff
	switch {
	case h.LoginURL == "":
		if h.Rezi != nil {
			add("Handoff.LoginURL", "required when Handoff.Rezi is set")
		}
	default:
		if msg := checkLoginURL(h.LoginURL); msg != "" {
			add("Handoff.LoginURL", "%s", msg)
		}
	}
	if h.CloseOnboardingRedirect != "" && !localpath.Valid(h.CloseOnboardingRedirect) {
		add("Handoff.CloseOnboardingRedirect", "must be a local path starting with a single /, such as /dashboard")
	}
	errs = append(errs, o.Policy.Validate())
	for i, p := range o.TrustedProxies {
		if !p.IsValid() {
			add(fmt.Sprintf("TrustedProxies[%d]", i), "must be a valid CIDR prefix such as 10.0.0.0/8")
		}
	}
	if o.AssertionHeader != "" && !httptoken.Valid(o.AssertionHeader) {
		add("AssertionHeader", "must be a header name: %s", httptoken.Chars)
	}
	return errors.Join(errs...)
}

// Warnings lists what o allows but a production deployment should not
// want, as *optionerr.Error values like Validate's ("middleware: Field:
// why"), the policy's own warnings among them. It assumes o is valid and
// does no I/O.
func (o Options) Warnings() []error {
	var w []error
	add := func(field, msg string) { w = append(w, optionerr.New("middleware", field, "%s", msg)) }
	if len(o.AllowedEmailDomains) == 0 && len(o.Policy.AllowedEmailDomains) == 0 {
		add("AllowedEmailDomains", "empty: anyone with a verified email at the provider gets in")
	}
	for _, k := range []struct{ field, raw string }{{"PublicURL", o.PublicURL}, {"Handoff.LoginURL", o.Handoff.LoginURL}} {
		if u, err := url.Parse(k.raw); err == nil && u.Scheme == "http" && !httpurl.Secure(u) {
			add(k.field, "plain http on a non-loopback host: cookies and Rezi tokens cross the network unencrypted")
		}
	}
	for _, fe := range optionerr.Fields(errors.Join(o.settings().Warnings()...)) {
		add(o.settingsField(fe))
	}
	if o.AllowUnverifiedEmail || o.Policy.AllowUnverifiedEmail {
		add("AllowUnverifiedEmail", "an email address nobody has verified is trusted as the user's identity")
	}
	for i, p := range o.TrustedProxies {
		if p.IsValid() && p.Bits() == 0 {
			add(fmt.Sprintf("TrustedProxies[%d]", i), p.String()+" trusts every client's X-Forwarded-Uri and X-Original-URI, so anyone can have forward-auth judge another path than the one they request")
		}
	}
	return append(w, o.Policy.Warnings()...)
}

// parsePublicURL returns PublicURL parsed, with any trailing "/" removed,
// or what is wrong with it.
func parsePublicURL(raw string) (*url.URL, string) {
	u, err := httpurl.Parse(raw, httpurl.NoQuery)
	if err != nil {
		return nil, err.Error()
	}
	if u.Path != "" && u.Path != "/" {
		return nil, "must have no path: the middleware serves from the root of its host"
	}
	u.Path, u.RawPath = "", ""
	return u, ""
}

// checkLoginURL returns what is wrong with a Handoff.LoginURL, or "".
func checkLoginURL(raw string) string {
	const msg = "must be an absolute http or https URL, or a local path starting with a single /"
	if strings.HasPrefix(raw, "/") {
		if !localpath.Valid(raw) {
			return msg
		}
		return ""
	}
	switch _, err := httpurl.Parse(raw, 0); {
	case errors.Is(err, httpurl.ErrNotAbsolute):
		return msg
	case err != nil:
		return err.Error()
	}
	return ""
}

// LogValue keeps secrets out of logs.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("public_url", o.PublicURL),
		slog.Any("session", o.Session),
		slog.String("uid_secret", "REDACTED"),
		slog.String("login_url", o.Handoff.LoginURL),
	)
}

// String keeps secrets out of fmt output.
func (o Options) String() string { return o.LogValue().String() }

// User is a signed-in user.
type User struct {
	// Email is the address from the provider's ID token.
	Email string
	// UID is identity.UID(UIDSecret, issuer, sub): lowercase
	// hex(HMAC-SHA256(UIDSecret, issuer + "|" + sub)), stable for the same
	// person as long as UIDSecret does not change, and revealing neither
	// the provider's subject nor the email.
	UID string
	// Groups are the user's groups from the provider that Options.Policy
	// names, in the provider's order, as the session keeps them with either
	// store (a name an upstream could read as another group is never
	// among them). Nil means none. The slice is shared: do not modify it.
	Groups []string
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
	opts       Options
	log        *slog.Logger
	stateCodec *session.Codec
	// store keeps the sessions; cookieStore says it is the cookie store,
	// whose verified values the sessions cache remembers.
	store       sessions.Store
	cookieStore bool
	revoker     sessions.Revoker     // nil: sessions cannot be revoked
	jtis        sessions.JTIRecorder // nil: no back-channel logout (needs revoker too)
	refresher   sessions.Updater     // nil: no refresh
	probe       *storeProbe          // nil: the store has no readiness probe
	backoff     *refreshBackoff
	now         func() time.Time
	statePrefix string
	// baseCookieName is the session settings' CookieName, without the
	// "__Host-" prefix; cookieName is the name the cookie is set under.
	baseCookieName, cookieName string
	// session are the session settings, read from the store.
	session   sessions.Settings
	publicURL *url.URL
	loginURL  *url.URL
	limiter   *limiter
	metrics   *Metrics
	sessions  *sessionCache
	// csrf decides which sign-out requests came from this site.
	csrf *http.CrossOriginProtection
	// access is the policy, the trusted proxies and the assertion signer.
	access access
}

// New validates opts and returns the middleware; an invalid opts gets
// Validate's error unchanged. It does no network I/O.
func New(opts Options) (*Auth, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.MaxStateCookies == 0 {
		opts.MaxStateCookies = DefaultMaxStateCookies
	}
	if opts.Handoff.RateLimit == 0 {
		opts.Handoff.RateLimit = DefaultRateLimit
	}
	if opts.RefreshGrace == 0 {
		opts.RefreshGrace = DefaultRefreshGrace
	}
	// A copy, so that a caller changing its slice later changes nothing.
	opts.UIDSecret = slices.Clone(opts.UIDSecret)
	a := &Auth{
		opts: opts, log: opts.Logger, metrics: opts.Metrics, sessions: newSessionCache(sessionCacheSize),
		backoff: newRefreshBackoff(), now: time.Now,
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.publicURL, _ = parsePublicURL(opts.PublicURL)
	a.csrf = http.NewCrossOriginProtection()
	// Behind a proxy that rewrites Host, Origin still names the public URL.
	if err := a.csrf.AddTrustedOrigin(a.publicURL.String()); err != nil {
		return nil, fmt.Errorf("middleware: PublicURL: %w", err)
	}
	if err := a.initAccess(); err != nil {
		return nil, err
	}
	if err := a.initStore(); err != nil {
		return nil, err
	}
	var err error
	if a.stateCodec, err = session.NewCodec(a.session.Secrets, stateMaxAge); err != nil {
		return nil, fmt.Errorf("middleware: session secrets: %w", err)
	}
	if opts.Handoff.LoginURL != "" {
		rel, err := url.Parse(opts.Handoff.LoginURL)
		if err != nil {
			return nil, errors.New("middleware: Handoff.LoginURL: not a URL") // Validate parsed it already
		}
		a.loginURL = a.publicURL.ResolveReference(rel)
	}
	if opts.Handoff.RateLimit > 0 && opts.Handoff.Limiter == nil {
		a.limiter = newLimiter(opts.Handoff.RateLimit, time.Minute)
	}
	return a, nil
}

// validCookieName accepts a token (RFC 6265 cookie-name) of at most
// maxCookieName bytes.
func validCookieName(s string) bool {
	return len(s) <= maxCookieName && httptoken.Valid(s)
}

// validRequestID reports whether an id from Options.RequestID may be
// used: 1 to maxRequestID letters, digits, '.', '_' or '-'.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '.' || c == '_' || c == '-' {
			continue
		}
		return false
	}
	return true
}

// requestID returns the id of r: Options.RequestID's when it is usable,
// a fresh random one otherwise.
func (a *Auth) requestID(r *http.Request) string {
	if a.opts.RequestID != nil {
		if id := a.opts.RequestID(r); validRequestID(id) {
			return id
		}
	}
	return requestid.New()
}

// uid derives the stable, opaque user id sent to Rezi and upstreams.
func (a *Auth) uid(issuer, subject string) string {
	return identity.UID(a.opts.UIDSecret, issuer, subject)
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
		id := a.requestID(r)
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
	return name == a.cookieName || strings.HasPrefix(name, a.statePrefix) ||
		name == a.baseCookieName || strings.HasPrefix(name, a.baseCookieName+stateInfix)
}

// route dispatches one request and reports its route class and user. The
// request is copied once, with the request id and, for the app, the user.
func (a *Auth) route(w *statusWriter, r *http.Request, id string, next http.Handler) (string, *User) {
	ctx := requestid.NewContext(r.Context(), id)
	if a.access.strict {
		var ok bool
		if r, ok = a.normalizeRequest(ctx, w, r); !ok {
			return "bad_path", nil
		}
	}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/oauth2/"):
		return a.serveOAuth2(w, w.own(r.WithContext(ctx)))
	case p == "/rezi":
		return "rezi", a.serveRezi(w, w.own(r.WithContext(ctx)))
	case a.opts.ServeHealth && (p == "/healthz" || p == "/readyz"):
		a.serveHealth(w, r)
		return "health", nil
	case p == assertion.JWKSPath && a.access.jwks != nil:
		a.access.jwks.ServeHTTP(w, r)
		return "jwks", nil
	}
	u, ok, err := a.lookupSession(ctx, r.Header)
	if err != nil {
		a.storeUnavailable(w, r.WithContext(ctx), err)
		return "unavailable", nil
	}
	if !ok {
		a.signInRequired(w, r)
		return "unauthenticated", nil
	}
	if a.access.strict {
		if res := a.decide(r, u); !res.Allowed {
			a.deny(w, w.own(r.WithContext(ctx)), u, res)
			return "denied", u
		}
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
	case "/oauth2/backchannel_logout":
		if a.jtis != nil {
			a.serveBackchannelLogout(w, r)
			return "backchannel_logout", nil
		}
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
	if r.URL.Path == "/readyz" && !a.storeReady(r.Context()) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("session store not reachable\n"))
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
