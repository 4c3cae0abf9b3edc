package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/rezigate/rezigate/sessions"
)

// MaxLockTTL is the longest a lock may be held.
const MaxLockTTL = time.Minute

// casUpdate replaces a value only if it is still what the caller read,
// keeping its TTL: -1 when the key is gone, 0 when it changed, 1 when
// replaced.
var casUpdate = rueidis.NewLuaScript(`
local v = redis.call('GET', KEYS[1])
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1`)

// Update replaces the session of a cookie value with what fn makes of it,
// as a compare-and-swap: fn gets the session as Redis holds it now (never
// a cached copy), and its result is stored only if nobody changed the
// session in between. Otherwise Update returns sessions.ErrConflict and
// the other writer's session stays, so two replicas refreshing at once
// never both store a rotated refresh token. The TTL is kept.
//
// fn may change Email, Groups, RefreshToken, CheckedAt and CheckDue; a
// result with another UID, SIDHash or Expires is refused. An error from fn
// is returned wrapped and nothing is stored. Update returns the stored
// session; sessions.ErrNotFound when there is none; sessions.ErrUnavailable
// when Redis cannot answer.
//
// Update does not keep other replicas from calling fn at the same time:
// take LockSession first when fn is costly (a call to the provider).
func (s *Store) Update(ctx context.Context, cookie string, fn func(sessions.Session) (sessions.Session, error)) (sessions.Session, error) {
	h, ok := s.keys.openHandle(s.name, cookie)
	if !ok {
		return sessions.Session{}, sessions.ErrNotFound
	}
	key := s.sessionKey(&h)
	rctx, cancel := s.op(ctx)
	res := s.client.Do(rctx, s.client.B().Get().Key(key).Build())
	cancel()
	old, err := s.decodeSession(key, res, s.now(), "update")
	if err != nil {
		return sessions.Session{}, err
	}
	oldRaw, _ := res.ToString()
	next, err := fn(old)
	if err != nil {
		return sessions.Session{}, fmt.Errorf("redisstore: update: %w", err)
	}
	if next.UID != old.UID || next.SIDHash != old.SIDHash || !next.Expires.Equal(old.Expires) {
		return sessions.Session{}, errors.New("redisstore: update: UID, SIDHash and Expires cannot change")
	}
	plain, err := encodeRecord(&next)
	if err != nil {
		return sessions.Session{}, fmt.Errorf("redisstore: update: %w", err)
	}
	s.recent.add(s.now(), key)
	wctx, cancel := s.op(ctx)
	defer cancel()
	n, err := casUpdate.Exec(wctx, s.client, []string{key}, []string{oldRaw, rueidis.BinaryString(s.keys.seal(key, plain))}).AsInt64()
	switch {
	case err != nil:
		return sessions.Session{}, unavailable("update", err)
	case n < 0:
		return sessions.Session{}, sessions.ErrNotFound
	case n == 0:
		return sessions.Session{}, sessions.ErrConflict
	}
	return next, nil
}

// Lock is a lock held in Redis, shared by every replica.
type Lock struct {
	s          *Store
	key, token string
}

