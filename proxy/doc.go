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
// The walkthrough:
//
//	p, err := proxy.New(proxy.Options{
//		Upstream:     upstreamURL,                 // where signed-in requests go
//		Identity:     middleware.Identity,         // who the request is from
//		StripCookies: auth.OwnCookie,              // keep the session cookie from the upstream
//	})
//	handler := auth.Wrap(p)
//
// The Transport from NewTransport keeps a large idle pool and bounds every
// phase of an upstream request; upstream failures become a 502 or 504 page
// with the request id, and the cause goes to the log only.
package proxy
