package acme

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/redis/rueidis"

	"github.com/rezigate/rezigate/optionerr"
)

// DefaultLockTTL is RedisStorageOptions.LockTTL when it is zero.
const DefaultLockTTL = 30 * time.Second

// lockRetry is how often Lock asks again for a lock another holder has.
const lockRetry = time.Second

// labelValue keys the encryption of the stored values: its own label (and
// the deployment), so that no key of the session store opens them, nor
// these keys a session.
const labelValue = "rezigate acme storage aes-gcm v1"

// RedisStorageOptions configure NewRedisStorage. Client, Secrets and
// Deployment are required.
type RedisStorageOptions struct {
	// Client is the connection to Redis, such as the session store's
	// (redisstore.Store.Client). The storage does not close it.
	Client rueidis.Client
	// Prefix starts every key the storage writes; all of them share one
	// Redis Cluster hash slot. Give it a prefix no other part writes
	// under, such as the session store's prefix + "a:".
	Prefix string
	// Secrets encrypt every value (AES-256-GCM under a key derived from
	// each secret and Deployment with HKDF-SHA256 and a label of the
	// storage's own): the first seals, every one opens, so the session
	// secrets can be given here and rotated alike. Without a secret a
	// reader of Redis learns nothing but the key names (the domain names
	// and the CA's host, public anyway).
	Secrets [][]byte
	// Deployment keeps the keys of two deployments sharing secrets apart,
	// such as sessions.Settings.Deployment.
	Deployment string
	// LockTTL is how long an issuance lock outlives a replica that died
	// holding it. A live holder renews it every third of it. Zero means
	// DefaultLockTTL; it must be at least a second.
	LockTTL time.Duration
	// Logger receives a warning when a held lock is lost. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Validate reports every problem with o at once, as *optionerr.Error
// values; it never includes a secret.
func (o RedisStorageOptions) Validate() error {
	var errs []error
	add := func(field, msg string) { errs = append(errs, optionerr.New("acme", field, "%s", msg)) }
	if o.Client == nil {
		add("Client", "required")
	}
	if len(o.Secrets) == 0 {
		add("Secrets", "required: the stored values are encrypted")
	}
	for i, s := range o.Secrets {
		if len(s) < 32 {
			add(fmt.Sprintf("Secrets[%d]", i), "must be at least 32 bytes")
		}
	}
	if o.Deployment == "" {
		add("Deployment", "required")
	}
	if o.LockTTL != 0 && o.LockTTL < time.Second {
		add("LockTTL", "must be at least 1s")
	}
	return errors.Join(errs...)
}

// RedisStorage is a certmagic.Storage in Redis: the ACME account, the
// certificates and their keys, the challenge tokens and the issuance
// locks, shared by every replica that uses the same Redis, prefix and
// secrets, so that one of them orders a certificate and the others load
// it. Keys, under Prefix and one hash tag:
//
//	PREFIX{acme}:v:<certmagic key>  the value, AES-256-GCM (its Redis key as additional data)
//	PREFIX{acme}:i                  the set of certmagic keys stored, for List and Exists
//	PREFIX{acme}:l:<lock name>      an issuance lock: a random token, TTL = LockTTL, renewed while held
//
// The values have no TTL: run Redis with maxmemory-policy noeviction, and
// with persistence, or every restart of Redis orders new certificates.
type RedisStorage struct {
	client  rueidis.Client
	base    string
	aeads   []cipher.AEAD
	lockTTL time.Duration
	log     *slog.Logger

	mu    sync.Mutex
	held  map[string]heldLock // lock name -> token, renewal
	retry time.Duration       // lockRetry; tests shorten it
	// waiting, when not nil, is called each time Lock finds the lock
	// held by another (tests).
	waiting func(name string)
}

type heldLock struct {
	token string
	stop  context.CancelFunc
	done  chan struct{}
}

var _ certmagic.Storage = (*RedisStorage)(nil)

// NewRedisStorage checks opts and returns the storage. It does no
// network I/O.
func NewRedisStorage(opts RedisStorageOptions) (*RedisStorage, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &RedisStorage{
		client: opts.Client, base: opts.Prefix + "{acme}:", lockTTL: opts.LockTTL, log: opts.Logger,
		held: map[string]heldLock{}, retry: lockRetry,
	}
	if s.lockTTL == 0 {
		s.lockTTL = DefaultLockTTL
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	for i, secret := range opts.Secrets {
		k, err := hkdf.Key(sha256.New, secret, nil, labelValue+"\x00"+opts.Deployment, 32)
		if err != nil {
			return nil, fmt.Errorf("acme: derive key of secret %d: %w", i, err)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("acme: cipher of secret %d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("acme: cipher of secret %d: %w", i, err)
		}
		s.aeads = append(s.aeads, aead)
	}
	return s, nil
}

func (s *RedisStorage) valueKey(key string) string { return s.base + "v:" + key }
func (s *RedisStorage) indexKey() string           { return s.base + "i" }
func (s *RedisStorage) lockKey(name string) string { return s.base + "l:" + name }

// sealedVersion starts every stored value.
const sealedVersion = 1

// seal encrypts the modification time (Unix nanoseconds) and value for
// the Redis key rkey.
func (s *RedisStorage) seal(rkey string, modified time.Time, value []byte) []byte {
	aead := s.aeads[0]
	plain := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(value)), uint64(modified.UnixNano()))
	plain = append(plain, value...)
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plain)+aead.Overhead())
	out[0] = sealedVersion
	_, _ = rand.Read(out[1:]) // never fails on supported platforms
	return aead.Seal(out, out[1:], plain, []byte(rkey))
}

