// Package proxy forwards signed-in requests to the upstream application
// with the user's identity in request headers.
//
// It is an [httputil.ReverseProxy] configured with Rewrite only. Director
// is not used: a client can make a proxy drop headers a Director adds by
// naming them in Connection, and Director passes client-sent X-Forwarded-*
// headers through. With Rewrite, hop-by-hop and X-Forwarded-* headers are
// removed before our code runs, and the identity headers are set last,
// after every client-sent spelling of them has been deleted.
//
// Headers a client never sends upstream, in any spelling (any case, "_"
// for "-", since CGI-style servers read both as one): every header the
// proxy sets (X-Forwarded-Email, X-Forwarded-User or the configured
// names, X-Forwarded-Groups, the assertion header, X-Forwarded-For, -Host
// and -Proto, Forwarded), every X-Auth-Request-* header (what an edge
// proxy copies from the forward-auth answer), HTTP2-Settings, the headers
// that make some upstreams run another path or method than the one the
// policy judged (X-Original-URL, X-Rewrite-URL, X-Override-URL,
// X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override), the identity
// headers upstream apps commonly trust from a proxy (Remote-User,
// X-Remote-User, X-Webauth-User, X-Forwarded-Preferred-Username), and
// Options.StripHeaders, which adds to this list.
//
// X-Forwarded-Host and X-Forwarded-Proto come from Options.PublicURL,
// never from the client's Host header; without a PublicURL no
// X-Forwarded-Host is sent. X-Forwarded-For is the client's address
// alone. The upstream request carries the upstream's own Host.
//
// Upgrades: only WebSocket ("Upgrade: websocket", any case) is passed on.
// Any other Upgrade, h2c above all, is removed together with Connection
// and HTTP2-Settings, and the request is proxied as a plain one; an h2c
// tunnel would carry later requests past the header stripping above.
//
// The walkthrough:
//
//	p, err := proxy.New(proxy.Options{
//		Upstream:  upstreamURL, // where signed-in requests go
//		PublicURL: publicURL,   // the site as browsers see it
//		Identity: func(r *http.Request) (email, uid string, ok bool) {
//			u, ok := middleware.UserFromContext(r.Context()) // who the request is from
//			return u.Email, u.UID, ok
//		},
//		StripCookies: auth.OwnCookie, // keep the session cookie from the upstream
//	})
//	handler := auth.Wrap(p)
//
// New refuses an invalid Options with [Options.Validate]'s error, which
// names every bad field at once.
//
// The Transport from NewTransport keeps a large idle pool and bounds every
// phase of an upstream request; upstream failures become a 502 or 504 page
// with the request id, and the cause goes to the log only.
package proxy
