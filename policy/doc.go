// Package policy decides who may enter where: rules in, a decision out.
// It knows nothing of HTTP servers; a caller gives it a method, a path and
// a user, and gets back a Result saying whether to let the user in and
// which rule said so.
//
// # Walkthrough
//
// Build one Policy at start-up (or on each configuration change, and swap
// it in atomically):
//
//	p, err := policy.New(policy.Options{
//		AllowGroups: []string{"staff"},
//		Default:     policy.Deny,
//		Routes: []policy.Route{
//			{Path: "/admin/", Groups: []string{"rms-admins"}},
//			{Path: "/rezi", Groups: []string{"rms-users"}},
//		},
//	})
//
// New validates the options (Options.Validate lists every problem) and
// prepares the matchers. At sign-in, refuse users outside AllowGroups:
//
//	if !p.SignInAllowed(groups) { /* 403 */ }
//
// Then, per request, normalise the path first and judge the result:
//
//	path, err := p.Normalize(r.URL.EscapedPath())
//	if errors.Is(err, policy.ErrBadPath) { /* 400 */ }
//	res := p.Decide(r.Method, path, policy.User{Email: email, Groups: groups})
//	if !res.Allowed { /* 403; log res.Rule, res.Line, res.Reason */ }
//	// forward the request with path as its path
//
// # Judged as the upstream reads it
//
// A rule protects nothing if the upstream serves a different path from the
// one that was judged. Normalize therefore resolves what upstreams resolve
// (escaped letters, repeated slashes, dot segments, "%2e" included) and
// refuses what they disagree about (encoded slashes, backslashes, NUL,
// invalid UTF-8, climbing above the root), and the caller forwards the
// normalised path, not the original one. The query string and fragment are
// never matched. Decide refuses a path that is not in normal form, so a
// caller that forgets Normalize fails closed.
//
// Servlet containers (Tomcat, Jetty) read a path differently from nginx,
// Apache httpd, Go and Node: they cut each segment at ";" (a path
// parameter), so "/admin;x/" is their "/admin/" and "/x/..;/admin/" climbs
// back into "/admin/". With routes, Normalize refuses a path whose
// servlet reading could be decided differently: a parameter that leaves a
// dot segment ("..;", ".;", also written "%2e%2e;" or "..%3B"), or an
// empty segment before the last, anywhere in the path; and any path whose
// two readings are not covered by exactly the same routes ("/admin;/"
// under a route "/admin/"). A parameter that changes no route, such as
// "/public/file;v=1" or "/app/;jsessionid=…", passes. With
// Options.CaseInsensitivePaths (Windows servers), a segment ending in "."
// or a space ("/ADMIN./", "/admin%20/") is refused too.
//
// # Matching
//
// Routes are tried in order and the first match wins. A route's Path is a
// prefix on segment boundaries ("/admin" covers "/admin/x", not
// "/administrator"); a Path ending in "/" also covers itself without it.
// A route with Methods matches only those methods; requests with other
// methods fall through to later routes and Default. A route that lists
// GET also matches HEAD, which upstreams answer with their GET handler
// (RFC 9110). Validate refuses a
// route that an earlier one makes unreachable, and one that lets nobody
// in.
package policy
