package middleware

import (
	"net/http"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/internal/forwarded"
	"github.com/rezigate/rezigate/internal/groupheader"
	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/policy"
)

// serveForwardAuth answers an edge proxy's subrequest (nginx auth_request,
// Traefik forwardAuth, Caddy forward_auth). It never redirects: the edge
// proxy decides what a 401 means.
func (a *Auth) serveForwardAuth(w http.ResponseWriter, r *http.Request) *User {
	w.Header().Set("Cache-Control", "no-store")
	u, ok, err := a.sessionUser(r)
	if err != nil {
		a.log.Error("session store unavailable", "request_id", requestid.FromContext(r.Context()), "path", r.URL.Path, "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		return nil
	}
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return nil
	}
	if !a.forwardAuthAllowed(r, u) {
		w.WriteHeader(http.StatusForbidden)
		return u
	}
	a.setAuthHeaders(w, r, u)
	w.WriteHeader(http.StatusAccepted)
	return u
}

// Forward-auth answer headers for the edge proxy to copy upstream.
const (
	authEmailHeader  = "X-Auth-Request-Email"
	authUserHeader   = "X-Auth-Request-User"
	authGroupsHeader = "X-Auth-Request-Groups"
)

// forwardAuthAllowed applies the routes to the request an edge proxy asks
// about. With routes, an unknown or untrusted original request is refused:
// forward-auth never answers 202 for a request it could not judge. The
// answers are 403 only, never 400, since nginx's auth_request reads any
// other status as its own failure.
func (a *Auth) forwardAuthAllowed(r *http.Request, u *User) bool {
	if !a.access.strict {
		return true
	}
	var method, raw string
	ok := forwarded.Trusted(r.RemoteAddr, a.access.trusted)
	if ok {
		// A missing method is taken as GET only when no route lists methods.
		method, raw, ok = forwarded.Original(r.Header, a.access.methodsMatter)
	}
	if !ok {
		a.log.Info("forward-auth refused: no original request from a trusted proxy", "request_id", requestid.FromContext(r.Context()), "uid", u.UID)
		return false
	}
	path, err := a.access.policy.Normalize(raw)
	if err != nil {
		a.log.Info("forward-auth refused: request path refused", "request_id", requestid.FromContext(r.Context()), "uid", u.UID, "err", err)
		return false
	}
	res := a.access.policy.Decide(method, path, policy.User{Email: u.Email, Groups: u.Groups})
	if !res.Allowed {
		a.logDenied(r, method, path, u, res)
	}
	return res.Allowed
}

// setAuthHeaders puts the identity on a 202 forward-auth answer.
func (a *Auth) setAuthHeaders(w http.ResponseWriter, r *http.Request, u *User) {
	h := w.Header()
	h.Set(authEmailHeader, u.Email)
	h.Set(authUserHeader, u.UID)
	if v := groupheader.Value(u.Groups); v != "" {
		h.Set(authGroupsHeader, v)
	}
	if a.access.signer == nil {
		return
	}
	tok, err := a.access.signer.Assertion(assertion.Claims{Subject: u.UID, Email: u.Email, Groups: u.Groups})
	if err != nil {
		a.log.Error("forward-auth: identity assertion not signed", "request_id", requestid.FromContext(r.Context()), "err", err)
		return
	}
	h[a.access.header] = []string{tok}
}
