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
	name     string
	prefix   string
	maxAge   time.Duration
	cacheTTL time.Duration // <= 0: no local cache
	recent   *recentWrites
	opened   *openedCookies
	timeout  time.Duration
	now      func() time.Time
}

var _ sessions.Store = (*Store)(nil)

// Key kinds: the letter after the prefix says what a key holds.
const (
	kindSession = "s:" // the encrypted session record
	kindLock    = "l:" // the refresh lock of one session
	kindUID     = "u:" // the set of session keys of one uid
	kindSID     = "d:" // the set of session keys of one provider session
	kindJTI     = "j:" // a logout token ID already used
	kindToken   = "t:" // a cached, encrypted Rezi user token
	kindRate    = "r:" // a rate-limit window of one uid
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
	co.ConnWriteTimeout = opts.ReadTimeout
	co.CacheSizeEachConn = opts.LocalCacheSize
	co.DisableCache = false
	co.AlwaysRESP2 = false
	if co.ClientName == "" {
		co.ClientName = "rezigate"
	}
	k, err := deriveKeys(opts.Secrets, int(opts.MaxAge/time.Second))
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	client, err := rueidis.NewClient(co)
	if err != nil {
		return nil, fmt.Errorf("redisstore: connect: %w", err)
	}
	s := &Store{
		client:   client,
		keys:     k,
		name:     opts.Name,
		prefix:   opts.Prefix,
		maxAge:   opts.MaxAge,
		cacheTTL: opts.LocalCacheTTL,
		recent:   newRecentWrites(opts.LocalCacheTTL),
		opened:   newOpenedCookies(),
		timeout:  opts.ReadTimeout,
		now:      time.Now,
	}
	pctx, cancel := s.op(ctx)
	defer cancel()
	if err := client.Do(pctx, client.B().Ping().Build()).Error(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redisstore: connect: %w", err)
	}
	return s, nil
}

// Close closes the connections to Redis and stops the client's
// goroutines. Calls after Close fail with sessions.ErrUnavailable.
func (s *Store) Close() { s.client.Close() }

// String names the store without its secrets.
func (s *Store) String() string {
	return fmt.Sprintf("redisstore.Store{Name:%q Prefix:%q}", s.name, s.prefix)
}

// LogValue implements slog.LogValuer without the secrets.
func (s *Store) LogValue() slog.Value {
	return slog.GroupValue(slog.String("store", "redis"), slog.String("name", s.name), slog.String("prefix", s.prefix))
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
	return s.prefix + kindSession + handleName("rezigate session v1", h)
}

// isSessionKey reports whether m, read from an index set, is a session key
// of this store; anything else is ignored rather than deleted.
func (s *Store) isSessionKey(m string) bool {
	rest, ok := strings.CutPrefix(m, s.prefix+kindSession)
	return ok && len(rest) == 64 && strings.Trim(rest, "0123456789abcdef") == ""
}

// indexAdd adds a member to a set and makes the set live at least ttl
// milliseconds, never shortening it: a set outlives every session in it,
// and no longer than the longest one.
var indexAdd = rueidis.NewLuaScriptRetryable(`
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`)

