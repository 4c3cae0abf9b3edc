package middleware

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/sessions"
)

// frontchannelBody is the whole page the provider's hidden iframe loads.
const frontchannelBody = "<!doctype html><meta charset=utf-8><title>Signed out</title>\n"

// serveFrontchannelLogout implements OpenID Connect Front-Channel Logout
// 1.0: when a user signs out at the provider, the provider's logout page
// loads GET /oauth2/frontchannel_logout?iss=…&sid=… in an iframe (Entra
// ID, Keycloak and Ory Hydra do), and the rezigate sessions of that
// provider session end on every replica. The iframe is a third-party
// context, so the browser usually sends no session cookie: the sessions
// are found by sid alone (hashed, as back-channel logout finds them),
// which needs a Revoker; without one this path answers 404.
//
// iss must be the provider's issuer and sid a non-empty value, each given
// once; else 400. A store that cannot answer gives 503. Every answer is a
// tiny HTML page with Cache-Control: no-store that only the provider's
// origin may frame (Content-Security-Policy: frame-ancestors, without the
// X-Frame-Options: DENY of rezigate's other pages). The sid is a
// random value of the provider's: only someone who knows it, the provider
// or the browser it was issued to, can end its sessions, which is what
// the specification intends.
func (a *Auth) serveFrontchannelLogout(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors "+originOf(a.opts.Provider.Issuer()))
	h.Del("X-Frame-Options")
	answer := func(status int) {
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(frontchannelBody))
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		answer(http.StatusMethodNotAllowed)
		return
	}
	id := requestid.FromContext(r.Context())
	q := r.URL.Query()
	if len(q["iss"]) != 1 || q.Get("iss") != a.opts.Provider.Issuer() || len(q["sid"]) != 1 || q.Get("sid") == "" {
		a.log.Warn("front-channel logout refused", "request_id", id, "reason", "iss not the provider's issuer, or no single sid")
		answer(http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), exchangeTimeout)
	defer cancel()
	n, err := a.revoker.DeleteSID(ctx, sessions.HashSID(q.Get("sid")))
	if err != nil {
		a.log.Error("front-channel logout: sessions not deleted", "request_id", id, "err", err, "unavailable", errors.Is(err, sessions.ErrUnavailable))
		answer(http.StatusServiceUnavailable)
		return
	}
	a.log.Info("front-channel logout", "request_id", id, "by_sid", true, "sessions", n)
	answer(http.StatusOK)
}

// originOf is the origin (scheme://host[:port]) of an absolute URL, the
// form a CSP source takes; for anything else 'none'.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "'none'"
	}
	return u.Scheme + "://" + u.Host
}
