package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/handoff"
	"github.com/rezigate/rezigate/identity"
	"github.com/rezigate/rezigate/internal/localpath"
	"github.com/rezigate/rezigate/internal/probe"
	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/internal/session"
	"github.com/rezigate/rezigate/internal/statuswriter"
	"github.com/rezigate/rezigate/logout"
	"github.com/rezigate/rezigate/metrics"
	"github.com/rezigate/rezigate/refresh"
	"github.com/rezigate/rezigate/sessions"
)

// User is a signed-in user.
type User struct {
	// Email is the address from the provider's ID token.
	Email string
	// UID is identity.UID(UIDSecret, issuer, sub): lowercase
	// hex(HMAC-SHA256(UIDSecret, issuer + "|" + sub)), where sub is the
	// claim the provider's profile names (oidc.Identity.Subject: oid with
	// oidc.ProfileEntra, sub otherwise), stable for the same
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
	refresher   *refresh.Refresher   // nil: no refresh
	probe       *probe.Probe         // nil: the store has no readiness probe
	now         func() time.Time
	statePrefix string
	// baseCookieName is the session settings' CookieName, without the
	// "__Host-" prefix; cookieName is the name the cookie is set under.
	baseCookieName, cookieName string
	// session are the session settings, read from the store.
	session   sessions.Settings
	publicURL *url.URL
	handoff   *handoff.Handler // nil: /rezi answers 404
	logout    *logout.Handler  // nil: no revoker, the logout endpoints answer 404
	metrics   *metrics.Metrics
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
	// A copy, so that a caller changing its slice later changes nothing.
	opts.UIDSecret = slices.Clone(opts.UIDSecret)
	a := &Auth{
		opts: opts, log: opts.Logger, metrics: opts.Metrics, sessions: newSessionCache(sessionCacheSize),
		now: time.Now,
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
	if err := a.initHandoff(); err != nil {
		return nil, err
	}
	if err := a.initLogout(); err != nil {
		return nil, err
	}
	if err := a.initRefresh(); err != nil {
		return nil, err
	}
	return a, nil
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

// Wrap returns a handler that serves the sign-in endpoints and /rezi and
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
		sw := &statuswriter.Writer{ResponseWriter: w}
		sw.Watch(r)
		route, user := a.route(sw, r, id, next)
		sw.Finish()
		a.logAccess(r, id, route, sw.Status(), time.Since(start), user)
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
func (a *Auth) route(w *statuswriter.Writer, r *http.Request, id string, next http.Handler) (string, *User) {
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
		return a.serveOAuth2(w, w.Own(r.WithContext(ctx)))
	case p == handoff.Path:
		return "rezi", a.serveHandoff(w, w.Own(r.WithContext(ctx)))
	case a.opts.ServeHealth && (p == "/healthz" || p == "/readyz"):
		a.serveHealth(w, r)
		return "health", nil
	case p == assertion.JWKSPath && a.access.jwks != nil:
		a.access.jwks.ServeHTTP(w, r)
		return "jwks", nil
	}
	u, refused := a.authorize(ctx, w, r, false)
	if refused != "" {
		return refused, u
	}
	w.Release() // the app reads its own body, at its own pace
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
	case logout.BackchannelPath:
		if a.jtis != nil {
			a.logout.ServeHTTP(w, r)
			return "backchannel_logout", nil
		}
	case logout.FrontchannelPath:
		if a.logout != nil {
			a.logout.ServeHTTP(w, r)
			return "frontchannel_logout", nil
		}
	}
	a.errorPage(w, r, http.StatusNotFound, "There is nothing at this address.")
	return "oauth2_other", nil
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