// Put stores sess under a new random handle and returns the sealed handle
// as the cookie value (about 150 bytes). sess.UID must not be empty and
// sess.Expires must lie in the future, at most MaxAge away; it becomes the
// TTL of every key written. The session is added to its uid's index (and
// its sid's, when SIDHash is set) before it is stored, so DeleteUser and
// DeleteSID can always find it.
func (s *Store) Put(ctx context.Context, sess sessions.Session) (string, error) {
	now := s.now()
	if msg := storecheck.Put(sess.UID, sess.Expires, now, s.maxAge); msg != "" {
		return "", errors.New("redisstore: put: " + msg)
	}
	ttl := ceilMilli(sess.Expires.Sub(now))
	var h handle
	if _, err := rand.Read(h[:]); err != nil {
		return "", fmt.Errorf("redisstore: put: %w", err)
	}
	cookie, err := s.keys.sealHandle(s.name, &h)
	if err != nil {
		return "", fmt.Errorf("redisstore: put: seal cookie: %w", err)
	}
	plain, err := encodeRecord(&sess)
	if err != nil {
		return "", fmt.Errorf("redisstore: put: %w", err)
	}
	key := s.sessionKey(&h)
	ms := formatMillis(ttl)
	execs := []rueidis.LuaExec{{Keys: []string{s.prefix + kindUID + s.keys.indexName("uid", sess.UID)}, Args: []string{key, ms}}}
	if sess.SIDHash != "" {
		execs = append(execs, rueidis.LuaExec{Keys: []string{s.prefix + kindSID + s.keys.indexName("sid", sess.SIDHash)}, Args: []string{key, ms}})
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	for _, r := range indexAdd.ExecMulti(ctx, s.client, execs...) {
		if err := r.Error(); err != nil {
			return "", unavailable("put: index", err)
		}
	}
	set := s.client.B().Set().Key(key).Value(rueidis.BinaryString(s.keys.seal(key, plain))).Px(ttl).Build()
	if err := s.client.Do(ctx, set).Error(); err != nil {
		return "", unavailable("put", err)
	}
	return cookie, nil
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
// no session, which is not an error.
func (s *Store) Delete(ctx context.Context, cookie string) error {
	h, ok := s.keys.openHandle(s.name, cookie)
	if !ok {
		return nil
	}
	key := s.sessionKey(&h)
	s.recent.add(s.now(), key)
	ctx, cancel := s.op(ctx)
	defer cancel()
	if err := s.client.Do(ctx, s.client.B().Del().Key(key).Build()).Error(); err != nil {
		return unavailable("delete", err)
	}
	return nil
}

// DeleteUser deletes every session of uid and its index, and reports how
// many live sessions it deleted.
func (s *Store) DeleteUser(ctx context.Context, uid string) (int, error) {
	if uid == "" {
		return 0, errors.New("redisstore: delete user: uid is empty")
	}
	return s.deleteIndexed(ctx, s.prefix+kindUID, s.keys.indexNames("uid", uid), "delete user")
}

// DeleteSID deletes every session whose SIDHash is sidHash and its index,
// and reports how many live sessions it deleted.
func (s *Store) DeleteSID(ctx context.Context, sidHash string) (int, error) {
	if sidHash == "" {
		return 0, errors.New("redisstore: delete sid: sid hash is empty")
	}
	return s.deleteIndexed(ctx, s.prefix+kindSID, s.keys.indexNames("sid", sidHash), "delete sid")
}

// deleteIndexed deletes the sessions listed in the index sets named
// kind+names[i] (one name per secret, so sessions indexed before a
// rotation are found too), then the sets.
func (s *Store) deleteIndexed(ctx context.Context, kind string, names []string, doing string) (int, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	sets := make([]string, len(names))
	cmds := make(rueidis.Commands, len(names))
	for i, n := range names {
		sets[i] = kind + n
		cmds[i] = s.client.B().Smembers().Key(sets[i]).Build()
	}
	var members []string
	for _, r := range s.client.DoMulti(ctx, cmds...) {
		m, err := r.AsStrSlice()
		if err != nil {
			return 0, unavailable(doing, err)
		}
		for _, k := range m {
			if s.isSessionKey(k) {
				members = append(members, k)
			}
		}
	}
	s.recent.add(s.now(), members...)
	cmds = cmds[:0]
	for _, k := range members {
		cmds = append(cmds, s.client.B().Del().Key(k).Build())
	}
	n := 0
	for _, r := range s.client.DoMulti(ctx, cmds...) {
		d, err := r.AsInt64()
		if err != nil {
			return n, unavailable(doing, err)
		}
		n += int(d)
	}
	cmds = cmds[:0]
	for _, k := range sets {
		cmds = append(cmds, s.client.B().Del().Key(k).Build())
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
