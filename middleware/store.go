package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rezigate/rezigate/internal/pages"
	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/sessions"
)

// What a Store may offer beyond sessions.Store; redisstore.Store offers all
// of it. They are looked for once, in New.
type (
	// jtiRecorder remembers back-channel logout token ids, so a replayed
	// token is refused: LookupJTI only reads, SeenJTI records. A Store
	// with it serves /oauth2/backchannel_logout.
	jtiRecorder interface {
		LookupJTI(ctx context.Context, jti string) (seen bool, err error)
		SeenJTI(ctx context.Context, jti string, ttl time.Duration) (seen bool, err error)
	}
	// refresher can keep a refresh token and change a session safely
	// while other replicas read it: RefreshInterval needs it.
	refresher interface {
		Update(ctx context.Context, cookie string, fn func(sessions.Session) (sessions.Session, error)) (sessions.Session, error)
		TryLockSession(ctx context.Context, cookie string, ttl time.Duration) (release func(context.Context) (bool, error), err error)
	}
	// pinger answers a readiness probe.
	pinger interface {
		Ping(ctx context.Context) error
	}
)

// Readiness probe of the store: one Ping at a time, bounded, its answer
// reused for a second.
const (
	storeProbeTimeout = 500 * time.Millisecond
	storeProbeTTL     = time.Second
)

// Deployment returns the name that binds sessions to this deployment, so
// that another deployment sharing SessionSecrets (and Redis) does not
// accept its cookies: PublicURL's scheme and host, lower-cased, without a
// default port ("https://rms.example.com"); "" when PublicURL is not
// valid. New builds the default cookie store with it; build a Store given
// in Options.Store with it too (sessions.CookieOptions.Deployment,
// redisstore.Options.Deployment). New logs a warning for a Store bound to
// another name.
func (o Options) Deployment() string {
	u, msg := parsePublicURL(o.PublicURL)
	if msg != "" {
		return ""
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" && !(u.Scheme == "https" && port == "443") && !(u.Scheme == "http" && port == "80") {
		host += ":" + port
	}
	return u.Scheme + "://" + host
}

// initStore sets the store up: Options.Store, or the cookie store that
// rezigate has always used, bound to this deployment.
func (a *Auth) initStore() error {
	a.store = a.opts.Store
	deployment := a.opts.Deployment()
	if a.store == nil {
		cs, err := sessions.NewCookieStore(sessions.CookieOptions{
			Deployment: deployment, Secrets: a.opts.SessionSecrets, Name: a.opts.CookieName,
			MaxAge: a.opts.SessionMaxAge, KeepGroups: a.NamedGroups(),
		})
		if err != nil {
			return fmt.Errorf("middleware: SessionSecrets: %w", err)
		}
		a.store = cs
	}
	if d, ok := a.store.(interface{ Deployment() string }); ok && d.Deployment() != deployment {
		a.log.Warn("the session store is bound to another deployment than PublicURL names: deployments that share session secrets must each bind to their own",
			"store_deployment", d.Deployment(), "deployment", deployment)
	}
	// Cookie-store sessions never change once sealed, so a cookie value
	// verified once is remembered; any other store is asked every time
	// (redisstore answers from its own invalidated cache).
	_, a.cookieStore = a.store.(*sessions.CookieStore)
	a.jtis, _ = a.store.(jtiRecorder)
	if a.cookieStore {
		a.jtis = nil
	}
	if r, ok := a.store.(refresher); ok && a.opts.RefreshInterval > 0 {
		a.refresher = r
	}
	if p, ok := a.store.(pinger); ok {
		a.probe = &storeProbe{ping: p.Ping, ttl: storeProbeTTL}
	}
	return nil
}

// revocable reports whether the store keeps sessions server-side, so that
// deleting one ends it everywhere.
func (a *Auth) revocable() bool { return !a.cookieStore }

// sessionUser returns the user of the request's session. ok false with a
// nil error means "not signed in" (no cookie, a tampered, expired or
// revoked one, or a refresh the provider refused). A non-nil error means
// the store could not answer: answer with storeUnavailable, never as
// signed out.
func (a *Auth) sessionUser(r *http.Request) (*User, bool, error) {
	return a.lookupSession(r.Context(), r.Header)
}

// lookupSession is sessionUser for a context and the request's headers.
func (a *Auth) lookupSession(ctx context.Context, h http.Header) (u *User, ok bool, err error) {
	if a.cookieStore {
		u = a.cookieSession(ctx, h)
		return u, u != nil, nil
	}
	eachCookie(h, a.opts.CookieName, func(v string) bool {
		s, gerr := a.store.Get(ctx, v)
		switch {
		case errors.Is(gerr, sessions.ErrNotFound):
			return false
		case gerr != nil:
			err = gerr
			return true
		}
		if a.refresher != nil {
			var live bool
			if s, live, err = a.refreshIfDue(ctx, v, s); err != nil || !live {
				return err != nil
			}
		}
		u = userOf(s)
		return true
	})
	if err != nil {
		return nil, false, err
	}
	return u, u != nil, nil
}

