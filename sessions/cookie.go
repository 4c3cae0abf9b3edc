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

// CookieOptions configure NewCookieStore.
type CookieOptions struct {
	// Settings are the session settings (Deployment and Secrets
	// required). The cookie is sealed with the secrets, and the
	// deployment and the name it is set under (Settings.SetCookieName)
	// are bound into the seal.
	Settings Settings
	// KeepGroups lists the groups Put keeps in the cookie (compared
	// exactly); a session's other groups are dropped, so that a user in
	// hundreds of groups still has a cookie far below browser limits.
	// rezigate passes the groups its policy names, the only ones it ever
	// looks at. Nil or empty keeps no groups.
	KeepGroups []string
}

// Validate reports every problem with o at once: errors.Join of
// *optionerr.Error values, each reading "sessions: Field: what is wrong"
// ("sessions: Settings.MaxAge: must not be negative"). It never includes
// a secret.
func (o CookieOptions) Validate() error {
	errs := nestSettings("sessions", "Settings", o.Settings.Validate())
	for i, g := range o.KeepGroups {
		if g == "" {
			errs = append(errs, optionerr.New("sessions", fmt.Sprintf("KeepGroups[%d]", i), "must not be empty"))
		}
	}
	return errors.Join(errs...)
}

// nestSettings reports the problems of Settings.Validate as fields of
// pkg's field that holds the settings.
func nestSettings(pkg, field string, err error) []error {
	var errs []error
	for _, fe := range optionerr.Fields(err) {
		errs = append(errs, optionerr.New(pkg, field+"."+fe.Field, "%s", fe.Msg))
	}
	return errs
}

// String formats o with the secrets shown as a count, so %v never prints
// them.
func (o CookieOptions) String() string {
	return fmt.Sprintf("sessions.CookieOptions{Settings:%v KeepGroups:%q}", o.Settings, o.KeepGroups)
}

// GoString makes %#v as safe as %v.
func (o CookieOptions) GoString() string { return o.String() }

// LogValue implements slog.LogValuer without the secrets.
func (o CookieOptions) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("settings", o.Settings), slog.Any("keep_groups", o.KeepGroups))
}

// CookieStore keeps the whole session in the cookie, sealed (AES-256-CTR
// and HMAC-SHA256 with keys derived from the secrets and the deployment):
// the server keeps nothing, so every replica can read every session
// without shared state, and nothing can be revoked before it expires. It
// is rezigate's default store.
//
// It keeps UID, Email, Expires, the Groups listed in
// CookieOptions.KeepGroups and the IDToken when the cookie can hold it;
// Put drops other groups, SIDHash, CheckedAt and CheckDue, and refuses a
// RefreshToken with ErrNotSupported rather than hand it to the browser.
//
// The ID token is kept compressed (see internal/session): an RS256 token
// of 2 KB (a large Entra ID token) makes a cookie of about 2.6 KB. When
// the session with its token would pass the 4096 bytes browsers keep of
// a cookie (a token carrying hundreds of groups, or many kept groups
// beside it), Put keeps the session without its token: the user stays
// signed in, and sign-out goes to the provider without id_token_hint. It offers none of the optional
// capabilities (Revoker, JTIRecorder, Updater, Pinger).
type CookieStore struct {
	codec    *session.Codec
	settings Settings // with defaults
	name     string   // as set: settings.SetCookieName()
	now      func() time.Time
	keep     map[string]struct{}
}

var _ Store = (*CookieStore)(nil)

// NewCookieStore returns a CookieStore after checking opts with Validate.
func NewCookieStore(opts CookieOptions) (*CookieStore, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	st := opts.Settings.WithDefaults()
	codec, err := session.NewBoundCodec(st.Secrets, st.MaxAge, st.Deployment)
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	c := &CookieStore{codec: codec, settings: st, name: st.SetCookieName(), now: time.Now}
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
	if msg := storecheck.Put(s.UID, s.Expires, c.now(), c.settings.MaxAge); msg != "" {
		return "", errors.New("sessions: put: " + msg)
	}
	cs := session.Session{Email: s.Email, UID: s.UID, Expires: s.Expires, Groups: c.kept(s.Groups), IDToken: s.IDToken}
	if len(cs.IDToken) > maxCookieIDToken {
		cs.IDToken = ""
	}
	v, err := c.encode(&cs)
	if errors.Is(err, session.ErrTooLong) && cs.IDToken != "" {
		// The identity matters more than the logout hint.
		cs.IDToken = ""
		v, err = c.encode(&cs)
	}
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
	return Session{UID: s.UID, Email: s.Email, Expires: s.Expires, Groups: s.Groups, IDToken: s.IDToken}, nil
}

// encode seals s, and reports session.ErrTooLong unless name=value fits
// in the 4096 bytes browsers keep of a cookie.
func (c *CookieStore) encode(s *session.Session) (string, error) {
	v, err := c.codec.Encode(c.name, s)
	if err == nil && len(c.name)+1+len(v) > maxCookieLen {
		return "", session.ErrTooLong
	}
	return v, err
}

// maxCookieLen is what browsers keep of a cookie's name and value
// (RFC 6265 section 6.1 asks for at least 4096 bytes).
const maxCookieLen = 4096

// maxCookieIDToken is the longest ID token Put tries to keep; no longer
// one could fit in a cookie, however well it compresses.
const maxCookieIDToken = 8 << 10

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
// it expires; use a server-side store (a Revoker) to revoke.
func (c *CookieStore) Delete(context.Context, string) error { return nil }

// Settings returns the settings the store was built with, defaults
// filled in.
func (c *CookieStore) Settings() Settings { return c.settings.WithDefaults() }

// String names the store without its secrets.
func (c *CookieStore) String() string {
	return fmt.Sprintf("sessions.CookieStore{Deployment:%q Name:%q}", c.settings.Deployment, c.name)
}

// LogValue implements slog.LogValuer without the secrets.
func (c *CookieStore) LogValue() slog.Value {
	return slog.GroupValue(slog.String("store", "cookie"), slog.String("name", c.name))
}
