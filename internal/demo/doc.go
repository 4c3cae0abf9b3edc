// Package demo holds the stand-ins rezigate talks to when no real ones are
// at hand: an OpenID Connect provider, the Rezi user-token API and an RMS.
// The -demo mode and the tests of every other package use this one
// implementation, so what the tests prove is what a newcomer sees.
//
// Each stand-in is a plain http.Handler that the caller serves. None of them
// is fit for production: they keep everything in memory and accept the
// accounts and keys they are given.
//
// # OpenID provider
//
// Provider implements the authorization code flow with mandatory PKCE
// (S256), signs RS256 ID tokens with go-jose and serves discovery, JWKS,
// userinfo and an RP-initiated logout endpoint, as go-oidc expects them.
// It keeps no login session: every authorization request shows the login
// form. Codes are single use, expire after 60 seconds and are bound to the
// client, the redirect URI and the PKCE challenge. SetFault makes it issue
// tokens a relying party must refuse (wrong nonce, audience, issuer or key,
// expired, no email) or fail the token request, and moves the email into
// userinfo only, where it can name another subject or be unverified, as
// some real providers do; RotateKey replaces its key.
//
// The issuer must be known before the provider is built, and an
// httptest.Server's URL is set only when it starts; take the address from
// its listener:
//
//	srv := httptest.NewUnstartedServer(nil)
//	defer srv.Close()
//	p, err := demo.NewProvider(demo.ProviderOptions{
//		Issuer:       "http://" + srv.Listener.Addr().String(),
//		ClientID:     "rezigate",
//		ClientSecret: "client-secret",
//		RedirectURIs: []string{"http://127.0.0.1:4180/oauth2/callback"},
//		Users:        []demo.User{{Email: "alice@example.com", Password: "pw", EmailVerified: true}},
//	})
//	if err != nil { ... }
//	srv.Config.Handler = p
//	srv.Start()
//
// # Rezi stand-in
//
// Rezi answers POST {prefix}/user/token as the vendor documents it: it
// checks the method, the JSON content type, the Bearer key and the body, and
// returns a JWT-shaped token with alg "none" whose payload carries exp. The
// first call for a new uid can be delayed like the vendor's user creation,
// and SetFault reproduces every failure a client must survive: error
// statuses, error bodies, a missing token, truncated JSON, a hang and a
// reset connection.
//
// # RMS
//
// RMS is both the upstream application (its home page shows the identity
// headers it received, with a stylesheet and a script to prove that assets
// load through the proxy) and the RMS login page, which records the token
// and options of each hand-off and shows whom the token names (the
// stand-in's tokens are unsigned, so that is only what the token claims).
//
// # Start
//
// Start runs all three on 127.0.0.1 with fresh random secrets, for
// "rezigate -demo" and end-to-end tests.
package demo
