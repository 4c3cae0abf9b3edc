package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/rezigate/rezigate/sessions"
	"github.com/rezigate/rezigate/sessions/internal/storecheck"
)

// Store keeps sessions in Redis. The cookie carries only a sealed random
// handle; the session lives under a key named by the handle's hash, with
// the session's expiry as its TTL. It is safe for concurrent use; Close
// it when done.
type Store struct {
	client   rueidis.Client
	keys     *keys
	settings sessions.Settings // with defaults
	// sessionLabel and lockLabel name a handle's session and lock keys:
	// a fixed label, a NUL and the deployment.
	sessionLabel, lockLabel string
	name                    string // the cookie's, as set
	prefix                  string
	maxAge                  time.Duration
	cacheTTL                time.Duration // <= 0: no local cache
	recent                  *recentWrites
	opened                  *openedCookies
	timeout                 time.Duration
	ackTimeout              time.Duration // <= 0: revocations never wait for a replica
	replicas                replicas
	now                     func() time.Time
}

// Store offers every optional capability of a sessions.Store.
var (
	_ sessions.Store       = (*Store)(nil)
	_ sessions.Revoker     = (*Store)(nil)
	_ sessions.JTIRecorder = (*Store)(nil)
	_ sessions.Updater     = (*Store)(nil)
	_ sessions.Pinger      = (*Store)(nil)
)

// Key kinds: the letter after the prefix says what a key holds.
const (
	kindSession = "s:" // the encrypted session record
	kindLock    = "l:" // the refresh lock of one session
	kindUID     = "u:" // the set of session keys of one uid
	kindSID     = "d:" // the set of session keys of one provider session
	kindJTI     = "j:" // a logout token ID already used
	kindToken   = "t:" // a cached, encrypted Rezi user token
	kindRate    = "r:" // a rate-limit window of one uid
	// KindShared starts the keys of the parts that keep data of their
	// own beside the sessions through Client (the ACME certificate
	// storage): Prefix() + KindShared + a name of the part's own.
	KindShared = "a:"
)

// New checks opts with Validate, connects to Redis, and checks that it
// answers within opts.ReadTimeout (or ctx, if that ends sooner). Redis
// must speak RESP3 (Redis 6 or newer), which client-side caching needs.
func New(ctx context.Context, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	co, err := rueidis.ParseURL(opts.URL)
	if err != nil { // Validate parsed it already; never echo the URL
		return nil, errors.New("redisstore: URL is not a valid Redis URL")
	}
	if opts.Password != "" {
		co.Password = opts.Password
	}
	co.Dialer.Timeout = opts.DialTimeout
	co.Sentinel.Dialer.Timeout = opts.DialTimeout
	co.Sentinel.Username, co.Sentinel.Password = opts.SentinelUsername, opts.SentinelPassword
	if co.TLSConfig != nil && co.Sentinel.MasterSet != "" { // rediss://: the Sentinels too
		co.Sentinel.TLSConfig = co.TLSConfig.Clone()
	}
	if co.DialCtxFn == nil { // not unix://
		co.DialCtxFn = dialTLS
	}
	co.ConnWriteTimeout = opts.ReadTimeout
	co.CacheSizeEachConn = opts.LocalCacheSize
	co.DisableCache = false
	co.AlwaysRESP2 = false
	if co.ClientName == "" {
		co.ClientName = "rezigate"
	}
	st := opts.Settings
	k, err := deriveKeys(st.Secrets, st.Deployment, int(st.MaxAge/time.Second))
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	client, err := rueidis.NewClient(co)
	if err != nil {
		return nil, connectError(ctx, err, &co)
	}
	s := &Store{
		client:       client,
		keys:         k,
		settings:     st,
		sessionLabel: "rezigate session v2\x00" + st.Deployment,
		lockLabel:    "rezigate lock v2\x00" + st.Deployment,
		name:         st.SetCookieName(),
		prefix:       opts.Prefix,
		maxAge:       st.MaxAge,
		cacheTTL:     opts.LocalCacheTTL,
		recent:       newRecentWrites(opts.LocalCacheTTL),
		opened:       newOpenedCookies(),
		timeout:      opts.ReadTimeout,
		ackTimeout:   opts.ReplicaAckTimeout,
		now:          time.Now,
	}
	pctx, cancel := s.op(ctx)
	defer cancel()
	err = s.ping(pctx)
	if err == nil {
		err = checkRole(pctx, client)
	}
	if err != nil {
		client.Close()
		return nil, connectError(ctx, err, &co)
	}
	if s.ackTimeout > 0 {
		s.replicated(pctx) // learnt now, so that the first revocation need not ask
	}
	return s, nil
}

