// Package logout serves the two OpenID Connect logout endpoints, by which
// a provider ends the sessions of a user who signed out there:
//
//	POST /oauth2/backchannel_logout   OpenID Connect Back-Channel Logout 1.0 (BackchannelPath)
//	GET  /oauth2/frontchannel_logout  OpenID Connect Front-Channel Logout 1.0 (FrontchannelPath)
//
// A Handler is a plain http.Handler that checks no session and no access
// policy: the provider calls these paths without rezigate's cookie. The
// middleware mounts it at both paths when its Store is a sessions.Revoker,
// and serves back-channel logout only when that Store is also a
// sessions.JTIRecorder; elsewhere its own 404 answers.
//
//	h, err := logout.New(logout.Options{Provider: provider, Revoker: store, JTIs: store,
//		UID: func(iss, sub string) string { return identity.UID(secret, iss, sub) }})
//
// # Back-channel logout
//
// The provider POSTs a logout_token (form-encoded), and the sessions it
// names end on every replica: those of one provider session when it names
// a sid, else every session of its subject's uid (Options.UID). The
// answer is 200 with Cache-Control: no-store, or 400 with a small JSON
// body that says nothing about why (the log does); 503 when the store
// cannot answer (or the provider's keys are not loaded yet), so a provider
// that retries may try again; 405 with Allow: POST for any other method.
// Every answer has Cache-Control: no-store, and every error answer the
// body {"error":"invalid_request"} (400, 405) or
// {"error":"temporarily_unavailable"} (503).
//
// A token is refused as a replay only once a delivery of it has ended its
// sessions: its jti is looked up first, then the sessions are deleted,
// then the jti is recorded, so the retry of a delivery that got 503 is
// served like the first. Two deliveries of one token at the same moment
// may both delete, which ends nothing more than one would. The jti is
// remembered until the token's exp (for a token without exp, accepted only
// within oidc.MaxLogoutTokenAge of its iat, until iat plus that) and five
// minutes more, but never longer than Options.MaxAge; a token whose exp
// lies further away than MaxAge is refused.
//
// With the entra profile a token's user is its oid (oidc.Logout.Subject),
// and a token naming its user by the pairwise sub alone
// (oidc.ErrLogoutNoObjectID) is refused (400, and a log line that says
// why) rather than answered 200 having ended nothing; Entra ID itself uses
// front-channel logout, by sid.
//
// The request must be application/x-www-form-urlencoded with exactly one
// logout_token; its body is read up to 64 KiB, within a read deadline of 5
// seconds, and the token's check and the store's answers within 15
// seconds.
//
// # Front-channel logout
//
// When a user signs out at the provider, the provider's logout page loads
// GET /oauth2/frontchannel_logout?iss=…&sid=… in an iframe (Entra ID,
// Keycloak and Ory Hydra do), and the sessions of that provider session
// end on every replica. The iframe is a third-party context, so the
// browser usually sends no session cookie: the sessions are found by sid
// alone (hashed, as back-channel logout finds them).
//
// iss must be the provider's issuer and sid a non-empty value, each given
// once; else 400. A store that cannot answer gives 503; a method other
// than GET or HEAD 405 with Allow: GET, HEAD. Every answer is a tiny HTML
// page (none for HEAD) with Cache-Control: no-store that only the
// provider's origin may frame (Content-Security-Policy: frame-ancestors,
// and any X-Frame-Options set before removed). The sid is a random value
// of the provider's: only someone who knows it, the provider or the
// browser it was issued to, can end its sessions, which is what the
// specification intends.
//
// Neither endpoint writes error text to a client; the log has the cause
// and the request id, and never a token or a sid.
package logout

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/sessions"
)

// The paths where the middleware mounts the Handler, and where ServeHTTP
// serves each endpoint.
const (
	// BackchannelPath serves OpenID Connect Back-Channel Logout.
	BackchannelPath = "/oauth2/backchannel_logout"
	// FrontchannelPath serves OpenID Connect Front-Channel Logout.
	FrontchannelPath = "/oauth2/frontchannel_logout"
)

// callTimeout bounds a logout token's check and each answer of the store.
const callTimeout = 15 * time.Second

// Handler serves the logout endpoints. It is safe for concurrent use.
type Handler struct {
	opts Options
	log  *slog.Logger
}

// New validates opts and returns the endpoints; an invalid opts gets
// Validate's error, and a nil Provider, Revoker, or UID with JTIs set, or
// a Provider whose Issuer() is not an absolute URL, an *optionerr.Error
// naming it. It does no I/O.
func New(opts Options) (*Handler, error) {
	err := opts.Validate()
	required := func(field string) {
		err = errors.Join(err, optionerr.New("logout", field, "required"))
	}
	if opts.Provider == nil {
		required("Provider")
	}
	if opts.Provider != nil && originOf(opts.Provider.Issuer()) == "'none'" {
		// An empty issuer would let ?iss=&sid=… pass as the provider's.
		err = errors.Join(err, optionerr.New("logout", "Provider", "its Issuer() must be an absolute URL"))
	}
	if opts.Revoker == nil {
		required("Revoker")
	}
	if opts.JTIs != nil && opts.UID == nil {
		err = errors.Join(err, optionerr.New("logout", "UID", "required when JTIs is set"))
	}
	if err != nil {
		return nil, err
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = sessions.DefaultMaxAge
	}
	h := &Handler{opts: opts, log: opts.Logger}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h, nil
}

// ServeHTTP serves back-channel logout at BackchannelPath (when
// Options.JTIs is set) and front-channel logout at FrontchannelPath, as
// the package documentation says; any other path gets http.NotFound.
// Its log lines carry the request id that the middleware put in r's
// context, empty without the middleware.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == BackchannelPath && h.opts.JTIs != nil:
		h.serveBackchannel(w, r)
	case r.URL.Path == FrontchannelPath:
		h.serveFrontchannel(w, r)
	default:
		http.NotFound(w, r)
	}
}
