package sessions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// Errors that callers branch on. Every error a store returns that means one
// of these wraps it, so errors.Is works through the package prefix.
var (
	// ErrNotFound means the cookie names no live session: none was ever
	// stored, it expired, it was deleted (signed out, revoked), or the
	// cookie was tampered with or sealed with a secret no longer
	// configured. Callers treat it as "not signed in".
	ErrNotFound = errors.New("sessions: no such session")

	// ErrUnavailable means the store could not answer (Redis unreachable,
	// too slow, or refusing commands). It is never reported as
	// ErrNotFound, which would sign everybody out, and never hidden by a
	// cached answer older than the store's bounded local cache. Callers
	// answer with a temporary error (503) and keep the cookie.
	ErrUnavailable = errors.New("sessions: store unavailable")

	// ErrTooLarge means the session does not fit where the store keeps
	// it: with the cookie store, a user in more of the groups the policy
	// names than a cookie can hold.
	ErrTooLarge = errors.New("sessions: session too large for the store")

	// ErrNotSupported means the store cannot do what was asked: the
	// cookie store cannot carry a refresh token to the browser.
	ErrNotSupported = errors.New("sessions: not supported by this store")

	// ErrConflict means a compare-and-swap update lost: the session
	// changed between being read and being written (another replica
	// rotated its refresh token first). The session is left as the other
	// writer stored it.
	ErrConflict = errors.New("sessions: session changed concurrently")

	// ErrLocked means a lock is held by someone else (another request or
	// replica is already refreshing this session).
	ErrLocked = errors.New("sessions: locked by another holder")
)

// Session is one signed-in browser's session.
//
// A CookieStore keeps only UID, Email, Expires, the groups its
// KeepGroups lists and the IDToken when the cookie can hold it (they
// travel, sealed, in the cookie itself); a server-side store keeps every
// field.
type Session struct {
	// UID is the user's stable hashed identifier. It must not be empty.
	UID string
	// Email is the user's verified email address.
	Email string
	// Groups are the user's groups at sign-in; nil means none known.
	Groups []string
	// SIDHash is HashSID of the ID token's sid claim, so that a
	// back-channel logout naming that provider session can end it. Empty
	// means the provider sent no sid.
	SIDHash string
	// Expires is when the session ends. A store refuses a session whose
	// Expires is not in the future or lies further away than the store's
	// maximum age.
	Expires time.Time

	// IDToken is the raw ID token the provider issued at sign-in, or at
	// the latest refresh that returned one: sign-out sends it to the
	// provider's end_session_endpoint as id_token_hint (RP-Initiated
	// Logout 1.0), which some providers (Okta, Ory Hydra) require to end
	// their own session. Empty means none is kept: sign-out then goes
	// without the hint. It names the user and the provider session, so it
	// is kept sealed or encrypted like every other field, never logged.
	IDToken string

	// RefreshToken is the provider's refresh token, kept only by a
	// server-side store (encrypted at rest). Empty means none.
	RefreshToken string
	// CheckedAt is when the session was last checked with the provider
	// (sign-in or refresh). Zero means never.
	CheckedAt time.Time
	// CheckDue is when the next check with the provider is due. Zero means
	// no check is scheduled.
	CheckDue time.Time
}

// Store keeps sessions and hands out the cookie values that name them.
// Implementations are safe for concurrent use.
//
// A store may offer more, each an interface of this package that the
// middleware looks for once, when it is built: Updater (session refresh),
// Revoker (sign out everywhere, back-channel logout), JTIRecorder
// (back-channel logout) and Pinger (readiness). Each says what the
// middleware does without it.
type Store interface {
	// Settings returns the session settings the store was built with,
	// defaults filled in (Settings.WithDefaults): the middleware takes
	// the cookie's name and attributes, the sessions' max age, the
	// deployment and the secrets of its sign-in state cookies from here,
	// and from nowhere else.
	Settings() Settings
	// Put stores s and returns the cookie value to set. The caller sets
	// the cookie (name, attributes, max age).
	Put(ctx context.Context, s Session) (cookie string, err error)
	// Get returns the session of a cookie value. It returns ErrNotFound
	// when there is none (expired, revoked, tampered) and ErrUnavailable
	// when the store cannot answer.
	Get(ctx context.Context, cookie string) (Session, error)
	// Delete ends the session of a cookie value, on every replica, if
	// the store keeps it. A cookie that names no session is not an error.
	// Clearing the browser's cookie stays the caller's job.
	Delete(ctx context.Context, cookie string) error
}

