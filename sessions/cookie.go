package sessions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/rezigate/rezigate/internal/session"
	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/sessions/internal/storecheck"
)

// MinSecretLen is the shortest session secret accepted, in bytes.
const MinSecretLen = storecheck.MinSecretLen

// CookieOptions configure NewCookieStore. Every field but KeepGroups is
// required.
type CookieOptions struct {
	// Deployment names the deployment whose sessions these are: rezigate
	// sets the public URL (middleware.Options.Deployment). It is bound
	// into the seal, so a cookie sealed by another deployment that shares
	// the secrets is not a session here, whatever that deployment let in.
	// It is required: an embedder running several deployments on one set
	// of secrets would otherwise let a user signed in to one into all.
	Deployment string
	// Secrets seal the cookies; each must be at least MinSecretLen bytes.
	// The first seals new cookies, every one opens them, which allows
	// rotation: put the new secret first and keep the old one until the
	// last cookie it sealed has expired.
	Secrets [][]byte
	// Name is the cookie's name. It is bound into the seal, so a value
	// cannot be moved to another cookie.
	Name string
	// MaxAge is the longest a session may last; a cookie sealed longer
	// ago than that no longer opens. It must be positive.
	MaxAge time.Duration
	// KeepGroups lists the groups Put keeps in the cookie (compared
	// exactly); a session's other groups are dropped, so that a user in
	// hundreds of groups still has a cookie far below browser limits.
	// rezigate passes the groups its policy names, the only ones it ever
	// looks at. Nil or empty keeps no groups.
	KeepGroups []string
}

// Validate reports every problem with o at once: errors.Join of
// *optionerr.Error values, each reading "sessions: Field: what is wrong".
// It never includes a secret.
func (o CookieOptions) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, optionerr.New("sessions", field, format, args...))
	}
	errs = append(errs, storecheck.Secrets("sessions", o.Secrets)...)
	if o.Deployment == "" {
		add("Deployment", "required (the public URL), so that no other deployment's cookies open here")
	}
	if msg := storecheck.CookieName(o.Name); msg != "" {
		add("Name", "%s", msg)
	}
	if o.MaxAge <= 0 {
		add("MaxAge", "must be positive")
	}
	for i, g := range o.KeepGroups {
		if g == "" {
			add(fmt.Sprintf("KeepGroups[%d]", i), "must not be empty")
		}
	}
	return errors.Join(errs...)
}

// String formats o with the secrets shown as a count, so %v never prints
// them.
func (o CookieOptions) String() string {
	return fmt.Sprintf("sessions.CookieOptions{Deployment:%q Secrets:%s Name:%q MaxAge:%v KeepGroups:%q}", o.Deployment, storecheck.RedactSecrets(o.Secrets), o.Name, o.MaxAge, o.KeepGroups)
}

// GoString makes %#v as safe as %v.
func (o CookieOptions) GoString() string { return o.String() }

// LogValue implements slog.LogValuer without the secrets.
func (o CookieOptions) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("deployment", o.Deployment),
		slog.String("secrets", storecheck.RedactSecrets(o.Secrets)),
		slog.String("name", o.Name),
		slog.Duration("max_age", o.MaxAge),
	)
}

// CookieStore keeps the whole session in the cookie, sealed (AES-256-CTR
// and HMAC-SHA256 with keys derived from the secrets and the deployment):
// the server keeps nothing, so every replica can read every session
// without shared state, and nothing can be revoked before it expires. It
// is rezigate's default store.
//
// It keeps UID, Email, Expires and the Groups listed in
// CookieOptions.KeepGroups; Put drops other groups, SIDHash, CheckedAt
// and CheckDue, and refuses a RefreshToken with ErrNotSupported rather
// than hand it to the browser.
type CookieStore struct {
	codec      *session.Codec
	deployment string
	name       string
	maxAge     time.Duration
	now        func() time.Time
	keep       map[string]struct{}
}

var _ Store = (*CookieStore)(nil)

// NewCookieStore returns a CookieStore after checking opts with Validate.
func NewCookieStore(opts CookieOptions) (*CookieStore, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	codec, err := session.NewBoundCodec(opts.Secrets, opts.MaxAge, opts.Deployment)
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	c := &CookieStore{codec: codec, deployment: opts.Deployment, name: opts.Name, maxAge: opts.MaxAge, now: time.Now}
	if len(opts.KeepGroups) > 0 {
		c.keep = make(map[string]struct{}, len(opts.KeepGroups))
		for _, g := range opts.KeepGroups {
			c.keep[g] = struct{}{}
		}
	}
	return c, nil
}

// Put seals s into a cookie value. It needs no context and does no I/O.
func (c *CookieStore) Put(_ context.Context, s Session) (string, error) {
	if s.RefreshToken != "" {
		return "", fmt.Errorf("sessions: put: a refresh token cannot be kept in a cookie: %w", ErrNotSupported)
	}
	if msg := storecheck.Put(s.UID, s.Expires, c.now(), c.maxAge); msg != "" {
		return "", errors.New("sessions: put: " + msg)
	}
	v, err := c.codec.Encode(c.name, &session.Session{Email: s.Email, UID: s.UID, Expires: s.Expires, Groups: c.kept(s.Groups)})
	if errors.Is(err, session.ErrTooLong) {
		return "", fmt.Errorf("sessions: put: %w", ErrTooLarge)
	}
	if err != nil {
		return "", fmt.Errorf("sessions: put: %w", err)
	}
	return v, nil
}

// Get opens a cookie value. Anything that does not open (a cookie of
// another deployment among them), or opens to an expired session, is
// ErrNotFound. It never returns ErrUnavailable.
func (c *CookieStore) Get(_ context.Context, cookie string) (Session, error) {
	var s session.Session
	if c.codec.Decode(c.name, cookie, &s) != nil || s.UID == "" || !c.now().Before(s.Expires) {
		return Session{}, ErrNotFound
	}
	return Session{UID: s.UID, Email: s.Email, Expires: s.Expires, Groups: s.Groups}, nil
}

// kept returns the groups of groups that KeepGroups lists, in order and
// without repeats; nil when there are none.
func (c *CookieStore) kept(groups []string) []string {
	var out []string
	for _, g := range groups {
		if _, ok := c.keep[g]; ok && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// Delete does nothing and returns nil: the session lives only in the
// cookie, which the caller clears. A copy of the cookie stays valid until
// it expires; use a server-side store to revoke.
func (c *CookieStore) Delete(context.Context, string) error { return nil }

// DeleteUser returns ErrNotSupported: the store does not know which
// cookies exist.
func (c *CookieStore) DeleteUser(context.Context, string) (int, error) {
	return 0, fmt.Errorf("sessions: delete user: %w", ErrNotSupported)
}

// DeleteSID returns ErrNotSupported: the store does not know which
// cookies exist.
func (c *CookieStore) DeleteSID(context.Context, string) (int, error) {
	return 0, fmt.Errorf("sessions: delete sid: %w", ErrNotSupported)
}

// Deployment returns CookieOptions.Deployment: the deployment whose
// sessions the store opens.
func (c *CookieStore) Deployment() string { return c.deployment }

// String names the store without its secrets.
func (c *CookieStore) String() string {
	return fmt.Sprintf("sessions.CookieStore{Deployment:%q Name:%q}", c.deployment, c.name)
}

// LogValue implements slog.LogValuer without the secrets.
func (c *CookieStore) LogValue() slog.Value {
	return slog.GroupValue(slog.String("store", "cookie"), slog.String("name", c.name))
}