// open decrypts a value read from rkey, trying every secret.
func (s *RedisStorage) open(rkey string, sealed []byte) (time.Time, []byte, error) {
	n := s.aeads[0].NonceSize()
	if len(sealed) >= 1+n+s.aeads[0].Overhead() && sealed[0] == sealedVersion {
		for _, aead := range s.aeads {
			if plain, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(rkey)); err == nil && len(plain) >= 8 {
				return time.Unix(0, int64(binary.BigEndian.Uint64(plain))), plain[8:], nil
			}
		}
	}
	return time.Time{}, nil, errors.New("acme: storage: a value does not open with any secret")
}

var storeScript = rueidis.NewLuaScript(`redis.call('SET', KEYS[1], ARGV[1]); redis.call('SADD', KEYS[2], ARGV[2]); return 1`)

// Store puts value at key.
func (s *RedisStorage) Store(ctx context.Context, key string, value []byte) error {
	rkey := s.valueKey(key)
	sealed := s.seal(rkey, time.Now(), value)
	if err := storeScript.Exec(ctx, s.client, []string{rkey, s.indexKey()}, []string{string(sealed), key}).Error(); err != nil {
		return fmt.Errorf("acme: storage: store: %w", err)
	}
	return nil
}

// load returns the modification time and value at key, or an error
// wrapping fs.ErrNotExist.
func (s *RedisStorage) load(ctx context.Context, key string) (time.Time, []byte, error) {
	rkey := s.valueKey(key)
	b, err := s.client.Do(ctx, s.client.B().Get().Key(rkey).Build()).AsBytes()
	if rueidis.IsRedisNil(err) {
		return time.Time{}, nil, fmt.Errorf("acme: storage: %s: %w", key, fs.ErrNotExist)
	}
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("acme: storage: load: %w", err)
	}
	return s.open(rkey, b)
}

// Load returns the value at key; an error wrapping fs.ErrNotExist when
// there is none.
func (s *RedisStorage) Load(ctx context.Context, key string) ([]byte, error) {
	_, v, err := s.load(ctx, key)
	return v, err
}

var deleteScript = rueidis.NewLuaScript(`
local n = 0
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
	if m == ARGV[2] or string.sub(m, 1, string.len(ARGV[2]) + 1) == ARGV[2] .. '/' then
		redis.call('DEL', ARGV[1] .. m)
		redis.call('SREM', KEYS[1], m)
		n = n + 1
	end
end
return n`)

// Delete deletes key and every key under it (key + "/…").
func (s *RedisStorage) Delete(ctx context.Context, key string) error {
	if err := deleteScript.Exec(ctx, s.client, []string{s.indexKey()}, []string{s.base + "v:", key}).Error(); err != nil {
		return fmt.Errorf("acme: storage: delete: %w", err)
	}
	return nil
}

// members returns every key stored.
func (s *RedisStorage) members(ctx context.Context) ([]string, error) {
	m, err := s.client.Do(ctx, s.client.B().Smembers().Key(s.indexKey()).Build()).AsStrSlice()
	if err != nil {
		return nil, fmt.Errorf("acme: storage: list: %w", err)
	}
	return m, nil
}

