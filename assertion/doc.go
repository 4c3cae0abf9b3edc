// Package assertion is the signed identity rezigate adds to every proxied
// request, and the verifier and net/http middleware that an upstream
// service uses to check it.
//
// An assertion is a short-lived JWT: a compact JWS signed with ECDSA P-256
// (alg ES256, typ JWT, kid the RFC 7638 thumbprint of the key) whose
// claims are iss (rezigate's public URL), aud, sub (the user's stable
// uid), email, groups (always an array), iat and exp. Headers such as
// X-Forwarded-Email say the same, but only a network that nobody else can
// reach makes them trustworthy; an assertion is checked by the upstream
// itself, so a header a client forged, or claims nobody signed, are
// refused.
//
// # What it proves
//
// A valid assertion proves that rezigate signed these claims for this
// audience within the assertion's lifetime: someone holding a valid
// session of that user obtained it in that time. It is a bearer token
// and is bound to no request: it names no path, method or connection,
// and whoever holds it can present it with any request until exp. It
// therefore does not prove that the request carrying it passed rezigate,
// nor that rezigate's policy judged that path and method. Keep the
// upstream reachable only through rezigate (or its edge proxy), and let
// an upstream that decides by path read the groups claim and apply its
// own rule. With forward-auth the assertion is in the 202 answer of
// /oauth2/auth, so whoever can reach that endpoint can obtain one by
// naming a path they may enter: its trusted proxies must be the edge
// alone, and only the edge's subrequests may reach it.
//
// # Signer (rezigate's side)
//
// NewSigner takes the private keys (ParsePrivateKeysPEM reads them; none
// means a fresh key of its own, right for one replica only), the issuer,
// the audience and the lifetime (DefaultLifetime, at most MaxLifetime). Signer.Assertion returns the token for one identity and
// reuses it until a minute before it expires, so the proxy does not sign
// on every request. Signer.JWKSHandler serves the public keys at
// JWKSPath. To rotate keys, list the new key first and keep the old one
// until every assertion it signed has expired; both verify meanwhile.
//
// # Verifying in Go
//
// An upstream written in Go imports this package, builds one Verifier at
// start and wraps its handler:
//
//	v, err := assertion.NewVerifier(ctx, assertion.VerifierOptions{
//		JWKSURL:  "https://gate.example.com" + assertion.JWKSPath,
//		Issuer:   "https://gate.example.com",
//		Audience: "rms",
//	})
//	if err != nil {
//		return err // the JWK Set could not be fetched
//	}
//	http.Handle("/", assertion.Require(v, assertion.DefaultHeader)(app))
//
// and reads the identity in app with FromContext(r.Context()). Requests
// without a valid assertion get 401 before app sees them. Verifier.Verify
// checks a single token, for callers that are not net/http handlers.
//
// # Verifying with any JWT library
//
// Fetch the JWK Set from <public_url>/.well-known/rezigate/jwks.json (refetch on an unknown kid); accept alg ES256 only.
// Require iss == public_url exactly, aud containing your audience, exp in the future and iat not in the future (±30 s skew).
package assertion
