package refresh_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/refresh"
	"github.com/rezigate/rezigate/sessions"
)

const (
	cookie   = "cookie-1"
	interval = 15 * time.Minute
	grace    = time.Hour
)

// due is when the test session's check is due.
var due = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// session is the session a request presents: its check due at due.
func session() sessions.Session {
	return sessions.Session{UID: "u-1", Email: "alice@example.com", Groups: []string{"staff"}, RefreshToken: "rt-1",
		CheckedAt: due.Add(-interval), CheckDue: due}
}

// takeEmail is a Judge that keeps every user and takes the email and
// groups of an answer with an ID token.
func takeEmail(cur sessions.Session, id oidc.Identity) (sessions.Session, error) {
	if id.Subject != "" {
		cur.Email, cur.Groups = id.Email, id.Groups
	}
	return cur, nil
}

// warn is the log line of a warning about the test session.
func warn(msg, err string) string {
	return "level=WARN msg=" + strconv.Quote(msg) + " request_id=req-1 uid=u-1 err=" + strconv.Quote(err)
}

const refreshed = `level=INFO msg="session refreshed with the provider" request_id=req-1 uid=u-1`

// TestIfDue: every outcome of IfDue, what it returns, what the store
// keeps, whether the provider is asked, and the log lines it leaves.
func TestIfDue(t *testing.T) {
	answer := oidc.Identity{Issuer: "https://idp.example.com", Subject: "alice", Email: "alice@new.example.com", Groups: []string{"ops"}}
	unreachable := errors.New("oidc: refresh: dial tcp: connection refused")
	refusedErr := func(err error) string { return "memstore: update: " + err.Error() }
	wantRefreshed := func(now time.Time) sessions.Session {
		s := session()
		s.Email, s.Groups, s.RefreshToken, s.CheckedAt, s.CheckDue = answer.Email, answer.Groups, "rotated-rt-1", now, now.Add(interval)
		return s
	}
	const (
		refusedMsg = "the provider refused to refresh the session: signed out"
		keptMsg    = "session not refreshed: the provider cannot be reached; kept within its grace"
		overMsg    = "session not refreshed: the provider cannot be reached and the grace is over: signed out until it answers"
	)
	type want struct {
		session sessions.Session // nil-equal zero: the session presented
		live    bool
		err     error // errors.Is
		deleted bool
		calls   int // of the provider
		log     []string
	}
	cases := []struct {
		name    string
		after   time.Duration // now, after due
		present func(*sessions.Session)
		grace   time.Duration
		err     error // the provider's
		judge   refresh.Judge
		fail    map[string]error
		swap    func(sessions.Session) sessions.Session
		want    want
	}{
		{name: "not due yet", after: -time.Second, want: want{live: true}},
		{name: "never due", after: time.Hour, present: func(s *sessions.Session) { s.CheckDue = time.Time{} }, want: want{live: true}},
		{name: "refreshed", after: time.Minute,
			want: want{session: wantRefreshed(due.Add(time.Minute)), live: true, calls: 1, log: []string{refreshed}}},
		{name: "refreshed, lock not released", after: time.Minute, fail: map[string]error{"release": errors.New("memstore: release: i/o timeout")},
			want: want{session: wantRefreshed(due.Add(time.Minute)), live: true, calls: 1, log: []string{refreshed,
				`level=WARN msg="refresh lock not released; it expires by itself" request_id=req-1 err="memstore: release: i/o timeout"`}}},
		{name: "locked by another request, within grace", after: time.Minute,
			fail: map[string]error{"TryLockSession": fmt.Errorf("memstore: %w", sessions.ErrLocked)}, want: want{live: true}},
		{name: "locked by another request, grace over", after: grace,
			fail: map[string]error{"TryLockSession": fmt.Errorf("memstore: %w", sessions.ErrLocked)}, want: want{live: false}},
		{name: "lock: session gone", after: time.Minute,
			fail: map[string]error{"TryLockSession": fmt.Errorf("memstore: %w", sessions.ErrNotFound)}, want: want{live: false}},
		{name: "lock: store unavailable", after: time.Minute,
			fail: map[string]error{"TryLockSession": fmt.Errorf("memstore: %w", sessions.ErrUnavailable)}, want: want{err: sessions.ErrUnavailable}},
		{name: "refreshed first by another request", after: time.Minute,
			swap: func(s sessions.Session) sessions.Session {
				s.RefreshToken, s.CheckDue = "rt-2", due.Add(interval)
				return s
			},
			want: want{session: func() sessions.Session {
				s := session()
				s.RefreshToken, s.CheckDue = "rt-2", due.Add(interval)
				return s
			}(), live: true}},
		{name: "no refresh token", after: time.Minute, present: func(s *sessions.Session) { s.RefreshToken = "" },
			want: want{deleted: true, log: []string{warn(refusedMsg, refusedErr(refresh.ErrRefused))}}},
		{name: "provider refuses", after: time.Minute, err: fmt.Errorf("oidc: refresh: %w", oidc.ErrRefreshRefused),
			want: want{deleted: true, calls: 1, log: []string{warn(refusedMsg, refusedErr(fmt.Errorf("oidc: refresh: %w", oidc.ErrRefreshRefused)))}}},
		{name: "provider: no email", after: time.Minute, err: oidc.ErrNoEmail,
			want: want{deleted: true, calls: 1, log: []string{warn(refusedMsg, refusedErr(oidc.ErrNoEmail))}}},
		{name: "provider: bad email", after: time.Minute, err: oidc.ErrBadEmail,
			want: want{deleted: true, calls: 1, log: []string{warn(refusedMsg, refusedErr(oidc.ErrBadEmail))}}},
		{name: "provider: userinfo of another subject", after: time.Minute, err: oidc.ErrUserInfoSubject,
			want: want{deleted: true, calls: 1, log: []string{warn(refusedMsg, refusedErr(oidc.ErrUserInfoSubject))}}},
		{name: "judge refuses", after: time.Minute,
			judge: func(cur sessions.Session, _ oidc.Identity) (sessions.Session, error) {
				return cur, fmt.Errorf("%w: another user", refresh.ErrRefused)
			},
			want: want{deleted: true, calls: 1, log: []string{warn(refusedMsg, refusedErr(fmt.Errorf("%w: another user", refresh.ErrRefused)))}}},
		{name: "a sign-in rule refuses", after: time.Minute,
			judge: func(cur sessions.Session, _ oidc.Identity) (sessions.Session, error) {
				return cur, &refresh.RuleError{Rule: "allow_groups", Reason: "in none of the allowed groups"}
			},
			want: want{deleted: true, calls: 1, log: []string{
				`level=WARN msg="a sign-in rule refuses the refreshed identity: signed out" request_id=req-1 uid=u-1 rule=allow_groups reason="in none of the allowed groups"`}}},
		{name: "refused, not deleted", after: time.Minute, err: oidc.ErrRefreshRefused,
			fail: map[string]error{"Delete": errors.New("memstore: delete: i/o timeout")},
			want: want{calls: 1, log: []string{warn(refusedMsg, refusedErr(oidc.ErrRefreshRefused)),
				warn("refused session not deleted; it is refused again on its next use", "memstore: delete: i/o timeout")}}},
		{name: "update: session gone", after: time.Minute,
			fail: map[string]error{"Update": fmt.Errorf("memstore: %w", sessions.ErrNotFound)}, want: want{live: false}},
		{name: "update: changed despite the lock, within grace", after: time.Minute,
			fail: map[string]error{"Update": fmt.Errorf("memstore: %w", sessions.ErrConflict)}, want: want{live: true}},
		{name: "update: changed despite the lock, grace over", after: 2 * grace,
			fail: map[string]error{"Update": fmt.Errorf("memstore: %w", sessions.ErrConflict)}, want: want{live: false}},
		{name: "update: store unavailable", after: time.Minute,
			fail: map[string]error{"Update": fmt.Errorf("memstore: %w", sessions.ErrUnavailable)}, want: want{err: sessions.ErrUnavailable}},
		{name: "provider unreachable, within grace", after: grace - time.Second, err: unreachable,
			want: want{live: true, calls: 1, log: []string{warn(keptMsg, refusedErr(unreachable))}}},
		{name: "provider unreachable, grace over", after: grace, err: unreachable,
			want: want{live: false, calls: 1, log: []string{warn(overMsg, refusedErr(unreachable))}}},
		{name: "provider unreachable, no grace", after: time.Second, grace: -1, err: unreachable,
			want: want{live: false, calls: 1, log: []string{warn(overMsg, refusedErr(unreachable))}}},
		{name: "judge fails otherwise: as unreachable", after: time.Minute,
			judge: func(cur sessions.Session, _ oidc.Identity) (sessions.Session, error) {
				return cur, errors.New("judge: directory unavailable")
			},
			want: want{live: true, calls: 1, log: []string{warn(keptMsg, "memstore: update: judge: directory unavailable")}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := session()
			if tc.present != nil {
				tc.present(&s)
			}
			store := newMemStore(cookie, s)
			if tc.fail != nil {
				store.fail = tc.fail
			}
			store.swap = tc.swap
			provider := &idp{id: answer, err: tc.err}
			judge := tc.judge
			if judge == nil {
				judge = takeEmail
			}
			g := tc.grace
			if g == 0 {
				g = grace
			}
			var log textLog
			now := due.Add(tc.after)
			r, err := refresh.New(refresh.Options{Store: store, Provider: provider, Judge: judge, Interval: interval, Grace: g,
				Now: func() time.Time { return now }, Logger: log.logger()})
			if err != nil {
				t.Fatal(err)
			}
			got, live, err := r.IfDue(requestid.NewContext(context.Background(), "req-1"), cookie, s)

			want := tc.want.session
			if want.UID == "" {
				want = s
			}
			if !equal(got, want) {
				t.Errorf("IfDue() session = %+v; want %+v", got, want)
			}
			if live != tc.want.live {
				t.Errorf("IfDue() live = %v; want %v", live, tc.want.live)
			}
			if (tc.want.err == nil) != (err == nil) || (err != nil && !errors.Is(err, tc.want.err)) {
				t.Errorf("IfDue() error = %v; want %v", err, tc.want.err)
			}
			if stored, ok := store.get(cookie); ok == tc.want.deleted {
				t.Errorf("session deleted = %v; want %v", !ok, tc.want.deleted)
			} else if ok && tc.want.session.UID != "" && !equal(stored, tc.want.session) {
				t.Errorf("stored session = %+v; want %+v", stored, tc.want.session)
			}
			if n := provider.calls(); n != tc.want.calls {
				t.Errorf("provider asked %d times; want %d", n, tc.want.calls)
			}
			if got := log.lines(); !slices.Equal(got, tc.want.log) {
				t.Errorf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want.log, "\n"))
			}
		})
	}
}