// Exists reports whether key is stored, or is a directory of stored
// keys. An error reads as false.
func (s *RedisStorage) Exists(ctx context.Context, key string) bool {
	m, err := s.members(ctx)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(m, func(k string) bool { return k == key || strings.HasPrefix(k, key+"/") })
}

// List returns the keys under path: its direct children (keys and
// directories), or with recursive every key and directory below it.
func (s *RedisStorage) List(ctx context.Context, path string, recursive bool) ([]string, error) {
	m, err := s.members(ctx)
	if err != nil {
		return nil, err
	}
	dir := strings.TrimSuffix(path, "/") + "/"
	if path == "" {
		dir = ""
	}
	seen := map[string]bool{}
	for _, k := range m {
		rest, ok := strings.CutPrefix(k, dir)
		if !ok || rest == "" {
			continue
		}
		parts := strings.Split(rest, "/")
		if !recursive {
			parts = parts[:1]
		}
		for i := range parts {
			seen[dir+strings.Join(parts[:i+1], "/")] = true
		}
	}
	if len(seen) == 0 && !slices.Contains(m, path) {
		return nil, fmt.Errorf("acme: storage: %s: %w", path, fs.ErrNotExist)
	}
	return slices.Sorted(func(yield func(string) bool) {
		for k := range seen {
			if !yield(k) {
				return
			}
		}
	}), nil
}

// Stat describes key: a stored value, or a directory of stored keys.
func (s *RedisStorage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	mod, v, err := s.load(ctx, key)
	if err == nil {
		return certmagic.KeyInfo{Key: key, Modified: mod, Size: int64(len(v)), IsTerminal: true}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return certmagic.KeyInfo{}, err
	}
	if s.Exists(ctx, key) {
		return certmagic.KeyInfo{Key: key}, nil
	}
	return certmagic.KeyInfo{}, err
}

var (
	renewScript  = rueidis.NewLuaScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`)
	unlockScript = rueidis.NewLuaScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)
)

// Lock takes the lock called name, waiting while another holder (this
// process or another replica) has it, until ctx ends. The lock lives in
// Redis with a random token and a TTL of LockTTL, renewed every third of
// it while held, so that a replica that dies holding it blocks the others
// for LockTTL at most.
func (s *RedisStorage) Lock(ctx context.Context, name string) error {
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	key := s.lockKey(name)
	for {
		err := s.client.Do(ctx, s.client.B().Set().Key(key).Value(token).Nx().Px(s.lockTTL).Build()).Error()
		if err == nil {
			break
		}
		if !rueidis.IsRedisNil(err) { // nil: someone else holds it
			return fmt.Errorf("acme: storage: lock %s: %w", name, err)
		}
		if s.waiting != nil {
			s.waiting(name)
		}
		t := time.NewTimer(s.retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("acme: storage: lock %s: %w", name, ctx.Err())
		case <-t.C:
		}
	}
	rctx, stop := context.WithCancel(context.Background())
	h := heldLock{token: token, stop: stop, done: make(chan struct{})}
	go s.renew(rctx, name, key, token, h.done)
	s.mu.Lock()
	s.held[name] = h
	s.mu.Unlock()
	return nil
}

// renew extends the lock every third of its TTL until ctx ends or the
// lock is found lost.
func (s *RedisStorage) renew(ctx context.Context, name, key, token string, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(s.lockTTL / 3)
	defer t.Stop()
	ttl := fmt.Sprint(s.lockTTL.Milliseconds())
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := renewScript.Exec(ctx, s.client, []string{key}, []string{token, ttl}).AsInt64()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.Warn("acme: storage: renew lock", "lock", name, "err", err)
		case n == 0:
			s.log.Warn("acme: storage: lock lost before it was released", "lock", name)
			return
		}
	}
}

// Unlock releases the lock called name, taken by Lock on this storage. A
// lock that expired meanwhile (and may be someone else's now) is left
// alone.
func (s *RedisStorage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	h, ok := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("acme: storage: unlock %s: not held here", name)
	}
	h.stop()
	<-h.done
	if err := unlockScript.Exec(ctx, s.client, []string{s.lockKey(name)}, []string{h.token}).Error(); err != nil {
		return fmt.Errorf("acme: storage: unlock %s: %w", name, err)
	}
	return nil
}

// String names the storage without its secrets.
func (s *RedisStorage) String() string {
	return "acme.RedisStorage{Prefix:" + strings.TrimSuffix(s.base, "{acme}:") + "}"
}
