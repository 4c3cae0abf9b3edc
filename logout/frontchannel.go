package logout

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

// serveFrontchannel implements OpenID Connect Front-Channel Logout 1.0,
// as the package documentation says: a tiny HTML page that only the
// provider's origin may frame; 200, 400, 405 or 503.
func (h *Handler) serveFrontchannel(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors "+originOf(h.opts.Provider.Issuer()))
	hdr.Del("X-Frame-Options")
	answer := func(status int) {
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(frontchannelBody))
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		answer(http.StatusMethodNotAllowed)
		return
	}
	id := requestid.FromContext(r.Context())
	q := r.URL.Query()
	if len(q["iss"]) != 1 || q.Get("iss") != h.opts.Provider.Issuer() || len(q["sid"]) != 1 || q.Get("sid") == "" {
		h.log.Warn("front-channel logout refused", "request_id", id, "reason", "iss not the provider's issuer, or no single sid")
		answer(http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	n, err := h.opts.Revoker.DeleteSID(ctx, sessions.HashSID(q.Get("sid")))
	if err != nil {
		h.log.Error("front-channel logout: sessions not deleted", "request_id", id, "err", err, "unavailable", errors.Is(err, sessions.ErrUnavailable))
		answer(http.StatusServiceUnavailable)
		return
	}
	h.log.Info("front-channel logout", "request_id", id, "by_sid", true, "sessions", n)
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
