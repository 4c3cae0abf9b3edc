package middleware

import (
	"context"
	"net/http"

	"github.com/rezigate/rezigate/handoff"
	"github.com/rezigate/rezigate/internal/statuswriter"
)

// initHandoff builds the hand-off of Options.Handoff, when it has a Rezi
// client, with the user that Wrap found, this site's PublicURL, the
// store's 503 for a Limiter that cannot answer, and the middleware's log.
func (a *Auth) initHandoff() error {
	ho := a.opts.Handoff
	if ho.Rezi == nil {
		return nil
	}
	if ho.PublicURL == nil {
		ho.PublicURL = a.publicURL
	}
	if ho.User == nil {
		ho.User = contextUser
	}
	if ho.Unavailable == nil {
		ho.Unavailable = a.storeUnavailable
	}
	if ho.Logger == nil {
		ho.Logger = a.log
	}
	h, err := handoff.New(ho)
	if err != nil { // Validate accepted the settings; the rest is set above
		return err
	}
	a.handoff = h
	return nil
}

// contextUser is the hand-off's Options.User: the user Wrap put in the
// request's context.
func contextUser(r *http.Request) (email, uid string, ok bool) {
	u, ok := r.Context().Value(userKey{}).(*User)
	if !ok {
		return "", "", false
	}
	return u.Email, u.UID, true
}

// serveHandoff serves /rezi: the hand-off, behind the session and the
// policy as the app is, except that a request without a session is always
// sent to sign in, and comes back here with the same query, so one click
// from an intranet link ends in the RMS. A method other than GET is
// refused first, so that it never starts a sign-in.
func (a *Auth) serveHandoff(w *statuswriter.Writer, r *http.Request) *User {
	if a.handoff == nil {
		a.errorPage(w, r, http.StatusNotFound, "There is nothing at this address.")
		return nil
	}
	if r.Method != http.MethodGet {
		a.methodNotAllowed(w, r, "GET")
		return nil
	}
	u, refused := a.authorize(r.Context(), w, r, true)
	if refused != "" {
		return u
	}
	a.handoff.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	return u
}

// authorize returns the signed-in user of r when the policy lets r
// through. Otherwise it has answered r and refused names the answer for
// the access log: "unavailable" (503, the store cannot answer),
// "unauthenticated" (no session: the browser is sent to sign in when
// signIn is set or r is a navigation, anything else gets 401) or "denied"
// (the policy's 403, u the user it refused). ctx carries the request id.
func (a *Auth) authorize(ctx context.Context, w *statuswriter.Writer, r *http.Request, signIn bool) (u *User, refused string) {
	u, ok, err := a.lookupSession(ctx, r.Header)
	switch {
	case err != nil:
		a.storeUnavailable(w, r.WithContext(ctx), err)
		return nil, "unavailable"
	case !ok && signIn:
		a.redirectToStart(w, r)
		return nil, "unauthenticated"
	case !ok:
		a.signInRequired(w, r)
		return nil, "unauthenticated"
	}
	if a.access.strict {
		if res := a.decide(r, u); !res.Allowed {
			a.deny(w, w.Own(r.WithContext(ctx)), u, res)
			return u, "denied"
		}
	}
	return u, ""
}
