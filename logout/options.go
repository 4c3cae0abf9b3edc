package logout

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/optionerr"
)

// Options configure the logout endpoints. Provider and Revoker are
// required, and UID too when JTIs is set; middleware.New builds them from
// its own Provider, Store, UIDSecret, session settings and Logger, so that
// an embedder of the middleware sets none of them.
type Options struct {
	// Provider verifies logout tokens and names the issuer. Required by
	// New; *oidc.Provider is one.
	Provider Provider
	// Revoker ends the sessions a logout names, on every replica.
	// Required by New; sessions.Revoker (such as redisstore.Store) is one.
	// The front-channel endpoint finds sessions by sid alone, so without a
	// store that can delete them neither endpoint can work.
	Revoker Revoker
	// JTIs remembers the ids of logout tokens, so that a replayed token
	// is refused. Nil means back-channel logout is not served: its path
	// answers 404, since without replay detection anyone who once saw a
	// logout token could end that user's sessions again at will.
	// sessions.JTIRecorder (such as redisstore.Store) is one.
	JTIs JTIRecorder
	// UID derives the uid of a token's user from its issuer and subject
	// (oidc.Logout.Subject), as the sessions were stored under it: for the
	// middleware, identity.UID with its UIDSecret. A logout token that
	// names no sid ends every session of that uid. Required by New when
	// JTIs is set; a UID other than the one sessions were stored under
	// ends nothing while answering 200.
	UID func(issuer, subject string) string
	// MaxAge is the sessions' max age (sessions.Settings.MaxAge): a
	// logout token whose exp lies further away is refused, and no jti is
	// remembered longer. Zero means sessions.DefaultMaxAge; negative is an
	// error.
	MaxAge time.Duration
	// Logger receives every refusal and every logout, with the request id
	// (internal/requestid) and never a token or a sid. Nil means
	// slog.Default(); middleware.New sets its own Options.Logger.
	Logger *slog.Logger
}

// Provider is what the endpoints need of the OpenID provider;
// *oidc.Provider is one.
type Provider interface {
	// Issuer is the provider's issuer URL: the iss a front-channel logout
	// must name, and whose origin alone may frame its answer.
	Issuer() string
	// VerifyLogoutToken checks a back-channel logout token as
	// (*oidc.Provider).VerifyLogoutToken documents: oidc.ErrNotReady
	// while the provider cannot check it (the answer is 503), and
	// oidc.ErrLogoutNoObjectID for an entra token naming its user by sub
	// alone; any other error refuses the token (400).
	VerifyLogoutToken(ctx context.Context, raw string) (oidc.Logout, error)
}

// Revoker ends sessions; sessions.Revoker is one. Errors wrapping
// sessions.ErrUnavailable, or any other error, answer 503 so that the
// provider may retry.
type Revoker interface {
	// DeleteUser ends every session of uid and reports how many it ended.
	DeleteUser(ctx context.Context, uid string) (int, error)
	// DeleteSID ends every session whose SIDHash is sidHash
	// (sessions.HashSID of the provider's sid) and reports how many it
	// ended.
	DeleteSID(ctx context.Context, sidHash string) (int, error)
}

// JTIRecorder remembers logout token ids on every replica;
// sessions.JTIRecorder is one. An error wrapping sessions.ErrUnavailable
// answers 503, any other error 400.
type JTIRecorder interface {
	// LookupJTI reports whether jti was recorded, without recording it.
	LookupJTI(ctx context.Context, jti string) (seen bool, err error)
	// SeenJTI records jti for ttl and reports whether it was recorded
	// already (by another delivery of the same token).
	SeenJTI(ctx context.Context, jti string, ttl time.Duration) (seen bool, err error)
}

// Validate reports every problem with the settings of o at once:
// errors.Join of *optionerr.Error values reading "logout: Field: what is
// wrong". It leaves Provider, Revoker and UID, which New requires, alone,
// so that settings can be checked before those parts are built. It does
// no I/O; nil means New accepts o once those are set.
func (o Options) Validate() error {
	var errs []error
	if o.MaxAge < 0 {
		errs = append(errs, optionerr.New("logout", "MaxAge", "must not be negative"))
	}
	return errors.Join(errs...)
}
