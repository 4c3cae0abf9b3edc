package middleware

import (
	"net/http"
	"net/url"

	"github.com/rezigate/rezigate/internal/localpath"
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

// signedOutPath is the local address of the signed-out page for rd, a
// checked local path. Without a return path it is the bare
// /oauth2/signed_out, the one address to register at a provider that
// matches post-logout redirect URIs exactly.
func signedOutPath(rd string) string {
	if rd == "/" {
		return "/oauth2/signed_out"
	}
	return "/oauth2/signed_out?rd=" + url.QueryEscape(rd)
}

// serveSignedOut shows the page a sign-out ends on, directly or back from
// the provider's logout. A browser that still has a session gets the
// sign-out button instead, so the page never says something untrue.
func (a *Auth) serveSignedOut(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		a.methodNotAllowed(w, r, "GET, HEAD")
		return
	}
	rd := localpath.OrRoot(r.URL.Query().Get("rd"))
	if _, ok, err := a.sessionUser(r); err != nil {
		a.storeUnavailable(w, r, err)
		return
	} else if ok {
		a.confirmSignOut(w, r, rd)
		return
	}
	// Sign in again and return to rd, or else into the RMS.
	signIn := pages.RMSPath
	if rd != "/" {
		signIn = "/oauth2/start?rd=" + url.QueryEscape(rd)
	}
	a.signedOutPage(w, signIn, requestid.FromContext(r.Context()))
}

// confirmSignOut shows a button that posts the sign-out from this site.
func (a *Auth) confirmSignOut(w http.ResponseWriter, r *http.Request, rd string) {
	f := pages.SignOutForm{Action: "/oauth2/sign_out", RequestID: requestid.FromContext(r.Context())}
	if rd != "/" {
		f.Redirect = rd
	}
	if u, ok, _ := a.sessionUser(r); ok {
		f.Email = u.Email
	}
	pages.ConfirmSignOut(w, f)
}