// equal compares the fields of two sessions that a refresh may change.
func equal(a, b sessions.Session) bool {
	return a.UID == b.UID && a.Email == b.Email && slices.Equal(a.Groups, b.Groups) && a.RefreshToken == b.RefreshToken &&
		a.IDToken == b.IDToken && a.CheckedAt.Equal(b.CheckedAt) && a.CheckDue.Equal(b.CheckDue)
}

// TestIfDueBackoff: after the provider could not be reached about a
// session, this Refresher does not ask about it again for 10 seconds,
// while it still asks about other sessions, then asks again.
func TestIfDueBackoff(t *testing.T) {
	s := session()
	store := newMemStore(cookie, s)
	store.sessions["cookie-2"] = s
	provider := &idp{err: errors.New("oidc: refresh: connection refused")}
	now := due.Add(time.Minute)
	r, err := refresh.New(refresh.Options{Store: store, Provider: provider, Judge: takeEmail, Interval: interval,
		Now: func() time.Time { return now }, Logger: (&textLog{}).logger()})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		after  time.Duration // since the first failure
		cookie string
		calls  int // of the provider, in all
	}{
		{"first failure", 0, cookie, 1},
		{"at once again", 0, cookie, 1},
		{"another session", time.Second, "cookie-2", 2},
		{"just before the retry", 10*time.Second - time.Nanosecond, cookie, 2},
		{"at the retry", 10 * time.Second, cookie, 3},
	}
	start := now
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			now = start.Add(st.after)
			_, live, err := r.IfDue(context.Background(), st.cookie, s)
			if !live || err != nil {
				t.Errorf("IfDue() = live %v, %v; want live within the grace", live, err)
			}
			if n := provider.calls(); n != st.calls {
				t.Errorf("provider asked %d times; want %d", n, st.calls)
			}
		})
	}
}

