package middleware

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"time"

	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/sessions"
)

// Limits on a back-channel logout request: one form field holding a
// signed token.
const (
	backchannelMaxBody = 64 << 10
	// jtiLeeway keeps a logout token's id a little past the token's exp,
	// for clocks that disagree.
	jtiLeeway = 5 * time.Minute
)

var backchannelReadTimeout = 5 * time.Second

// serveBackchannelLogout implements OpenID Connect Back-Channel Logout
// 1.0: the provider POSTs a logout_token (form-encoded), and the sessions
// it names end on every replica: those of one provider session when it
// names a sid, else every session of its subject's uid. The answer is 200
// with Cache-Control: no-store, or 400 with a small JSON body that says
// nothing about why (the log does); 503 when the store cannot answer, so
// a provider that retries may try again. A token is refused as a replay
// only once a delivery of it has ended its sessions: the retry of a
// delivery that got 503 is served like the first. With the entra profile
// a token's user is its oid (oidc.Logout.Subject), and a token naming its
// user by the pairwise sub alone is refused (400, and a log line that
// says why) rather than answered 200 having ended nothing; Entra ID
// itself uses front-channel logout, by sid.
func (a *Auth) serveBackchannelLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		backchannelError(w, http.StatusMethodNotAllowed, "invalid_request")
		return
	}
	id := requestid.FromContext(r.Context())
	refuse := func(why string, err error) {
		a.log.Warn("back-channel logout refused", "request_id", id, "reason", why, "err", err)
		backchannelError(w, http.StatusBadRequest, "invalid_request")
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		refuse("not a form", nil)
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(backchannelReadTimeout))
	r.Body = http.MaxBytesReader(w, r.Body, backchannelMaxBody)
	if err := r.ParseForm(); err != nil {
		refuse("form unreadable", err)
		return
	}
	raw := r.PostForm["logout_token"]
	if len(raw) != 1 {
		refuse("not exactly one logout_token", nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), exchangeTimeout)
	defer cancel()
	l, err := a.opts.Provider.VerifyLogoutToken(ctx, raw[0])
	if err != nil {
		if errors.Is(err, oidc.ErrNotReady) {
			a.log.Warn("back-channel logout: provider not ready", "request_id", id)
			backchannelError(w, http.StatusServiceUnavailable, "temporarily_unavailable")
			return
		}
		if errors.Is(err, oidc.ErrLogoutNoObjectID) {
			// Answering 200 would claim sessions ended that were never
			// looked for: entra uids come from oid, not the pairwise sub.
			refuse("with provider entra, uids come from oid, and this logout token names its user by sub alone (no oid, no sid), so no session can be found from it; Entra ID ends sessions by front-channel logout (sid): register /oauth2/frontchannel_logout", err)
			return
		}
		refuse("token does not verify", err)
		return
	}
	// The jti is remembered while the token could be accepted, and a
	// little longer: until exp, or for a token without exp (accepted
	// only within oidc.MaxLogoutTokenAge of its iat) until iat plus that.
	ttl := time.Until(l.Expiry) + jtiLeeway
	if time.Until(l.Expiry) > a.session.MaxAge {
		refuse("exp further away than the session max age", nil)
		return
	}
	// A token counts as used only once its sessions are gone: it is looked
	// up first, and recorded after the deletion, so that a delivery whose
	// deletion failed (503) can be retried with the same token. Two
	// deliveries of one token at the same moment may both delete, which
	// ends nothing more than one would.
	unavailable := func(doing string, err error) {
		a.log.Error("back-channel logout: "+doing, "request_id", id, "err", err)
		backchannelError(w, http.StatusServiceUnavailable, "temporarily_unavailable")
	}
	seen, err := a.jtis.LookupJTI(ctx, l.JTI)
	switch {
	case errors.Is(err, sessions.ErrUnavailable):
		unavailable("session store unavailable", err)
		return
	case err != nil:
		refuse("jti not looked up", err)
		return
	case seen:
		refuse("jti seen before (a replay)", nil)
		return
	}
	var n int
	uid := ""
	if l.SID != "" {
		n, err = a.revoker.DeleteSID(ctx, sessions.HashSID(l.SID))
	} else {
		uid = a.uid(l.Issuer, l.Subject)
		n, err = a.revoker.DeleteUser(ctx, uid)
	}
	if err != nil {
		unavailable("sessions not deleted", err)
		return
	}
	seen, err = a.jtis.SeenJTI(ctx, l.JTI, min(ttl, a.session.MaxAge))
	switch {
	case errors.Is(err, sessions.ErrUnavailable):
		// The sessions are gone; a retry deletes nothing more and records it.
		unavailable("jti not recorded", err)
		return
	case err != nil:
		refuse("jti not recorded", err)
		return
	}
	a.log.Info("back-channel logout", "request_id", id, "by_sid", l.SID != "", "uid", uid, "sessions", n, "concurrent_delivery", seen)
	w.WriteHeader(http.StatusOK)
}

func backchannelError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":"` + code + `"}` + "\n"))
}
