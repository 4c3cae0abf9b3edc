package refresh

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/sessions"
)

// DefaultGrace is Options.Grace when it is zero.
const DefaultGrace = time.Hour

// Options configure a Refresher. Store, Provider, Judge and Interval are
// required; middleware.New builds them from its own Store, Provider,
// sign-in rules, RefreshInterval, RefreshGrace and Logger, so that an
// embedder of the middleware sets none of them.
type Options struct {
	// Store locks, changes and deletes sessions on every replica.
	// Required by New; sessions.Updater (such as redisstore.Store) is
	// one. The cookie store cannot be: a session sealed in a cookie can
	// neither keep a refresh token nor be changed or ended server-side.
	Store Store
	// Provider redeems refresh tokens. Required by New; *oidc.Provider is
	// one.
	Provider Provider
	// Judge decides whether the provider's answer keeps the session, as
	// a new sign-in is decided. Required by New: without it any user the
	// provider still knows would keep a session that the sign-in rules
	// would now refuse.
	Judge Judge
	// Interval is how long a refreshed session is used before it is
	// checked again (its sessions.Session.CheckDue). Required by New;
	// negative is an error. The sign-in that creates a session sets its
	// first CheckDue itself.
	Interval time.Duration
	// Grace is how long past its due check a session stays usable while
	// the provider cannot be reached; after that it is treated as signed
	// out until a check succeeds. A refused refresh ends the session at
	// once, whatever the grace. Zero means DefaultGrace; negative means
	// no grace.
	Grace time.Duration
	// Now tells the time, for due checks and backoff. Nil means time.Now.
	Now func() time.Time
	// Logger receives every refresh, refusal and failure, with the
	// request id (internal/requestid) and the uid, never a token. Nil
	// means slog.Default(); middleware.New sets its own Options.Logger.
	Logger *slog.Logger
}

// Store is what a Refresher needs of the session store;
// sessions.Updater is one.
type Store interface {
	// TryLockSession takes the refresh lock of cookie's session for at
	// most ttl, as sessions.Updater documents: sessions.ErrLocked means
	// another request holds it, sessions.ErrNotFound that the session is
	// gone.
	TryLockSession(ctx context.Context, cookie string, ttl time.Duration) (release func(context.Context) (bool, error), err error)
	// Update changes cookie's session by fn, as sessions.Updater
	// documents: sessions.ErrConflict when it changed meanwhile, and an
	// error of fn returned so that errors.Is finds it.
	Update(ctx context.Context, cookie string, fn func(sessions.Session) (sessions.Session, error)) (sessions.Session, error)
	// Delete ends cookie's session, once a refresh is refused.
	Delete(ctx context.Context, cookie string) error
}

// Provider is what a Refresher needs of the OpenID provider;
// *oidc.Provider is one.
type Provider interface {
	// Refresh redeems refreshToken as (*oidc.Provider).Refresh
	// documents, and returns what the provider now says of the user and
	// the refresh token to keep. oidc.ErrRefreshRefused, oidc.ErrNoEmail,
	// oidc.ErrBadEmail and oidc.ErrUserInfoSubject end the session; any
	// other error counts as a provider that cannot be reached.
	Refresh(ctx context.Context, refreshToken string) (id oidc.Identity, newRefreshToken string, err error)
}

// Judge decides whether what the provider said of the user of cur keeps
// the session, and returns cur as it now is (its email, groups and ID
// token from id). id.Subject is empty when the provider's answer had no
// ID token: it only said that the user may stay. An error wrapping
// ErrRefused (a *RuleError is one) ends the session; any other error
// counts as a provider that cannot be reached. The Refresher sets the
// refresh token and the check times itself.
type Judge func(cur sessions.Session, id oidc.Identity) (sessions.Session, error)

// Validate reports every problem with the settings of o at once:
// errors.Join of *optionerr.Error values reading "refresh: Field: what is
// wrong". It leaves Store, Provider, Judge and a zero Interval, which New
// requires, alone, so that settings can be checked before those parts
// are built. It does no I/O; nil means New accepts o once those are set.
func (o Options) Validate() error {
	var errs []error
	if o.Interval < 0 {
		errs = append(errs, optionerr.New("refresh", "Interval", "must not be negative"))
	}
	return errors.Join(errs...)
}
