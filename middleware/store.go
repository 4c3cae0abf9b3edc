package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rezigate/rezigate/internal/pages"
	"github.com/rezigate/rezigate/internal/probe"
	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/sessions"
)

// Readiness probe of the store: one Ping at a time, bounded, its answer
// reused for a second.
const (
	storeProbeTimeout = 500 * time.Millisecond
	storeProbeTTL     = time.Second
)

// settings returns the session settings the middleware works with: the
// Store's, or else Session with the Deployment of PublicURL (when valid)
// if it names none.
func (o Options) settings() sessions.Settings {
	if o.Store != nil {
		return o.Store.Settings()
	}
	s := o.Session
	if _, msg := parsePublicURL(o.PublicURL); s.Deployment == "" && msg == "" {
		s.Deployment = sessions.DeploymentOf(o.PublicURL)
	}
	return s
}

// settingsField names a problem of the session settings by the field
// that gave them: "Session.MaxAge", or "Store" for a Store's.
func (o Options) settingsField(fe *optionerr.Error) (field, msg string) {
	if o.Store != nil {
		return "Store", "its Settings()." + fe.Field + " " + fe.Msg
	}
	return "Session." + fe.Field, fe.Msg
}

// sessionProblems are Validate's problems with the session settings:
// those of Session or of the Store's, a Store given with Session too, and
// settings bound to another deployment than PublicURL's (checked when
// PublicURL is valid).
func (o Options) sessionProblems(publicURLValid bool) []error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, optionerr.New("middleware", field, format, args...))
	}
	if o.Store != nil && !o.Session.IsZero() {
		add("Session", "must be empty when Store is set: the middleware reads the session settings from the Store, which was built with them")
	}
	st := o.settings()
	badDeployment := false
	for _, fe := range optionerr.Fields(st.Validate()) {
		if fe.Field == "Deployment" {
			if o.Store == nil && o.Session.Deployment == "" {
				continue // PublicURL is invalid, and says so
			}
			badDeployment = true
		}
		field, msg := o.settingsField(fe)
		add(field, "%s", msg)
	}
	if want := sessions.DeploymentOf(o.PublicURL); publicURLValid && !badDeployment && st.Deployment != want {
		if o.Store != nil {
			add("Store", "its sessions belong to another deployment than PublicURL's: build it with Settings.Deployment sessions.DeploymentOf(PublicURL)")
		} else {
			add("Session.Deployment", "must be empty or PublicURL's deployment, sessions.DeploymentOf(PublicURL)")
		}
	}
	return errs
}

// initStore sets the store up: Options.Store, or the cookie store that
// rezigate has always used, built from Options.Session. The session
// settings are read back from the store, and what it offers beyond
// sessions.Store is looked for once.
func (a *Auth) initStore() error {
	a.store = a.opts.Store
	if a.store == nil {
		cs, err := sessions.NewCookieStore(sessions.CookieOptions{Settings: a.opts.settings(), KeepGroups: a.namedGroups()})
		if err != nil {
			return fmt.Errorf("middleware: Session: %w", err)
		}
		a.store = cs
	}
	a.session = a.store.Settings()
	a.cookieName, a.baseCookieName = a.session.SetCookieName(), a.session.CookieName
	a.statePrefix = a.cookieName + stateInfix
	// Cookie-store sessions never change once sealed, so a cookie value
	// verified once is remembered; any other store is asked every time
	// (redisstore answers from its own invalidated cache).
	_, a.cookieStore = a.store.(*sessions.CookieStore)
	a.revoker, _ = a.store.(sessions.Revoker)
	if j, ok := a.store.(sessions.JTIRecorder); ok && a.revoker != nil {
		a.jtis = j
	}
	if p, ok := a.store.(sessions.Pinger); ok {
		a.probe = &probe.Probe{Check: p.Ping, TTL: storeProbeTTL, Timeout: storeProbeTimeout}
	}
	return nil
}

// revocable reports whether the store keeps sessions server-side, so that
// deleting one ends it everywhere.
func (a *Auth) revocable() bool { return a.revoker != nil }

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
	eachCookie(h, a.cookieName, func(v string) bool {
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
			if s, live, err = a.refresher.IfDue(ctx, v, s); err != nil || !live {
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
	eachCookie(h, a.cookieName, func(v string) bool {
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
	return a.probe.Ready(ctx)
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
// logout), the raw ID token (the id_token_hint of sign-out) and, when refreshing is on, the refresh token and the time of
// its first check.
func (a *Auth) newSession(ctx context.Context, id oidc.Identity, u *User) sessions.Session {
	now := time.Now()
	s := sessions.Session{UID: u.UID, Email: u.Email, Groups: id.Groups, SIDHash: sessions.HashSID(id.SID), IDToken: id.IDToken, Expires: now.Add(a.session.MaxAge)}
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
			n, err := a.revoker.DeleteUser(ctx, u.UID)
			if err != nil {
				return err
			}
			a.log.Info("signed out everywhere", "request_id", requestid.FromContext(ctx), "uid", u.UID, "sessions", n)
		}
	}
	var err error
	eachCookie(r.Header, a.cookieName, func(v string) bool {
		err = a.store.Delete(ctx, v)
		return err != nil
	})
	return err
}