// connectError is New's error when connecting failed with err: one
// wrapping ErrMisconfigured when the configuration cannot work (a plain
// URL at a TLS-only server among them, which only a probe tells), else
// err wrapped.
func connectError(ctx context.Context, err error, co *rueidis.ClientOption) error {
	if addr := resetAddr(err, co); addr != "" && speaksTLS(ctx, addr, co.Dialer.Timeout) {
		err = &wrongTransportError{addr: addr, tls: true, err: err}
	}
	if merr := misconfigured(err, co); merr != nil {
		return merr
	}
	return fmt.Errorf("redisstore: connect: %w", err)
}

// Close closes the connections to Redis and stops the client's
// goroutines. Calls after Close fail with sessions.ErrUnavailable.
func (s *Store) Close() { s.client.Close() }

// Client returns the store's connection to Redis, for a part of the
// deployment that keeps data of its own in the same Redis (the ACME
// certificate storage, acme.RedisStorage). Such a part writes only under
// Prefix() + KindShared, encrypts what it stores with keys of its own,
// and reads without the local cache (Do, not DoCache). Close closes it.
func (s *Store) Client() rueidis.Client { return s.client }

// Prefix returns Options.Prefix, the default filled in.
func (s *Store) Prefix() string { return s.prefix }

// Settings returns Options.Settings, defaults filled in.
func (s *Store) Settings() sessions.Settings { return s.settings.WithDefaults() }

// String names the store without its secrets.
func (s *Store) String() string {
	return fmt.Sprintf("redisstore.Store{Deployment:%q Name:%q Prefix:%q}", s.settings.Deployment, s.name, s.prefix)
}

// LogValue implements slog.LogValuer without the secrets.
func (s *Store) LogValue() slog.Value {
	return slog.GroupValue(slog.String("store", "redis"), slog.String("deployment", s.settings.Deployment), slog.String("name", s.name), slog.String("prefix", s.prefix))
}

