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
//	state, nonce, verifier := oidc.NewState(), oidc.NewNonce(), oauth2.GenerateVerifier()
//	url, err := p.AuthCodeURL(state, nonce, verifier) // redirect the browser there
//	// ... the provider redirects back with ?code=…&state=…; compare state first ...
//	id, err := p.Exchange(ctx, code, verifier, nonce) // verified identity
//
// Exchange verifies the ID token's signature, issuer, audience and expiry
// through go-oidc, and then the nonce, which go-oidc leaves to its caller.
package oidc
