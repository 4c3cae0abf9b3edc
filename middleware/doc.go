// Package middleware protects net/http handlers with single sign-on and
// hands signed-in users over to the Rezi RMS.
//
// Build the collaborators first, then the middleware, then wrap:
//
//	provider, err := oidc.New(ctx, oidc.Options{IssuerURL: …, ClientID: …, ClientSecret: …, RedirectURL: publicURL + "/oauth2/callback"})
//	client, err := rezi.New(rezi.Options{PrivateKey: os.Getenv("REZIGATE_REZI_PRIVATE_KEY")})
//	auth, err := middleware.New(middleware.Options{Provider: provider, PublicURL: publicURL, …,
//		Handoff: handoff.Options{Rezi: client, LoginURL: "https://rms.example.com/login/"}})
//	http.ListenAndServe(addr, auth.Wrap(app))
//
// New checks its Options with [Options.Validate], which reports every bad
// field at once; zero fields take the Default constants.
//
// The wrapped handler serves these paths itself:
//
//	/oauth2/start       begin sign-in (state, nonce and PKCE; ?rd= a local path to return to)
//	/oauth2/callback    finish sign-in, set the session cookie
//	/oauth2/sign_out    clear the session (and sign out at the provider when configured);
//	                    a request from another site gets a Sign out button instead;
//	                    with a server-side Store the session is deleted everywhere, and a
//	                    same-origin POST with everywhere=true deletes every session of the user
//	/oauth2/signed_out  the page a sign-out ends on
//	/oauth2/auth        forward-auth check for nginx, Traefik and Caddy: 202, 401, or 403
//	                    when the policy refuses the original request
//	/oauth2/userinfo    the signed-in user as JSON
//	/oauth2/backchannel_logout  OpenID Connect Back-Channel Logout (POST logout_token;
//	                    package logout, at logout.BackchannelPath), served only with a
//	                    server-side Store that records token ids
//	/oauth2/frontchannel_logout  OpenID Connect Front-Channel Logout (GET ?iss=…&sid=…,
//	                    loaded by the provider in an iframe; package logout, at
//	                    logout.FrontchannelPath), served only with a server-side
//	                    Store (a sessions.Revoker)
//	/rezi               the hand-off (package handoff, mounted at handoff.Path behind
//	                    the session and the policy): mint a Rezi user token and
//	                    redirect into the RMS; 404 without Options.Handoff.Rezi
//	/healthz            liveness: 200 while the process runs (with Options.ServeHealth)
//	/readyz             readiness: 200 once the provider's discovery document is
//	                    loaded and the Store answers, 503 before (with Options.ServeHealth)
//	/.well-known/rezigate/jwks.json  the identity assertion's public keys (assertion.JWKSPath),
//	                    no session needed (with Options.Assertion)
//
// # Sessions
//
// Options.Store keeps the sessions. Nil is the cookie store, built from
// Options.Session: the whole session sealed in the cookie, nothing on the
// server, nothing to revoke. A redisstore.Store keeps them in Redis (the
// cookie holds only a random handle), so sign-out, "sign out everywhere",
// back-channel logout and `rezigate revoke` end sessions on every replica
// at once, and Options.RefreshInterval re-checks each session with the
// provider's token endpoint (package refresh; the middleware judges the
// provider's answer by its sign-in rules, as at the callback). When that
// store cannot answer, requests that need a session get 503 and keep
// their cookie, /readyz says so, and the middleware recovers by itself
// when the store is back.
//
// The session settings (sessions.Settings) are given once: to a Store
// when it is built, and the middleware reads them from it, leaving
// Options.Session empty:
//
//	store, err := redisstore.New(ctx, redisstore.Options{URL: os.Getenv("REZIGATE_REDIS_URL"),
//		Settings: sessions.Settings{Deployment: sessions.DeploymentOf(publicURL), Secrets: secrets}})
//	auth, err := middleware.New(middleware.Options{PublicURL: publicURL, …, Store: store, RefreshInterval: 15 * time.Minute})
//
// Every other request reaches app only with a valid session; inside app,
// [UserFromContext] returns the user. Without a session, a browser's
// top-level navigation is sent to sign in and anything else gets 401.
//
// New does no network I/O, and a missing session is never an error: only
// a failing identity provider or Rezi API produces an error page, with a
// status, a fixed message and the request id that also appears in the log.
package middleware