// releaseLock deletes a lock only if it still holds our token, so a lock
// that expired and was taken by another holder is left alone.
var releaseLock = rueidis.NewLuaScriptRetryable(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// LockSession takes the refresh lock of the session of a cookie value, for
// at most ttl (0 < ttl <= MaxLockTTL, and not past MaxAge), so at most one request on any
// replica refreshes a session at a time. It returns sessions.ErrLocked
// when another holder has it, sessions.ErrNotFound for a cookie that does
// not open, and sessions.ErrUnavailable when Redis cannot answer. Release
// the lock when done; if the holder dies, it expires after ttl.
func (s *Store) LockSession(ctx context.Context, cookie string, ttl time.Duration) (*Lock, error) {
	if limit := min(MaxLockTTL, s.maxAge); ttl <= 0 || ttl > limit {
		return nil, fmt.Errorf("redisstore: lock: ttl must be positive and at most %v", limit)
	}
	h, ok := s.keys.openHandle(s.name, cookie)
	if !ok {
		return nil, sessions.ErrNotFound
	}
	var t [16]byte
	if _, err := rand.Read(t[:]); err != nil {
		return nil, fmt.Errorf("redisstore: lock: %w", err)
	}
	l := &Lock{s: s, key: s.prefix + kindLock + handleName(s.lockLabel, &h), token: hex.EncodeToString(t[:])}
	ctx, cancel := s.op(ctx)
	defer cancel()
	err := s.client.Do(ctx, s.client.B().Set().Key(l.key).Value(l.token).Nx().Px(ceilMilli(ttl)).Build()).Error()
	switch {
	case rueidis.IsRedisNil(err):
		return nil, sessions.ErrLocked
	case err != nil:
		return nil, unavailable("lock", err)
	}
	return l, nil
}

// Release gives the lock up. It reports whether the lock was still held
// (false when it had expired, possibly taken by another holder since,
// whose lock stays).
func (l *Lock) Release(ctx context.Context) (bool, error) {
	ctx, cancel := l.s.op(ctx)
	defer cancel()
	n, err := releaseLock.Exec(ctx, l.s.client, []string{l.key}, []string{l.token}).AsInt64()
	if err != nil {
		return false, unavailable("release lock", err)
	}
	return n == 1, nil
}

// SeenJTI records the ID (jti) of a back-channel logout token for ttl
// (0 < ttl <= MaxAge; until the token's exp plus leeway) and reports
// whether it was recorded already, that is, whether the token is a replay.
// The key is an HMAC of jti, so no token ID is stored. On error, seen is
// false and the caller must refuse the token.
//
// Record a token only once the sessions it names are gone (ask LookupJTI
// first): a token recorded before a deletion that then failed would be
// refused as a replay when the provider delivers it again, and the
// sessions would live on. With replicas, the record waits for one like
// Delete; when none has it in time, the error wraps
// sessions.ErrUnavailable.
func (s *Store) SeenJTI(ctx context.Context, jti string, ttl time.Duration) (seen bool, err error) {
	if jti == "" {
		return false, errors.New("redisstore: seen jti: jti is empty")
	}
	if ttl <= 0 || ttl > s.maxAge {
		return false, fmt.Errorf("redisstore: seen jti: ttl must be positive and at most %v", s.maxAge)
	}
	names := s.keys.indexNames("jti", jti)
	cmds := make(rueidis.Commands, 0, len(names))
	cmds = append(cmds, s.client.B().Set().Key(s.prefix+kindJTI+names[0]).Value("1").Nx().Px(ceilMilli(ttl)).Build())
	for _, n := range names[1:] { // recorded under a secret rotated out since
		cmds = append(cmds, s.client.B().Exists().Key(s.prefix+kindJTI+n).Build())
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	res, ackErr := s.doAcked(ctx, cmds...)
	if err := res[0].Error(); rueidis.IsRedisNil(err) {
		seen = true
	} else if err != nil {
		return false, unavailable("seen jti", err)
	}
	for _, r := range res[1:] {
		n, err := r.AsInt64()
		if err != nil {
			return false, unavailable("seen jti", err)
		}
		seen = seen || n > 0
	}
	if ackErr != nil {
		return false, unavailable("seen jti", ackErr)
	}
	return seen, nil
}

// LookupJTI reports whether SeenJTI recorded jti (under any of the
// secrets), without recording it: a back-channel logout asks it before
// deleting sessions, and records the token with SeenJTI only after. On
// error, seen is false and the caller must not act on the token.
func (s *Store) LookupJTI(ctx context.Context, jti string) (seen bool, err error) {
	if jti == "" {
		return false, errors.New("redisstore: lookup jti: jti is empty")
	}
	names := s.keys.indexNames("jti", jti)
	cmds := make(rueidis.Commands, len(names))
	for i, n := range names { // one key a command: each may lie in another Cluster slot
		cmds[i] = s.client.B().Exists().Key(s.prefix + kindJTI + n).Build()
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	for _, r := range s.client.DoMulti(ctx, cmds...) {
		n, err := r.AsInt64()
		if err != nil {
			return false, unavailable("lookup jti", err)
		}
		seen = seen || n > 0
	}
	return seen, nil
}

// formatMillis formats d as whole milliseconds for a script argument.
func formatMillis(d time.Duration) string {
	return strconv.FormatInt(ceilMilli(d).Milliseconds(), 10)
}
