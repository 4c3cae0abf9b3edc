// Package sessions keeps rezigate's signed-in sessions behind one
// interface, [Store], so that a session can be taken back before it
// expires when the deployment needs that.
//
// Two stores implement it:
//
//   - [CookieStore] (the default) seals the whole session into the cookie.
//     Nothing is kept on the server, any replica reads any session, and a
//     session cannot be revoked: Delete clears nothing but the browser's
//     copy (which the caller does).
//   - [github.com/rezigate/rezigate/sessions/redisstore] keeps the session
//     in Redis and puts only a random handle, sealed, in the cookie.
//     Signing out deletes the session on every replica at once, "sign out
//     everywhere" deletes every session of a user, and a back-channel
//     logout ends the sessions of one provider session. It lives in its
//     own package so that importing this one brings in no Redis client.
//
// # Settings, given once
//
// A store is built with the session [Settings]: the deployment, the
// secrets, the cookie's name, the sessions' max age and whether cookies
// are Secure. The middleware reads them back from the store
// ([Store.Settings]) and takes them from nowhere else, so the cookie it
// sets and the sessions the store keeps cannot disagree.
//
// Every session belongs to one deployment: Settings.Deployment is its
// public URL's origin ([DeploymentOf]), bound into the cookie's seal and
// the store's keys, so that two deployments sharing session secrets (and
// Redis) do not accept each other's cookies.
//
// # What a store may offer
//
// Beyond [Store], a store may implement any of these interfaces; the
// middleware looks for them once, when it is built, and each says what
// it does without:
//
//   - [Revoker]: delete every session of a user, or of a provider
//     session (sign out everywhere, back-channel logout);
//   - [JTIRecorder]: remember back-channel logout token ids, against
//     replays;
//   - [Updater]: change a session under a lock, to refresh it with the
//     provider;
//   - [Pinger]: answer a readiness probe.
//
// Callers branch on three errors. [ErrNotFound] means "not signed in".
// [ErrUnavailable] means the store could not answer: answer 503 and keep
// the cookie, because signing the user out would be wrong. Anything else
// is a bug or a bad argument.
//
//	store, err := sessions.NewCookieStore(sessions.CookieOptions{Settings: sessions.Settings{
//		Deployment: sessions.DeploymentOf("https://rms.example.com"), // the public URL
//		Secrets:    secrets}}) // defaults: cookie __Host-_rezigate, 8 h
//	value, err := store.Put(ctx, sessions.Session{UID: uid, Email: email,
//		Expires: time.Now().Add(8 * time.Hour)})
//	// … later, from the request's cookie:
//	s, err := store.Get(ctx, value)
//	switch {
//	case errors.Is(err, sessions.ErrNotFound):    // sign in
//	case errors.Is(err, sessions.ErrUnavailable): // 503, try again
//	}
package sessions
