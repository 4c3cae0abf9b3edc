package logout

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
	// backchannelReadTimeout bounds the reading of the request body.
	backchannelReadTimeout = 5 * time.Second
	// jtiLeeway keeps a logout token's id a little past the token's exp,
	// for clocks that disagree.
	jtiLeeway = 5 * time.Minute
)

// serveBackchannel implements OpenID Connect Back-Channel Logout 1.0, as
// the package documentation says: 200, 400, 405 or 503; the jti looked up,
// then the sessions deleted, then the jti recorded.
func (h *Handler) serveBackchannel(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		backchannelError(w, http.StatusMethodNotAllowed, "invalid_request")
		return
	}
	id := requestid.FromContext(r.Context())
	refuse := func(why string, err error) {
		h.log.Warn("back-channel logout refused", "request_id", id, "reason", why, "err", err)
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
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	l, err := h.opts.Provider.VerifyLogoutToken(ctx, raw[0])
	if err != nil {
		if errors.Is(err, oidc.ErrNotReady) {
			h.log.Warn("back-channel logout: provider not ready", "request_id", id)
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
	if time.Until(l.Expiry) > h.opts.MaxAge {
		refuse("exp further away than the session max age", nil)
		return
	}
	// A token counts as used only once its sessions are gone: it is looked
	// up first, and recorded after the deletion, so that a delivery whose
	// deletion failed (503) can be retried with the same token. Two
	// deliveries of one token at the same moment may both delete, which
	// ends nothing more than one would.
	unavailable := func(doing string, err error) {
		h.log.Error("back-channel logout: "+doing, "request_id", id, "err", err)
		backchannelError(w, http.StatusServiceUnavailable, "temporarily_unavailable")
	}
	seen, err := h.opts.JTIs.LookupJTI(ctx, l.JTI)
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
		n, err = h.opts.Revoker.DeleteSID(ctx, sessions.HashSID(l.SID))
	} else {
		uid = h.opts.UID(l.Issuer, l.Subject)
		n, err = h.opts.Revoker.DeleteUser(ctx, uid)
	}
	if err != nil {
		unavailable("sessions not deleted", err)
		return
	}
	seen, err = h.opts.JTIs.SeenJTI(ctx, l.JTI, min(ttl, h.opts.MaxAge))
	switch {
	case errors.Is(err, sessions.ErrUnavailable):
		// The sessions are gone; a retry deletes nothing more and records it.
		unavailable("jti not recorded", err)
		return
	case err != nil:
		refuse("jti not recorded", err)
		return
	}
	h.log.Info("back-channel logout", "request_id", id, "by_sid", l.SID != "", "uid", uid, "sessions", n, "concurrent_delivery", seen)
	w.WriteHeader(http.StatusOK)
}

func backchannelError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":"` + code + `"}` + "\n"))
}
