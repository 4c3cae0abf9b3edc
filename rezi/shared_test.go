package rezi

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// mapCache is a TokenCache in a map, as two replicas sharing one Redis
// see it; fail makes every call fail as an unreachable store does.
type mapCache struct {
	mu     sync.Mutex
	tokens map[[2]string]string
	exps   map[[2]string]time.Time
	fail   bool
}

func newMapCache() *mapCache {
	return &mapCache{tokens: map[[2]string]string{}, exps: map[[2]string]time.Time{}}
}

func (m *mapCache) Get(_ context.Context, email, uid string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return "", false, errors.New("store unavailable")
	}
	t, ok := m.tokens[[2]string{email, uid}]
	return t, ok, nil
}

func (m *mapCache) Put(_ context.Context, email, uid, token string, exp time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("store unavailable")
	}
	m.tokens[[2]string{email, uid}] = token
	m.exps[[2]string{email, uid}] = exp
	return nil
}

// TestSharedTokenCache: with Options.TokenCache, a token one client
// fetched is served by another client from the shared cache; the expiry
// handed over is the token's, capped at the longest life trusted; a
// failing shared cache means asking Rezi, never an error.
func TestSharedTokenCache(t *testing.T) {
	tok := tokenExpiringIn(30 * time.Minute)
	s := newStub(t, succeed(tok))
	shared := newMapCache()
	newClient := func() *Client {
		c, err := New(Options{APIURL: s.url(), PrivateKey: testKey, TokenCache: shared})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := newClient(), newClient()
	ctx := context.Background()
	if got, err := a.UserToken(ctx, "alice@example.com", "uid-a"); err != nil || got != tok {
		t.Fatalf("first UserToken = %q, %v; want the token", got, err)
	}
	if got, err := b.UserToken(ctx, "alice@example.com", "uid-a"); err != nil || got != tok {
		t.Fatalf("UserToken on the other client = %q, %v; want the shared token", got, err)
	}
	if n := s.calls.Load(); n != 1 {
		t.Errorf("Rezi calls = %d; want 1 (the second client hits the shared cache)", n)
	}
	exp := shared.exps[[2]string{"alice@example.com", "uid-a"}]
	if d := time.Until(exp); d < 29*time.Minute || d > 31*time.Minute {
		t.Errorf("expiry handed to the shared cache is %v away; want the token's 30m", d)
	}
	if a.cache != nil {
		t.Error("the in-memory cache is on beside the shared one")
	}
	shared.mu.Lock()
	shared.fail = true
	shared.mu.Unlock()
	if got, err := b.UserToken(ctx, "bob@example.com", "uid-b"); err != nil || got != tok {
		t.Fatalf("UserToken with the shared cache down = %q, %v; want a token from Rezi", got, err)
	}
	if n := s.calls.Load(); n != 2 {
		t.Errorf("Rezi calls = %d; want 2", n)
	}
}
