package middleware

import (
	"net/http"
	"net/netip"
	"slices"

	"github.com/rezigate/rezigate/assertion"
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

// The headers forward-auth reads the original request from, and only
// from a peer in Options.TrustedProxies: Traefik and Caddy send the
// X-Forwarded pair, nginx configurations the X-Original pair.
const (
	forwardedMethod = "X-Forwarded-Method"
	forwardedURI    = "X-Forwarded-Uri"
	originalMethod  = "X-Original-Method"
	originalURI     = "X-Original-Uri"
)

// Forward-auth answer headers for the edge proxy to copy upstream.
const (
	authEmailHeader  = "X-Auth-Request-Email"
	authUserHeader   = "X-Auth-Request-User"
	authGroupsHeader = "X-Auth-Request-Groups"
)

// trustedPeer reports whether the request came from an address in
// Options.TrustedProxies.
func (a *Auth) trustedPeer(r *http.Request) bool {
	if len(a.access.trusted) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range a.access.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// originalRequest returns the method and path of the request an edge
// proxy asks forward-auth about, when a trusted proxy names it in exactly
// one X-Forwarded-Uri (with X-Forwarded-Method) or X-Original-URI (with
// X-Original-Method) header. The URI must be a path, optionally with a
// query; ok is false otherwise, and from any other peer. A missing method
// is taken as GET only when no route lists methods.
func (a *Auth) originalRequest(r *http.Request) (method, rawPath string, ok bool) {
	if !a.trustedPeer(r) {
		return "", "", false
	}
	h := r.Header
	// An edge proxy sets one spelling and may pass the client's copy of the
	// other through (nginx forwards client headers to auth_request): when
	// both are present they must agree, or a client could name a request
	// it is not making.
	if !agree(h[forwardedURI], h[originalURI]) || !agree(h[forwardedMethod], h[originalMethod]) {
		return "", "", false
	}
	uriKey, methodKey := forwardedURI, forwardedMethod
	if _, ok := h[uriKey]; !ok {
		uriKey, methodKey = originalURI, originalMethod
	}
	uris, methods := h[uriKey], h[methodKey]
	if len(uris) != 1 || len(uris[0]) == 0 || uris[0][0] != '/' || len(methods) > 1 {
		return "", "", false
	}
	method = http.MethodGet
	if len(methods) == 1 {
		method = methods[0]
	} else if a.access.methodsMatter {
		return "", "", false
	}
	return method, uris[0], true
}

// agree reports whether two header values name the same thing: equal, or
// one of them absent.
func agree(a, b []string) bool {
	return len(a) == 0 || len(b) == 0 || slices.Equal(a, b)
}

// forwardAuthAllowed applies the routes to the request an edge proxy asks
// about. With routes, an unknown or untrusted original request is refused:
// forward-auth never answers 202 for a request it could not judge. The
// answers are 403 only, never 400, since nginx's auth_request reads any
// other status as its own failure.
func (a *Auth) forwardAuthAllowed(r *http.Request, u *User) bool {
	if !a.access.strict {
		return true
	}
	method, raw, ok := a.originalRequest(r)
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
