// Package oidc signs users in with an OpenID Connect provider.
//
// It puts github.com/coreos/go-oidc (imported as gooidc) and
// golang.org/x/oauth2 behind one type, [Provider], with the only flow a
// back-end proxy should use: the authorization-code flow with a random
// state, a random nonce and PKCE (S256), all mandatory.
//
// A Provider is built with [New], which loads the discovery document. When
// the provider cannot be reached at start, New still returns a Provider
// that keeps retrying discovery in the background with capped backoff;
// until it succeeds, [Provider.Ready] reports false and the sign-in methods
// return [ErrNotReady], so a proxy can start before its identity provider
// and answer 503 instead of crashing.
//
// The walkthrough of one sign-in:
//
//	state, nonce, verifier := oidc.NewState(), oidc.NewState(), oauth2.GenerateVerifier()
//	url, err := p.AuthCodeURL(state, nonce, verifier) // redirect the browser there
//	// ... the provider redirects back with ?code=…&state=…; compare state first ...
//	id, err := p.Exchange(ctx, code, verifier, nonce) // verified identity
//
// Exchange verifies the ID token's signature, issuer, audience and expiry
// through go-oidc, and then the nonce, which go-oidc leaves to its caller.
// Some providers put the email only in the userinfo response; when the ID
// token has none, Exchange asks the userinfo endpoint and uses its answer
// only if it names the same subject ([ErrUserInfoSubject]). The email must
// be one plain address such as alice@example.com ([ErrBadEmail]): a claim
// like "x@evil.com@example.com" or "Name <x@evil.com>" is refused rather
// than read for a domain.
//
// Plain http is accepted for the issuer only on loopback: 127.0.0.0/8,
// ::1 and the exact name localhost, never a name that merely starts with
// "127." or "localhost".
package oidc