// cookieSession is lookupSession for the cookie store, the hot path: a
// value verified before is found in the sessions cache, with no
// allocation; the store cannot fail.
func (a *Auth) cookieSession(ctx context.Context, h http.Header) *User {
	var u *User
	now := time.Now()
	eachCookie(h, a.opts.CookieName, func(v string) bool {
		if cached, ok := a.sessions.get(v, now); ok {
			u = cached
			return true
		}
		s, err := a.store.Get(ctx, v)
		if err != nil {
			return false
		}
		u = userOf(s)
		a.sessions.put(v, u, s.Expires)
		return true
	})
	return u
}

// userOf is the User of a session.
func userOf(s sessions.Session) *User {
	return &User{Email: s.Email, UID: s.UID, Groups: s.Groups}
}

// storeUnavailable answers a request whose session could not be read or
// written because the store cannot answer: 503, a page for a browser's
// navigation and small JSON otherwise, with a log line. The session
// cookie is kept: the user is not signed out, only unlucky.
func (a *Auth) storeUnavailable(w http.ResponseWriter, r *http.Request, err error) {
	a.log.Error("session store unavailable", "request_id", requestid.FromContext(r.Context()), "path", r.URL.Path, "err", err)
	w.Header().Del("Set-Cookie")
	w.Header().Set("Retry-After", "5")
	if isNavigation(r) {
		a.errorPage(w, r, http.StatusServiceUnavailable, "Sign-ins cannot be checked right now, so this page cannot be shown. You are still signed in: please try again in a moment.")
		return
	}
	w.Header().Del("Location")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"error":"unavailable","message":"session store unavailable; try again"}` + "\n"))
}

// storeReady reports whether the store answers, by a probe whose answer
// is reused for storeProbeTTL. A store without Ping is always ready.
func (a *Auth) storeReady(ctx context.Context) bool {
	if a.probe == nil {
		return true
	}
	return a.probe.ready(ctx)
}

// storeProbe runs the store's Ping at most once at a time and remembers
// the answer for storeProbeTTL; callers that find a probe in flight use
// the last answer rather than wait.
type storeProbe struct {
	ping func(context.Context) error
	ttl  time.Duration // how long an answer is reused

	running sync.Mutex // held while a Ping is in flight
	mu      sync.Mutex
	at      time.Time
	ok      bool
}

func (p *storeProbe) ready(ctx context.Context) bool {
	p.mu.Lock()
	at, ok := p.at, p.ok
	p.mu.Unlock()
	if !at.IsZero() && time.Since(at) < p.ttl {
		return ok
	}
	if !at.IsZero() && !p.running.TryLock() {
		return ok
	} else if at.IsZero() {
		p.running.Lock()
	}
	defer p.running.Unlock()
	p.mu.Lock()
	if !p.at.IsZero() && time.Since(p.at) < p.ttl { // another caller just probed
		ok = p.ok
		p.mu.Unlock()
		return ok
	}
	p.mu.Unlock()
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeProbeTimeout)
	err := p.ping(pctx)
	cancel()
	p.mu.Lock()
	p.at, p.ok = time.Now(), err == nil
	p.mu.Unlock()
	return err == nil
}

// signedOutPage writes the page a sign-out ends on; with a server-side
// store it says that the session ended everywhere.
func (a *Auth) signedOutPage(w http.ResponseWriter, signIn, id string) {
	if a.revocable() {
		pages.SignedOutRevoked(w, signIn, id)
		return
	}
	pages.SignedOut(w, signIn, id)
}

// newSession is the session a sign-in creates for u, the identity id
// verified: with the provider session's sid hashed (for back-channel
// logout) and, when refreshing is on, the refresh token and the time of
// its first check.
func (a *Auth) newSession(ctx context.Context, id oidc.Identity, u *User) sessions.Session {
	now := time.Now()
	s := sessions.Session{UID: u.UID, Email: u.Email, Groups: id.Groups, SIDHash: sessions.HashSID(id.SID), Expires: now.Add(a.opts.SessionMaxAge)}
	if a.refresher != nil {
		checked := a.now()
		s.RefreshToken, s.CheckedAt, s.CheckDue = id.RefreshToken, checked, checked.Add(a.opts.RefreshInterval)
		if id.RefreshToken == "" {
			a.log.Warn("the provider issued no refresh token (is offline_access among the scopes?): the session ends at its first check",
				"request_id", requestid.FromContext(ctx), "uid", u.UID)
		}
	}
	return s
}

// deleteSessions deletes the request's session from the store and, with
// everywhere, every session of its user. A store that keeps nothing (the
// cookie store) has nothing to delete.
func (a *Auth) deleteSessions(r *http.Request, everywhere bool) error {
	if !a.revocable() {
		return nil
	}
	ctx := r.Context()
	if everywhere {
		u, ok, err := a.sessionUser(r)
		if err != nil {
			return err
		}
		if ok {
			n, err := a.store.DeleteUser(ctx, u.UID)
			if err != nil {
				return err
			}
			a.log.Info("signed out everywhere", "request_id", requestid.FromContext(ctx), "uid", u.UID, "sessions", n)
		}
	}
	var err error
	eachCookie(r.Header, a.opts.CookieName, func(v string) bool {
		err = a.store.Delete(ctx, v)
		return err != nil
	})
	return err
}
