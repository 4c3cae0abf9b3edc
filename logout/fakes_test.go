package logout_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rezigate/rezigate/oidc"
)

// idp stands in for *oidc.Provider: it knows its issuer and the logout
// tokens it issued, and answers err, when set, for every token.
type idp struct {
	issuer string
	tokens map[string]oidc.Logout
	err    error

	mu       sync.Mutex
	verified int // how many tokens it was asked to verify
}

func (p *idp) Issuer() string { return p.issuer }

func (p *idp) VerifyLogoutToken(_ context.Context, raw string) (oidc.Logout, error) {
	p.mu.Lock()
	p.verified++
	p.mu.Unlock()
	if p.err != nil {
		return oidc.Logout{}, p.err
	}
	l, ok := p.tokens[raw]
	if !ok {
		return oidc.Logout{}, fmt.Errorf("%w: test: not a token of this provider", oidc.ErrBadLogoutToken)
	}
	return l, nil
}

// memStore stands in for a sessions.Revoker and sessions.JTIRecorder: it
// keeps session counts by sid hash and by uid and the recorded jtis, and
// writes down every call in order. fail[method] is returned once by the
// next call of that method.
type memStore struct {
	mu    sync.Mutex
	bySID map[string]int
	byUID map[string]int
	jtis  map[string]time.Duration
	fail  map[string]error
	calls []string
}

func newMemStore() *memStore {
	return &memStore{bySID: map[string]int{}, byUID: map[string]int{}, jtis: map[string]time.Duration{}, fail: map[string]error{}}
}

// left is how many sessions the store still keeps.
func (m *memStore) left() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.bySID {
		n += c
	}
	for _, c := range m.byUID {
		n += c
	}
	return n
}

// call writes the call down and returns its failure, if one is due.
func (m *memStore) call(method, arg string) error {
	m.calls = append(m.calls, method+" "+arg)
	err := m.fail[method]
	delete(m.fail, method)
	return err
}

func (m *memStore) DeleteUser(_ context.Context, uid string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.call("DeleteUser", uid); err != nil {
		return 0, err
	}
	n := m.byUID[uid]
	delete(m.byUID, uid)
	return n, nil
}

func (m *memStore) DeleteSID(_ context.Context, sidHash string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.call("DeleteSID", sidHash); err != nil {
		return 0, err
	}
	n := m.bySID[sidHash]
	delete(m.bySID, sidHash)
	return n, nil
}

func (m *memStore) LookupJTI(_ context.Context, jti string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.call("LookupJTI", jti); err != nil {
		return false, err
	}
	_, seen := m.jtis[jti]
	return seen, nil
}

func (m *memStore) SeenJTI(_ context.Context, jti string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.call("SeenJTI", jti+" "+ttl.String()); err != nil {
		return false, err
	}
	_, seen := m.jtis[jti]
	m.jtis[jti] = ttl
	return seen, nil
}
