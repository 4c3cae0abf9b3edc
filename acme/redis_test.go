package acme

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"slices"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/rezigate/rezigate/internal/testsupport/redistest"
)

var (
	secretA = bytes.Repeat([]byte("a"), 32)
	secretB = bytes.Repeat([]byte("b"), 32)
)

// newClient returns a client of its own to the Redis at url, closed when
// t ends: each storage of a test talks to Redis as a replica would.
func newClient(t *testing.T, url string) rueidis.Client {
	t.Helper()
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.DisableCache = true
	c, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatalf("connect to Redis: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func newStorage(t *testing.T, c rueidis.Client, prefix string, secrets ...[]byte) *RedisStorage {
	t.Helper()
	s, err := NewRedisStorage(RedisStorageOptions{Client: c, Prefix: prefix, Secrets: secrets, Deployment: "https://rms.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRedisStorageKeys(t *testing.T) {
	url := redistest.URL(t)
	s := newStorage(t, newClient(t, url), redistest.Prefix(t, url, "acmekeys"), secretA)
	ctx := context.Background()
	for _, k := range []string{"acme/ca/users/me/me.key", "acme/ca/users/me/me.json", "certificates/ca/rms/rms.crt", "last_clean.json"} {
		if err := s.Store(ctx, k, []byte("value of "+k)); err != nil {
			t.Fatalf("Store(%q) = %v", k, err)
		}
	}
	got, err := s.Load(ctx, "certificates/ca/rms/rms.crt")
	if err != nil || string(got) != "value of certificates/ca/rms/rms.crt" {
		t.Fatalf("Load = %q, %v; want the value stored", got, err)
	}
	if _, err := s.Load(ctx, "certificates/ca/other/other.crt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v; want fs.ErrNotExist", err)
	}
	for _, tc := range []struct {
		name      string
		path      string
		recursive bool
		want      []string
	}{
		{"top", "", false, []string{"acme", "certificates", "last_clean.json"}},
		{"children", "acme/ca/users", false, []string{"acme/ca/users/me"}},
		{"recursive", "acme", true, []string{"acme/ca", "acme/ca/users", "acme/ca/users/me", "acme/ca/users/me/me.json", "acme/ca/users/me/me.key"}},
	} {
		t.Run("List/"+tc.name, func(t *testing.T) {
			got, err := s.List(ctx, tc.path, tc.recursive)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("List(%q, %v) = %q, %v; want %q", tc.path, tc.recursive, got, err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		key            string
		exists, isFile bool
	}{
		{"acme/ca/users/me/me.key", true, true},
		{"acme/ca", true, false},
		{"acme/c", false, false},
		{"nothing", false, false},
	} {
		t.Run("Stat/"+tc.key, func(t *testing.T) {
			if got := s.Exists(ctx, tc.key); got != tc.exists {
				t.Errorf("Exists(%q) = %v; want %v", tc.key, got, tc.exists)
			}
			ki, err := s.Stat(ctx, tc.key)
			switch {
			case !tc.exists && !errors.Is(err, fs.ErrNotExist):
				t.Errorf("Stat(%q) = %v; want fs.ErrNotExist", tc.key, err)
			case tc.exists && (err != nil || ki.IsTerminal != tc.isFile || ki.Key != tc.key):
				t.Errorf("Stat(%q) = %+v, %v; want IsTerminal %v", tc.key, ki, err, tc.isFile)
			case tc.isFile && (ki.Size != int64(len("value of "+tc.key)) || ki.Modified.IsZero()):
				t.Errorf("Stat(%q) = %+v; want its size and modification time", tc.key, ki)
			}
		})
	}
	if err := s.Delete(ctx, "acme/ca"); err != nil {
		t.Fatalf("Delete(dir) = %v", err)
	}
	if s.Exists(ctx, "acme/ca/users/me/me.key") || s.Exists(ctx, "acme") {
		t.Error("Delete(acme/ca) left keys under it")
	}
	if !s.Exists(ctx, "certificates/ca/rms/rms.crt") {
		t.Error("Delete(acme/ca) deleted a key outside it")
	}
	if err := s.Delete(ctx, "acme/ca"); err != nil {
		t.Errorf("Delete(missing) = %v; want nil", err)
	}
}

// TestRedisStorageEncrypted: nothing stored reads without a secret; a
// value opens with a rotated list that still holds its secret, not with
// other secrets or another deployment's keys, and not under another key.
func TestRedisStorageEncrypted(t *testing.T) {
	url := redistest.URL(t)
	c := newClient(t, url)
	prefix := redistest.Prefix(t, url, "acmeenc")
	old := newStorage(t, c, prefix, secretA)
	ctx := context.Background()
	plain := []byte("-----BEGIN EC PRIVATE KEY----- the account key")
	if err := old.Store(ctx, "acme/ca/users/me/me.key", plain); err != nil {
		t.Fatal(err)
	}
	raw, err := c.Do(ctx, c.B().Get().Key(old.valueKey("acme/ca/users/me/me.key")).Build()).AsBytes()
	if err != nil || bytes.Contains(raw, []byte("PRIVATE KEY")) || bytes.Contains(raw, []byte("account key")) {
		t.Fatalf("raw value in Redis = %q, %v; want ciphertext", raw, err)
	}
	other, err := NewRedisStorage(RedisStorageOptions{Client: c, Prefix: prefix, Secrets: [][]byte{secretA}, Deployment: "https://other.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		s    *RedisStorage
		ok   bool
	}{
		{"rotated, old secret kept", newStorage(t, c, prefix, secretB, secretA), true},
		{"other secret", newStorage(t, c, prefix, secretB), false},
		{"other deployment", other, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.s.Load(ctx, "acme/ca/users/me/me.key")
			if tc.ok != (err == nil && bytes.Equal(got, plain)) {
				t.Errorf("Load = %q, %v; want opened %v", got, err, tc.ok)
			}
		})
	}
	// A value copied under another key does not open there.
	if err := c.Do(ctx, c.B().Set().Key(old.valueKey("certificates/x/x.key")).Value(string(raw)).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if got, err := old.Load(ctx, "certificates/x/x.key"); err == nil {
		t.Errorf("Load(copied value) = %q; want an error", got)
	}
}

// TestRedisStorageLockBetweenTwo: of two storages on one Redis, as two
// replicas, the second waits for the lock while the first holds it, and
// gets it once the first releases it.
func TestRedisStorageLockBetweenTwo(t *testing.T) {
	url := redistest.URL(t)
	prefix := redistest.Prefix(t, url, "acmelock")
	a, b := newStorage(t, newClient(t, url), prefix, secretA), newStorage(t, newClient(t, url), prefix, secretA)
	b.retry = 1 // ask again at once: the test orders by channels, not time
	waiting := make(chan struct{}, 1)
	b.waiting = func(string) {
		select {
		case waiting <- struct{}{}:
		default:
		}
	}
	ctx := context.Background()
	if err := a.Lock(ctx, "issue_cert_rms"); err != nil {
		t.Fatalf("a.Lock = %v", err)
	}
	locked := make(chan error, 1)
	go func() { locked <- b.Lock(ctx, "issue_cert_rms") }()
	<-waiting // b found the lock held
	select {
	case err := <-locked:
		t.Fatalf("b.Lock returned %v while a held the lock; want it to wait", err)
	default:
	}
	if err := a.Unlock(ctx, "issue_cert_rms"); err != nil {
		t.Fatalf("a.Unlock = %v", err)
	}
	if err := <-locked; err != nil {
		t.Fatalf("b.Lock after a.Unlock = %v", err)
	}
	// a's Unlock must not have released b's lock: a waits now.
	a.retry = 1
	a.waiting = func(string) {
		select {
		case waiting <- struct{}{}:
		default:
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { locked <- a.Lock(cctx, "issue_cert_rms") }()
	<-waiting
	cancel()
	if err := <-locked; !errors.Is(err, context.Canceled) {
		t.Errorf("a.Lock while b holds it, ctx cancelled = %v; want context.Canceled", err)
	}
	if err := b.Unlock(ctx, "issue_cert_rms"); err != nil {
		t.Errorf("b.Unlock = %v", err)
	}
	if err := b.Unlock(ctx, "issue_cert_rms"); err == nil {
		t.Error("second b.Unlock = nil; want an error: the lock is not held")
	}
}

// TestRedisStorageStaleLock: a lock whose holder died (a token nobody
// renews) is taken once its TTL runs out.
func TestRedisStorageStaleLock(t *testing.T) {
	url := redistest.URL(t)
	c := newClient(t, url)
	s := newStorage(t, c, redistest.Prefix(t, url, "acmestale"), secretA)
	s.retry = 1
	ctx := context.Background()
	if err := c.Do(ctx, c.B().Set().Key(s.lockKey("issue_cert_rms")).Value("dead replica").Px(50*time.Millisecond).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := s.Lock(ctx, "issue_cert_rms"); err != nil {
		t.Fatalf("Lock over a stale lock = %v", err)
	}
	if err := s.Unlock(ctx, "issue_cert_rms"); err != nil {
		t.Fatalf("Unlock = %v", err)
	}
}

func TestRedisStorageOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    RedisStorageOptions
		want []string
	}{
		{"zero", RedisStorageOptions{}, []string{"Client", "Secrets", "Deployment"}},
		{"short secret", RedisStorageOptions{Client: fakeClient{}, Secrets: [][]byte{[]byte("short")}, Deployment: "d"}, []string{"Secrets[0]"}},
		{"short lock", RedisStorageOptions{Client: fakeClient{}, Secrets: [][]byte{secretA}, Deployment: "d", LockTTL: 1}, []string{"LockTTL"}},
		{"ok", RedisStorageOptions{Client: fakeClient{}, Secrets: [][]byte{secretA}, Deployment: "d"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if got := fields(err); !slices.Equal(got, tc.want) {
				t.Errorf("Validate() = %v; want fields %q", err, tc.want)
			}
			if err != nil && bytes.Contains([]byte(err.Error()), []byte("short")) {
				t.Errorf("Validate() = %v; it must not print a secret", err)
			}
		})
	}
}

// fakeClient stands for a client where none is used.
type fakeClient struct{ rueidis.Client }
