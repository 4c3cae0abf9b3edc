package refresh_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/sessions"
)

// memStore stands in for a sessions.Updater: it keeps sessions by
// cookie, and fail[method] ("TryLockSession", "Update", "Delete",
// "release") is returned by every call of that method. It writes down
// the lock ttl asked for and the cookies deleted.
type memStore struct {
	mu       sync.Mutex
	sessions map[string]sessions.Session
	fail     map[string]error
	// swap, when set, replaces the stored session while Update reads it,
	// as another replica's write would.
	swap    func(sessions.Session) sessions.Session
	ttl     time.Duration
	locked  bool
	deleted []string
}

func newMemStore(cookie string, s sessions.Session) *memStore {
	return &memStore{sessions: map[string]sessions.Session{cookie: s}, fail: map[string]error{}}
}

func (m *memStore) TryLockSession(_ context.Context, cookie string, ttl time.Duration) (func(context.Context) (bool, error), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ttl = ttl
	if err := m.fail["TryLockSession"]; err != nil {
		return nil, err
	}
	if _, ok := m.sessions[cookie]; !ok {
		return nil, fmt.Errorf("memstore: lock: %w", sessions.ErrNotFound)
	}
	if m.locked {
		return nil, fmt.Errorf("memstore: lock: %w", sessions.ErrLocked)
	}
	m.locked = true
	return func(context.Context) (bool, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.locked = false
		return true, m.fail["release"]
	}, nil
}

func (m *memStore) Update(_ context.Context, cookie string, fn func(sessions.Session) (sessions.Session, error)) (sessions.Session, error) {
	m.mu.Lock()
	if err := m.fail["Update"]; err != nil {
		m.mu.Unlock()
		return sessions.Session{}, err
	}
	cur, ok := m.sessions[cookie]
	if m.swap != nil && ok {
		cur = m.swap(cur)
		m.sessions[cookie] = cur
	}
	m.mu.Unlock()
	if !ok {
		return sessions.Session{}, fmt.Errorf("memstore: update: %w", sessions.ErrNotFound)
	}
	next, err := fn(cur)
	if err != nil {
		return sessions.Session{}, fmt.Errorf("memstore: update: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[cookie] = next
	return next, nil
}

func (m *memStore) Delete(_ context.Context, cookie string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail["Delete"]; err != nil {
		return err
	}
	delete(m.sessions, cookie)
	m.deleted = append(m.deleted, cookie)
	return nil
}

// get returns the stored session of cookie.
func (m *memStore) get(cookie string) (sessions.Session, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[cookie]
	return s, ok
}

// idp stands in for *oidc.Provider: Refresh answers id, the refresh
// token "rotated-" + the one given, and err, and writes down the tokens
// it was given and the deadline of each call.
type idp struct {
	id  oidc.Identity
	err error

	mu        sync.Mutex
	tokens    []string
	deadlines []time.Time
}

func (p *idp) Refresh(ctx context.Context, refreshToken string) (oidc.Identity, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokens = append(p.tokens, refreshToken)
	d, _ := ctx.Deadline()
	p.deadlines = append(p.deadlines, d)
	if p.err != nil {
		return oidc.Identity{}, "", p.err
	}
	return p.id, "rotated-" + refreshToken, nil
}

// calls is how many times Refresh was called.
func (p *idp) calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.tokens)
}

// textLog is the log of a Refresher as text lines without their time:
// `level=WARN msg="…" request_id=req-1 uid=u-1 err=…`.
type textLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *textLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *textLog) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
}

// lines returns the lines logged so far.
func (l *textLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(l.buf.String(), "\n"), "\n")
}