// op bounds one store call by the read timeout.
func (s *Store) op(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= s.timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

// unavailable wraps a Redis failure; what was being done goes first.
func unavailable(doing string, err error) error {
	return fmt.Errorf("redisstore: %s: %w: %w", doing, sessions.ErrUnavailable, err)
}

// sessionKey is the key of the session with handle h.
func (s *Store) sessionKey(h *handle) string {
	return s.prefix + kindSession + handleName(s.sessionLabel, h)
}

// isSessionKey reports whether m, read from an index set, is a session key
// of this store; anything else is ignored rather than deleted.
func (s *Store) isSessionKey(m string) bool {
	rest, ok := strings.CutPrefix(m, s.prefix+kindSession)
	return ok && len(rest) == 64 && strings.Trim(rest, "0123456789abcdef") == ""
}

// An index (the sessions of one uid, or of one provider session) is two
// keys sharing a hash tag, hence a Cluster slot: the set of session keys,
// and a revocation counter that every DeleteUser or DeleteSID of the
// index increments after reading the set and before deleting what it
// lists. Put reads the counter in the same step as it adds the session to
// the set, stores the session, then checks in one step that the session
// is still in the set and that the counter has not moved. If it has, a
// revocation may have read the set with the session in it and deleted the
// session before it was stored (or be about to remove it from the set),
// so Put deletes what it stored and starts over with a new handle, as if
// it had begun after that revocation. If it has not, any revocation that
// saw the session increments the counter only after the check, and so
// deletes the session after it was stored. Either way, once every Put and
// revocation has finished, every stored session is in its index, and a
// revocation that fails half-way leaves the index whole for the next.

// indexAdd adds ARGV[1] to the set KEYS[1], makes the set live at least
// ARGV[2] milliseconds (never shortening it: a set outlives every session
// in it, and no longer than the longest one), and returns the revocation
// counter KEYS[2] (false when there is none).
var indexAdd = rueidis.NewLuaScriptRetryable(`
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return redis.call('GET', KEYS[2])`)

// indexCheck returns 1 when ARGV[1] is still in the set KEYS[1] and the
// revocation counter KEYS[2] still reads ARGV[2] ("" for none), else 0.
var indexCheck = rueidis.NewLuaScriptReadOnly(`
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 0 end
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[2] then return 0 end
return 1`)

// indexRevoke returns the members of the set KEYS[1] and then increments
// the revocation counter KEYS[2], which lives ARGV[1] milliseconds.
var indexRevoke = rueidis.NewLuaScriptRetryable(`
local m = redis.call('SMEMBERS', KEYS[1])
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return m`)

// revocationSuffix names the revocation counter of an index: the set's
// key and this suffix, so both share the set's hash tag.
const revocationSuffix = ":revocations"

// indexKey is the key of the index set of kind (kindUID or kindSID) named
// name. The name is a hash tag, so that the set and its revocation counter
// live in one Cluster slot.
func (s *Store) indexKey(kind, name string) string {
	return s.prefix + kind + "{" + name + "}"
}

// putAttempts bounds how often Put starts again with a new handle when a
// revocation of the same user or provider session ran while it stored
// the session.
const putAttempts = 3

// Put stores sess under a new random handle and returns the sealed handle
// as the cookie value (about 150 bytes). sess.UID must not be empty and
// sess.Expires must lie in the future, at most MaxAge away; it becomes the
// TTL of every key written.
//
// The session is added to its uid's index (and its sid's, when SIDHash is
// set) so that DeleteUser and DeleteSID find it, even when they run at the
// same moment (see indexAdd). A Put that keeps losing to revocations gives
// up after putAttempts with an error wrapping sessions.ErrUnavailable (try
// again). A Put that fails may leave a record behind that no cookie
// names, since the cookie was never handed out; it expires with its TTL.
func (s *Store) Put(ctx context.Context, sess sessions.Session) (string, error) {
	now := s.now()
	if msg := storecheck.Put(sess.UID, sess.Expires, now, s.maxAge); msg != "" {
		return "", errors.New("redisstore: put: " + msg)
	}
	plain, err := encodeRecord(&sess)
	if err != nil {
		return "", fmt.Errorf("redisstore: put: %w", err)
	}
	sets := []string{s.indexKey(kindUID, s.keys.indexName("uid", sess.UID))}
	if sess.SIDHash != "" {
		sets = append(sets, s.indexKey(kindSID, s.keys.indexName("sid", sess.SIDHash)))
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	for range putAttempts {
		cookie, stored, err := s.put(ctx, plain, sets, ceilMilli(sess.Expires.Sub(now)))
		if err != nil || stored {
			return cookie, err
		}
	}
	return "", unavailable("put", errors.New("the user's sessions were being revoked at every attempt"))
}

// put is one attempt of Put: it stores plain under a new handle indexed in
// sets, and reports whether no revocation of those sets ran meanwhile;
// when one did (stored false), it deletes the session again, leaving at
// most stale index entries, which a revocation skips.
func (s *Store) put(ctx context.Context, plain []byte, sets []string, ttl time.Duration) (cookie string, stored bool, err error) {
	var h handle
	if _, err := rand.Read(h[:]); err != nil {
		return "", false, fmt.Errorf("redisstore: put: %w", err)
	}
	cookie, err = s.keys.sealHandle(s.name, &h)
	if err != nil {
		return "", false, fmt.Errorf("redisstore: put: seal cookie: %w", err)
	}
	key := s.sessionKey(&h)
	ms := formatMillis(ttl)
	execs := make([]rueidis.LuaExec, len(sets))
	for i, set := range sets {
		execs[i] = rueidis.LuaExec{Keys: []string{set, set + revocationSuffix}, Args: []string{key, ms}}
	}
	for i, r := range indexAdd.ExecMulti(ctx, s.client, execs...) {
		n, err := r.ToString()
		if err != nil && !rueidis.IsRedisNil(err) {
			return "", false, unavailable("put: index", err)
		}
		execs[i].Args = []string{key, n}
	}
	set := s.client.B().Set().Key(key).Value(rueidis.BinaryString(s.keys.seal(key, plain))).Px(ttl).Build()
	if err := s.client.Do(ctx, set).Error(); err != nil {
		// The SET may have reached Redis although its answer did not.
		s.undo(ctx, key)
		return "", false, unavailable("put", err)
	}
	stored = true
	for _, r := range indexCheck.ExecMulti(ctx, s.client, execs...) {
		ok, err := r.AsInt64()
		if err != nil {
			s.undo(ctx, key)
			return "", false, unavailable("put: check index", err)
		}
		stored = stored && ok == 1
	}
	if stored {
		return cookie, true, nil
	}
	if err := s.undo(ctx, key); err != nil {
		return "", false, unavailable("put: undo", err)
	}
	return "", false, nil
}

// undo deletes the record of a put that is not handed out, even when the
// put's own context has ended (the usual reason it failed), so that a
// failed sign-in leaves no record outside the indexes a revocation
// reads. A record undo cannot delete either is named by no cookie and
// expires with its TTL.
func (s *Store) undo(ctx context.Context, key string) error {
	s.recent.add(s.now(), key)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	return s.client.Do(ctx, s.client.B().Del().Key(key).Build()).Error()
}

// Get returns the session of a cookie value. A session read before is
// answered from the local cache, with no round trip, until Redis
// invalidates it (it was deleted or changed anywhere) or LocalCacheTTL
// passes; a session this store itself changed or deleted within that TTL
// is read from Redis, so its own writes show at once. A cookie that does not open, a session that is gone, expired or
// does not decrypt is sessions.ErrNotFound; a Redis failure or timeout is
// sessions.ErrUnavailable.
func (s *Store) Get(ctx context.Context, cookie string) (sessions.Session, error) {
	h, ok := s.opened.get(cookie)
	if !ok {
		if h, ok = s.keys.openHandle(s.name, cookie); !ok {
			return sessions.Session{}, sessions.ErrNotFound
		}
		s.opened.put(cookie, h)
	}
	key := s.sessionKey(&h)
	now := s.now()
	ctx, cancel := s.op(ctx)
	defer cancel()
	var res rueidis.RedisResult
	if s.cacheTTL > 0 && !s.recent.has(key, now) {
		res = s.client.DoCache(ctx, s.client.B().Get().Key(key).Cache(), s.cacheTTL)
	} else {
		res = s.client.Do(ctx, s.client.B().Get().Key(key).Build())
	}
	return s.decodeSession(key, res, now, "get")
}

// decodeSession turns the answer to a GET of a session key into a session
// live at now.
func (s *Store) decodeSession(key string, res rueidis.RedisResult, now time.Time, doing string) (sessions.Session, error) {
	b, err := res.AsBytes()
	if rueidis.IsRedisNil(err) {
		return sessions.Session{}, sessions.ErrNotFound
	}
	if err != nil {
		return sessions.Session{}, unavailable(doing, err)
	}
	plain, ok := s.keys.open(key, b)
	if !ok {
		return sessions.Session{}, sessions.ErrNotFound
	}
	sess, err := decodeRecord(plain)
	if err != nil || sess.UID == "" || !now.Before(sess.Expires) {
		return sessions.Session{}, sessions.ErrNotFound
	}
	return sess, nil
}

// Delete deletes the session of a cookie value. Redis then tells every
// replica that cached it to forget it. A cookie that does not open names
// no session, which is not an error. When Redis has replicas, Delete
// returns only once one has the deletion (see Options.ReplicaAckTimeout);
// otherwise it fails with sessions.ErrUnavailable, the session perhaps
// gone on the primary but not yet safe from a failover: never report the
// sign-out done.
func (s *Store) Delete(ctx context.Context, cookie string) error {
	h, ok := s.keys.openHandle(s.name, cookie)
	if !ok {
		return nil
	}
	key := s.sessionKey(&h)
	s.recent.add(s.now(), key)
	ctx, cancel := s.op(ctx)
	defer cancel()
	res, ackErr := s.doAcked(ctx, s.client.B().Del().Key(key).Build())
	if err := res[0].Error(); err != nil {
		return unavailable("delete", err)
	}
	if ackErr != nil {
		return unavailable("delete", ackErr)
	}
	return nil
}

// DeleteUser deletes every session of uid and its index, and reports how
// many live sessions it deleted. Like Delete, it waits for a replica to
// have the deletions when Redis has replicas, and fails with
// sessions.ErrUnavailable when none has them in time.
func (s *Store) DeleteUser(ctx context.Context, uid string) (int, error) {
	if uid == "" {
		return 0, errors.New("redisstore: delete user: uid is empty")
	}
	return s.deleteIndexed(ctx, kindUID, s.keys.indexNames("uid", uid), "delete user")
}

// DeleteSID deletes every session whose SIDHash is sidHash and its index,
// and reports how many live sessions it deleted, waiting for a replica
// like DeleteUser.
func (s *Store) DeleteSID(ctx context.Context, sidHash string) (int, error) {
	if sidHash == "" {
		return 0, errors.New("redisstore: delete sid: sid hash is empty")
	}
	return s.deleteIndexed(ctx, kindSID, s.keys.indexNames("sid", sidHash), "delete sid")
}

// deleteIndexed deletes the sessions listed in the index sets named
// kind+names[i] (one name per secret, so sessions indexed before a
// rotation are found too): it reads each set and increments its
// revocation counter (indexRevoke), deletes the sessions listed, then
// removes them from the set. The set loses its members only once their
// sessions are gone, so a revocation that fails half-way is finished by
// the next one.
func (s *Store) deleteIndexed(ctx context.Context, kind string, names []string, doing string) (int, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	execs := make([]rueidis.LuaExec, len(names))
	ttl := formatMillis(s.maxAge)
	for i, n := range names {
		set := s.indexKey(kind, n)
		execs[i] = rueidis.LuaExec{Keys: []string{set, set + revocationSuffix}, Args: []string{ttl}}
	}
	listed := make([][]string, len(names))
	var members []string
	for i, r := range indexRevoke.ExecMulti(ctx, s.client, execs...) {
		m, err := r.AsStrSlice()
		if err != nil {
			return 0, unavailable(doing, err)
		}
		listed[i] = m
		for _, k := range m {
			if s.isSessionKey(k) {
				members = append(members, k)
			}
		}
	}
	// Marked before they are deleted: this replica's next Get of any of
	// them asks Redis, whatever its local cache holds until Redis's
	// invalidation arrives.
	s.recent.add(s.now(), members...)
	cmds := make(rueidis.Commands, 0, len(members))
	for _, k := range members {
		cmds = append(cmds, s.client.B().Del().Key(k).Build())
	}
	n := 0
	res, ackErr := s.doAcked(ctx, cmds...)
	for _, r := range res {
		d, err := r.AsInt64()
		if err != nil {
			return n, unavailable(doing, err)
		}
		n += int(d)
	}
	if ackErr != nil {
		return n, unavailable(doing, ackErr)
	}
	cmds = cmds[:0]
	for i, m := range listed {
		if len(m) > 0 {
			cmds = append(cmds, s.client.B().Srem().Key(execs[i].Keys[0]).Member(m...).Build())
		}
	}
	for _, r := range s.client.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil {
			return n, unavailable(doing, err)
		}
	}
	return n, nil
}

// ceilMilli rounds d up to whole milliseconds, the unit of Redis TTLs, so
// a positive d never becomes 0.
func ceilMilli(d time.Duration) time.Duration {
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}
