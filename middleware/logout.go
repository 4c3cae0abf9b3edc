package middleware

import "github.com/rezigate/rezigate/logout"

// initLogout builds the logout endpoints (package logout) when the store
// can revoke sessions: front-channel logout with a sessions.Revoker,
// back-channel logout too when it is also a sessions.JTIRecorder, with
// the middleware's provider, uid, session max age and log.
func (a *Auth) initLogout() error {
	if a.revoker == nil {
		return nil
	}
	h, err := logout.New(logout.Options{Provider: a.opts.Provider, Revoker: a.revoker, JTIs: a.jtis,
		UID: a.uid, MaxAge: a.session.MaxAge, Logger: a.log})
	if err != nil { // every field comes from settings New checked already
		return err
	}
	a.logout = h
	return nil
}