// Revoker is a Store that keeps sessions server-side, so that deleting
// one ends it on every replica, and that indexes them by user and by
// provider session.
//
// With it, sign-out ends the session everywhere (the signed-out page says
// so), a same-origin POST /oauth2/sign_out with everywhere=true ends every
// session of the user, the middleware serves front-channel logout, and,
// with JTIRecorder too, back-channel logout. Without it (the cookie store), sign-out only
// clears the browser's cookie: a copy of it stays valid until it expires.
type Revoker interface {
	Store
	// DeleteUser ends every session of uid ("sign out everywhere") and
	// reports how many it ended.
	DeleteUser(ctx context.Context, uid string) (int, error)
	// DeleteSID ends every session whose SIDHash is sidHash (a
	// back-channel logout naming one provider session) and reports how
	// many it ended.
	DeleteSID(ctx context.Context, sidHash string) (int, error)
}

// JTIRecorder is a Store that remembers the ids (jti) of back-channel
// logout tokens, on every replica, so that a replayed token is refused.
// A Store that is both a Revoker and a JTIRecorder serves OpenID Connect
// Back-Channel Logout at POST /oauth2/backchannel_logout; without both
// that path answers 404.
type JTIRecorder interface {
	Store
	// LookupJTI reports whether jti was recorded, without recording it.
	LookupJTI(ctx context.Context, jti string) (seen bool, err error)
	// SeenJTI records jti for ttl and reports whether it was recorded
	// already (by another delivery of the same token).
	SeenJTI(ctx context.Context, jti string, ttl time.Duration) (seen bool, err error)
}

// Updater is a Store that can keep a refresh token and change a session
// safely while other replicas read it. The middleware's RefreshInterval
// needs it: without it, a session is never re-checked with the provider
// and lasts its MaxAge, and New refuses a RefreshInterval.
type Updater interface {
	Store
	// Update reads the session of cookie, calls fn with it and stores
	// what fn returns, unless the session changed meanwhile
	// (ErrConflict). An error of fn stores nothing and is returned,
	// wrapped so that errors.Is finds it.
	Update(ctx context.Context, cookie string, fn func(Session) (Session, error)) (Session, error)
	// TryLockSession takes the refresh lock of cookie's session for at
	// most ttl, so that one request on one replica refreshes it;
	// ErrLocked means another holds it. release gives it back and
	// reports whether it was still held.
	TryLockSession(ctx context.Context, cookie string, ttl time.Duration) (release func(context.Context) (bool, error), err error)
}

// Pinger is a Store that can say whether it answers. The middleware's
// /readyz asks it (at most once a second, bounded) and answers 503 while
// it fails. Without it, the store counts as always ready.
type Pinger interface {
	Store
	// Ping reports whether the store answers; an error means it does
	// not.
	Ping(ctx context.Context) error
}

// HashSID returns the SIDHash of an ID token's sid claim: hex SHA-256 under
// a fixed label, so the provider's session ID itself is never stored. An
// empty sid gives "".
func HashSID(sid string) string {
	if sid == "" {
		return ""
	}
	h := sha256.New()
	h.Write([]byte("rezigate sid v1\x00"))
	h.Write([]byte(sid))
	return hex.EncodeToString(h.Sum(nil))
}