// TestIfDueBounds: the lock is asked for 30 seconds and the provider's
// call is bounded by 10, on the clock of the context.
func TestIfDueBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := session()
		s.CheckDue = time.Now()
		store := newMemStore(cookie, s)
		provider := &idp{id: oidc.Identity{Issuer: "https://idp.example.com"}}
		r, err := refresh.New(refresh.Options{Store: store, Provider: provider, Judge: takeEmail, Interval: interval,
			Logger: (&textLog{}).logger()})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		got, live, err := r.IfDue(context.Background(), cookie, s)
		if !live || err != nil {
			t.Fatalf("IfDue() = live %v, %v; want refreshed", live, err)
		}
		if !got.CheckedAt.Equal(start) || !got.CheckDue.Equal(start.Add(interval)) {
			t.Errorf("IfDue() checked %v, due %v; want %v, %v (Now nil means time.Now)", got.CheckedAt, got.CheckDue, start, start.Add(interval))
		}
		if store.ttl != 30*time.Second {
			t.Errorf("lock ttl = %v; want 30s", store.ttl)
		}
		if want := start.Add(10 * time.Second); len(provider.deadlines) != 1 || !provider.deadlines[0].Equal(want) {
			t.Errorf("provider's deadlines = %v; want [%v]", provider.deadlines, want)
		}
	})
}

