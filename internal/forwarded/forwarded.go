// Package forwarded reads the request an edge proxy asks forward-auth
// about (nginx auth_request, Traefik forwardAuth, Caddy forward_auth)
// from the headers it names it in, and only from a trusted peer.
package forwarded

import (
	"net/http"
	"net/netip"
	"slices"
)

// The headers the original request is read from: Traefik and Caddy send
// the X-Forwarded pair, nginx configurations the X-Original pair.
const (
	forwardedMethod = "X-Forwarded-Method"
	forwardedURI    = "X-Forwarded-Uri"
	originalMethod  = "X-Original-Method"
	originalURI     = "X-Original-Uri"
)

// Trusted reports whether remoteAddr (http.Request.RemoteAddr, host and
// port) is an address in one of trusted. Nil trusts no peer.
func Trusted(remoteAddr string, trusted []netip.Prefix) bool {
	if len(trusted) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Original returns the method and path of the request an edge proxy asks
// about, when h, the headers of a request from a Trusted peer, names it in
// exactly one X-Forwarded-Uri (with X-Forwarded-Method) or X-Original-URI
// (with X-Original-Method) header. The URI must be a path, optionally with
// a query; ok is false otherwise. A missing method is taken as GET unless
// methodRequired. Callers MUST check Trusted first: any client can send
// these headers.
func Original(h http.Header, methodRequired bool) (method, rawPath string, ok bool) {
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
	} else if methodRequired {
		return "", "", false
	}
	return method, uris[0], true
}

// agree reports whether two header values name the same thing: equal, or
// one of them absent.
func agree(a, b []string) bool {
	return len(a) == 0 || len(b) == 0 || slices.Equal(a, b)
}
