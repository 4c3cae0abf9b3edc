package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/handoff"
	"github.com/rezigate/rezigate/internal/httptoken"
	"github.com/rezigate/rezigate/internal/httpurl"
	"github.com/rezigate/rezigate/internal/session"
	"github.com/rezigate/rezigate/metrics"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/refresh"
	"github.com/rezigate/rezigate/sessions"
)

// Defaults for zero Options fields, and the limits Validate enforces.
const (
	DefaultMaxStateCookies = 5
	// DefaultRefreshGrace is Options.RefreshGrace when it is zero.
	DefaultRefreshGrace = refresh.DefaultGrace
	// MinSecretLen is the shortest UIDSecret accepted, in bytes.
	MinSecretLen = session.MinSecretLen
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
	// out everywhere" (POST /oauth2/sign_out with everywhere=true) and
	// OpenID Connect Front-Channel Logout at GET
	// /oauth2/frontchannel_logout; one that is also a sessions.JTIRecorder serves OpenID Connect
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
	// Handoff configures /rezi, the hand-off into the Rezi RMS, which the
	// middleware mounts at handoff.Path behind its sign-in and Policy:
	// without a session /rezi sends the browser to sign in and comes back
	// with the same query, so one click from an intranet link ends in the
	// RMS. Nil Handoff.Rezi means /rezi answers 404. Set only its settings
	// (Rezi to Limiter): New fills PublicURL, User, Unavailable (the 503
	// of a store that cannot answer) and Logger from these Options.
	Handoff handoff.Options
	// Policy decides who may sign in (AllowedEmailDomains,
	// AllowUnverifiedEmail and AllowGroups: others get the 403 page and
	// no session; every refresh applies the same rules, by the same
	// function, and ends the session of a user who no longer passes them;
	// the zero value admits anyone with a verified email) and which
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
	// Metrics, when not nil, counts requests and sign-ins. Give the same
	// *metrics.Metrics to the Rezi client (its ObserveRezi method as
	// rezi.Options.Observe) to count the hand-off's Rezi lookups too.
	// Nil counts nothing.
	Metrics *metrics.Metrics
	// Logger receives access logs and failures. Nil means slog.Default().
	Logger *slog.Logger
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
	if o.MaxStateCookies < 0 {
		add("MaxStateCookies", "must not be negative")
	}
	if o.RefreshInterval < 0 {
		add("RefreshInterval", "must not be negative (0 turns refreshing off)")
	} else if _, ok := o.Store.(sessions.Updater); o.RefreshInterval > 0 && !ok {
		add("RefreshInterval", "needs a server-side Store that keeps refresh tokens (a sessions.Updater, such as redisstore.Store); the cookie store cannot")
	}
	// The hand-off's rules are its own; its fields are named as
	// Handoff's here. PublicURL's problems are reported above.
	ho := o.Handoff
	if ho.PublicURL == nil {
		ho.PublicURL = pub
	}
	for _, fe := range optionerr.Fields(ho.Validate()) {
		if fe.Field != "PublicURL" || o.Handoff.PublicURL != nil {
			add("Handoff."+fe.Field, "%s", fe.Msg)
		}
	}
	// The policy is judged with the provider's rules, as initAccess
	// builds it (entra and google require AllowedEmailDomains).
	errs = append(errs, o.signInPolicy().Validate())
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
	for _, k := range []struct{ field, raw string }{{"PublicURL", o.PublicURL}, {"Handoff.LoginURL", o.Handoff.LoginURL}} {
		if u, err := url.Parse(k.raw); err == nil && u.Scheme == "http" && !httpurl.Secure(u) {
			add(k.field, "plain http on a non-loopback host: cookies and Rezi tokens cross the network unencrypted")
		}
	}
	for _, fe := range optionerr.Fields(errors.Join(o.settings().Warnings()...)) {
		add(o.settingsField(fe))
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