// TestRuleError: a sign-in rule's refusal is ErrRefused, and says which
// rule.
func TestRuleError(t *testing.T) {
	var err error = fmt.Errorf("judge: %w", &refresh.RuleError{Rule: "email_domains", Reason: "example.org is not allowed"})
	if !errors.Is(err, refresh.ErrRefused) {
		t.Errorf("errors.Is(%v, ErrRefused) = false; want true", err)
	}
	if want := "judge: refresh: refused by sign-in rule email_domains: example.org is not allowed"; err.Error() != want {
		t.Errorf("Error() = %q; want %q", err.Error(), want)
	}
}

// TestNew: New requires Store, Provider, Judge and Interval, and refuses
// a negative Interval, naming each field; Validate leaves the required
// ones to New.
func TestNew(t *testing.T) {
	full := refresh.Options{Store: newMemStore(cookie, session()), Provider: &idp{}, Judge: takeEmail, Interval: interval}
	cases := []struct {
		name     string
		opts     func(*refresh.Options)
		validate []string // fields Validate names
		new      []string // fields New names
	}{
		{"complete", func(*refresh.Options) {}, nil, nil},
		{"negative grace means none", func(o *refresh.Options) { o.Grace = -1 }, nil, nil},
		{"empty", func(o *refresh.Options) { *o = refresh.Options{} }, nil, []string{"Store", "Provider", "Judge", "Interval"}},
		{"negative interval", func(o *refresh.Options) { o.Interval = -time.Second }, []string{"Interval"}, []string{"Interval"}},
	}
	fields := func(err error) []string {
		var out []string
		for _, fe := range optionerr.Fields(err) {
			if fe.Pkg != "refresh" {
				t.Errorf("error %v names package %q; want refresh", fe, fe.Pkg)
			}
			out = append(out, fe.Field)
		}
		return out
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := full
			tc.opts(&o)
			if got := fields(o.Validate()); !slices.Equal(got, tc.validate) {
				t.Errorf("Validate() names %v; want %v", got, tc.validate)
			}
			r, err := refresh.New(o)
			if got := fields(err); !slices.Equal(got, tc.new) {
				t.Errorf("New() names %v; want %v", got, tc.new)
			}
			if (r == nil) != (err != nil) {
				t.Errorf("New() = %v, %v; want exactly one of them", r, err)
			}
		})
	}
}
