// Package redisstore keeps rezigate's sessions in Redis, so that they can
// be taken back: signing out ends a session on every replica at once,
// "sign out everywhere" ends every session of a user, and a back-channel
// logout ends the sessions of one provider session. Beside the session
// [Store] it offers what the replicas of one deployment share through the
// same Redis: a [TokenCache] of Rezi user tokens, a per-user [Limiter], a
// refresh lock ([Store.LockSession]) with a compare-and-swap update
// ([Store.Update]), and a replay set for logout token IDs
// ([Store.SeenJTI]). The Store offers every optional capability of a
// [sessions.Store]: [sessions.Revoker], [sessions.JTIRecorder],
// [sessions.Updater] and [sessions.Pinger].
//
//	store, err := redisstore.New(ctx, redisstore.Options{
//		Settings: sessions.Settings{ // given once: the middleware reads them from the store
//			Deployment: sessions.DeploymentOf("https://rms.example.com"), // the public URL
//			Secrets:    secrets,
//		},
//		URL:      "rediss://redis.internal:6380/0",
//		Password: os.Getenv("REZIGATE_REDIS_PASSWORD"),
//	})
//	defer store.Close()
//	// Connect instead of New waits, with backoff, until Redis answers.
//	value, err := store.Put(ctx, sessions.Session{UID: uid, Email: email, Expires: time.Now().Add(8 * time.Hour)})
//	s, err := store.Get(ctx, value) // sessions.ErrNotFound, sessions.ErrUnavailable
//
// # The cookie
//
// The cookie carries only a random 256-bit handle, sealed like rezigate's
// cookie-store cookies (AES-256-CTR and HMAC-SHA256 over the cookie name,
// time and value) with keys of its own and of its deployment, so neither
// store opens the other's cookies, nor one deployment another's. It is
// about 150 bytes.
//
// # Local cache
//
// The client is github.com/redis/rueidis, chosen for client-side caching:
// Get reads with RESP3 CLIENT TRACKING, so a session read once is answered
// from local memory with no round trip, and Redis pushes an invalidation
// to every replica that holds it the moment it is deleted or changed. The
// cache is bounded in size (Options.LocalCacheSize) and in time
// (Options.LocalCacheTTL, at most a minute, and never past the key's own
// TTL), so a lost invalidation cannot keep a revoked session alive longer
// than that. When a connection breaks, its cache is dropped with it.
//
// # Failure
//
// The store fails closed and loud. When Redis is unreachable, slow past
// Options.ReadTimeout, or refuses a command, calls return an error
// wrapping sessions.ErrUnavailable, never sessions.ErrNotFound (which
// would sign everyone out) and never a cached answer older than the local
// cache's bound. The client reconnects by itself when Redis is back.
//
// With replicas (Sentinel, or a Cluster's), a revocation (Delete,
// DeleteUser, DeleteSID, SeenJTI) returns only once a replica has it
// (Redis WAIT, bounded by Options.ReplicaAckTimeout), since replication is
// asynchronous and a failover would otherwise bring the session back; when
// no replica acknowledges in time it fails with sessions.ErrUnavailable.
// Against a local primary and replica this costs about 0.2 ms a sign-out
// (about 4 times a sign-out without replicas); a lone Redis is never
// waited for.
//
// Run Redis with maxmemory-policy noeviction: every key has a TTL, so a
// volatile-* or allkeys-* policy would evict live sessions (signing their
// users out) under memory pressure. Without persistence (RDB or AOF) or a
// replica to fail over to, a Redis restart signs everyone out.
//
// # Revocation and sign-in at the same moment
//
// DeleteUser and DeleteSID end every session listed in an index, even one
// being stored by a Put at the same moment on another replica: Put and the
// revocations keep a counter beside each index (in the same Redis Cluster
// slot, by a hash tag) and Put starts over when a revocation ran while it
// stored the session. Once every sign-in and revocation has finished, one
// more revocation leaves no session of the user. A revocation that fails
// half-way (Redis went away) leaves the index whole, so retrying it ends
// the rest.
//
// # At rest
//
// Nothing in Redis can be read or linked to a person without the session
// secrets:
//
//	PREFIX s:<sha256(deployment, handle)>  session record, AES-256-GCM (key name as additional data), TTL = session's
//	PREFIX u:{<hmac(uid)>}                  set of the uid's session keys, TTL = its longest session's
//	PREFIX u:{<hmac(uid)>}:revocations      how many revocations of the uid began, TTL = MaxAge
//	PREFIX d:{<hmac(sid hash)>}             set of the provider session's session keys, likewise
//	PREFIX d:{<hmac(sid hash)>}:revocations likewise
//	PREFIX l:<sha256(deployment, handle)>  refresh lock: a random token, TTL <= MaxLockTTL
//	PREFIX j:<hmac(jti)>                    logout token ID seen, TTL as given (<= MaxAge)
//	PREFIX t:<hmac(email, uid)>             Rezi user token, AES-256-GCM, TTL = its exp - margin (<= 1h)
//	PREFIX r:<hmac(uid)>                    rate-limit counter, TTL = the window
//	PREFIX a:…                              kept by other parts through Store.Client (the ACME certificates), encrypted by them
//
// Every key but the a: ones (certificates outlive sessions) has a TTL no
// longer than MaxAge. Encryption and HMAC keys are
// derived with HKDF-SHA256 from each secret and the Settings.Deployment, one
// key per purpose, so deployments that share secrets, Redis and prefix
// share no cookie, session, index or logout token ID. The first secret
// seals, encrypts and names new entries; all of them open old cookies and
// sessions and find old index entries and logout token IDs (the token
// cache and the limiter's counts start afresh), so secrets rotate like the
// cookie store's: put the new one first, keep the old one for MaxAge. A
// session handle is hashed without a key, with the deployment: it is
// random, so the hash cannot be reversed, and the name stays the same
// across a rotation.
package redisstore
