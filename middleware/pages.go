package middleware

import (
	"net/http"

	"github.com/rezigate/rezigate/internal/pages"
	"github.com/rezigate/rezigate/internal/requestid"
)

// errorPage answers with a status, a fixed message and the request id.
// It never includes error text: causes go to the log only.
func (a *Auth) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Del("Location")
	pages.Error(w, status, msg, requestid.FromContext(r.Context()))
}

// fail logs err with the request id and answers with errorPage.
func (a *Auth) fail(w http.ResponseWriter, r *http.Request, status int, msg string, err error) {
	a.log.Error("request failed", "request_id", requestid.FromContext(r.Context()), "path", r.URL.Path, "status", status, "err", err)
	a.errorPage(w, r, status, msg)
}

func (a *Auth) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	a.errorPage(w, r, http.StatusMethodNotAllowed, "This address does not accept that method.")
}
