package middleware

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/rezigate/rezigate/internal/localpath"
	"github.com/rezigate/rezigate/internal/pages"
	"github.com/rezigate/rezigate/internal/requestid"
)

// Limits on reading a sign-out form, which carries at most rd: a client
// cannot pin the connection by sending a large or slow body.
const signOutMaxBody = 8 << 10

var signOutReadTimeout = 5 * time.Second

// serveSignOut clears the session and, when configured and offered, ends
// the session at the provider too (RP-Initiated Logout 1.0), sending the
// session's ID token as id_token_hint, post_logout_redirect_uri and
// client_id.
//
// Only a request from this site signs out at once. A GET from another
// site (a link or a redirect there) gets a page with a sign-out button,
// so another site cannot sign a user out, and through the provider's
// logout, with one click; a cross-site POST is refused. Both decisions are
// http.CrossOriginProtection's: Sec-Fetch-Site, else Origin against Host,
// with PublicURL's origin trusted. A GET with neither header (a typed URL
// in an old browser, or a script) signs out at once, as before.
func (a *Auth) serveSignOut(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		rd := localpath.OrRoot(r.URL.Query().Get("rd"))
		if a.crossOrigin(r) {
			a.confirmSignOut(w, r, rd)
			return
		}
		a.signOut(w, r, rd, false)
	case http.MethodPost:
		if err := a.csrf.Check(r); err != nil {
			a.log.Warn("sign-out refused", "request_id", requestid.FromContext(r.Context()), "err", err)
			a.errorPage(w, r, http.StatusForbidden, "This sign-out request came from another site, so it was refused. To sign out, use the sign-out link of this site.")
			return
		}
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(signOutReadTimeout))
		r.Body = http.MaxBytesReader(w, r.Body, signOutMaxBody)
		if err := r.ParseForm(); err != nil {
			a.log.Info("sign-out form unreadable", "request_id", requestid.FromContext(r.Context()), "err", err)
			a.errorPage(w, r, http.StatusBadRequest, "The sign-out form could not be read. Please try again.")
			return
		}
		rd := r.PostForm.Get("rd")
		if _, ok := r.PostForm["rd"]; !ok {
			rd = r.URL.Query().Get("rd")
		}
		// Only a same-origin POST (checked above) ends every session of
		// the user; a GET with everywhere=true is an ordinary sign-out.
		everywhere, _ := strconv.ParseBool(r.PostForm.Get("everywhere"))
		a.signOut(w, r, localpath.OrRoot(rd), everywhere)
	default:
		a.methodNotAllowed(w, r, "GET, POST")
	}
}

// crossOrigin reports whether r came from another origin, by the rule
// CrossOriginProtection applies to unsafe methods; it allows every GET,
// so it is asked about r as if r were a POST.
func (a *Auth) crossOrigin(r *http.Request) bool {
	probe := r.WithContext(r.Context())
	probe.Method = http.MethodPost
	return a.csrf.Check(probe) != nil
}

// signOut deletes the session from the store (with everywhere, every
// session of its user), clears the session cookie and ends on the
// signed-out page for rd, by way of the provider's logout when that is
// configured and offered. When the store cannot answer, nothing is
// cleared: the answer is 503, and the user can try again.
//
// The provider's logout gets the session's ID token as id_token_hint, which
// some providers (Okta, Ory Hydra) require before they end their own
// session or honour post_logout_redirect_uri. A session without one (kept
// before ID tokens were, or whose token did not fit in the cookie) signs
// out without the hint, and the log says so.
func (a *Auth) signOut(w http.ResponseWriter, r *http.Request, rd string, everywhere bool) {
	end := a.opts.Provider.EndSessionURL()
	if a.opts.SkipProviderSignOut {
		end = ""
	}
	var hint string
	if end != "" {
		hint = a.idTokenHint(r)
	}
	if err := a.deleteSessions(r, everywhere); err != nil {
		a.storeUnavailable(w, r, err)
		return
	}
	http.SetCookie(w, a.cookie(a.cookieName, "", -1))
	done := signedOutPath(rd)
	if end != "" {
		if u, err := url.Parse(end); err == nil {
			q := u.Query()
			q.Set("client_id", a.opts.Provider.ClientID())
			q.Set("post_logout_redirect_uri", a.publicURL.String()+done)
			if hint != "" {
				q.Set("id_token_hint", hint)
			} else {
				a.log.Info("provider sign-out without id_token_hint: the session keeps no ID token", "request_id", requestid.FromContext(r.Context()))
			}
			u.RawQuery = q.Encode()
			redirect(w, u.String())
			return
		}
	}
	redirect(w, done)
}

// idTokenHint returns the ID token of the request's session, or "" when
// it has none (or no session, or the store cannot answer: deleting the
// session then says so).
func (a *Auth) idTokenHint(r *http.Request) string {
	var tok string
	eachCookie(r.Header, a.cookieName, func(v string) bool {
		s, err := a.store.Get(r.Context(), v)
		if err != nil {
			return false
		}
		tok = s.IDToken
		return true
	})
	return tok
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
