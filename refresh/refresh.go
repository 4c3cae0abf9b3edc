// Package refresh re-checks sessions with the OpenID provider, so that a
// user disabled there, or one the sign-in rules now refuse, loses the
// session within about one interval.
//
// A Refresher is asked about every session a request presents
// (Refresher.IfDue). A session whose check (sessions.Session.CheckDue) is
// not due is used as it is. A due one is checked by one request across
// every replica, under the store's lock (sessions.Updater): the provider
// redeems the session's refresh token, the Judge that the caller gives
// decides whether the answer keeps the session (the middleware judges it
// as a new sign-in), and the session is stored with the new refresh token
// and its next check due one Options.Interval later.
//
//	r, err := refresh.New(refresh.Options{Store: store, Provider: provider, Judge: judge,
//		Interval: 15 * time.Minute})
//	s, live, err := r.IfDue(ctx, cookie, s)
//
// The outcomes:
//
//   - refreshed: the new session is used, and logged at Info.
//   - refused, by the provider (oidc.ErrRefreshRefused, such as
//     invalid_grant for a disabled user, or an answer without a usable
//     email) or by the Judge (ErrRefused, a *RuleError naming the sign-in
//     rule): the session is deleted and the request is signed out, at once,
//     whatever the grace.
//   - another request holds the lock, or refreshed first: the session is
//     used as that request left it, or within its grace.
//   - the provider cannot be reached: the session stays usable until
//     Options.Grace past its due time, then counts as signed out until a
//     check succeeds; this replica asks again about that session only after
//     10 seconds, so an outage does not cost every request a timeout.
//   - the store cannot answer: an error, which the caller answers with 503
//     and never as signed out.
//
// One call to the provider is bounded by 10 seconds, the lock by 30.
package refresh

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/rezigate/rezigate/internal/lru"
	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/sessions"
)

const (
	// timeout bounds one call to the provider's token endpoint while a
	// request waits for it.
	timeout = 10 * time.Second
	// lockTTL bounds how long a refresh lock is held should its holder
	// die: longer than any refresh takes.
	lockTTL = 3 * timeout
	// retry is how long a replica waits before it asks a provider that
	// could not be reached about the same session again, so that a
	// provider outage does not cost every request a timeout.
	retry = 10 * time.Second
	// backoffSize bounds the sessions whose failed refresh is remembered.
	backoffSize = 10000
)

// ErrRefused marks a refresh whose answer ends the session: the session
// has no refresh token, or the Judge refused the provider's answer (the
// provider says another user, or a user who may no longer sign in here).
// A Judge returns it, wrapped, to end a session.
var ErrRefused = errors.New("refresh: the provider's answer ends the session")

// errFresh says that another request refreshed the session first.
var errFresh = errors.New("refresh: already refreshed")

// RuleError is the error of a Judge whose sign-in rule refuses the
// refreshed identity; it matches ErrRefused, and the Refresher logs Rule
// and Reason rather than the error. Its zero value names no rule and
// still ends the session.
type RuleError struct {
	// Rule names the sign-in rule that refuses, as the log shows it
	// (policy.SignInResult.Rule).
	Rule string
	// Reason says why, for the log (policy.SignInResult.Reason); never
	// shown to the user.
	Reason string
}

// Error reads "refresh: refused by sign-in rule Rule: Reason".
func (e *RuleError) Error() string {
	return "refresh: refused by sign-in rule " + e.Rule + ": " + e.Reason
}

// Is reports whether target is ErrRefused, so that errors.Is finds it.
func (e *RuleError) Is(target error) bool { return target == ErrRefused }

// Refresher re-checks due sessions. It is safe for concurrent use.
type Refresher struct {
	opts    Options
	log     *slog.Logger
	backoff *backoff
}

// New validates opts and returns the Refresher; an invalid opts gets
// Validate's error, and a nil Store, Provider or Judge, or a zero
// Interval, an *optionerr.Error naming it. It does no I/O.
func New(opts Options) (*Refresher, error) {
	err := opts.Validate()
	required := func(field string) {
		err = errors.Join(err, optionerr.New("refresh", field, "required"))
	}
	if opts.Store == nil {
		required("Store")
	}
	if opts.Provider == nil {
		required("Provider")
	}
	if opts.Judge == nil {
		required("Judge")
	}
	if opts.Interval == 0 {
		required("Interval")
	}
	if err != nil {
		return nil, err
	}
	if opts.Grace == 0 {
		opts.Grace = DefaultGrace
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Refresher{opts: opts, log: opts.Logger, backoff: newBackoff()}
	if r.log == nil {
		r.log = slog.Default()
	}
	return r, nil
}

// IfDue returns s, the session of cookie, as it may be used now. A
// session whose check is not due is returned as it is. A due one is
// checked with the provider by one request across every replica (the
// store's lock); the others, and every request while the provider cannot
// be reached, keep using it until the grace past its due time ends. live
// false means "treat as signed out"; an error means the store could not
// answer.
func (r *Refresher) IfDue(ctx context.Context, cookie string, s sessions.Session) (_ sessions.Session, live bool, _ error) {
	now := r.opts.Now()
	if s.CheckDue.IsZero() || now.Before(s.CheckDue) {
		return s, true, nil
	}
	inGrace := r.opts.Grace > 0 && now.Before(s.CheckDue.Add(r.opts.Grace))
	if r.backoff.waiting(cookie, now) {
		return s, inGrace, nil
	}
	release, err := r.opts.Store.TryLockSession(ctx, cookie, lockTTL)
	switch {
	case errors.Is(err, sessions.ErrLocked): // another request is refreshing it
		return s, inGrace, nil
	case errors.Is(err, sessions.ErrNotFound):
		return s, false, nil
	case err != nil:
		return s, false, err
	}
	defer func() {
		if _, err := release(context.WithoutCancel(ctx)); err != nil {
			r.log.Warn("refresh lock not released; it expires by itself", "request_id", requestid.FromContext(ctx), "err", err)
		}
	}()
	var current sessions.Session
	next, err := r.opts.Store.Update(ctx, cookie, func(cur sessions.Session) (sessions.Session, error) {
		current = cur
		if !cur.CheckDue.IsZero() && now.Before(cur.CheckDue) {
			return cur, errFresh
		}
		return r.refresh(ctx, cur, now)
	})
	log := func(msg string, err error) {
		r.log.Warn(msg, "request_id", requestid.FromContext(ctx), "uid", s.UID, "err", err)
	}
	switch {
	case err == nil:
		r.backoff.forget(cookie)
		r.log.Info("session refreshed with the provider", "request_id", requestid.FromContext(ctx), "uid", next.UID)
		return next, true, nil
	case errors.Is(err, errFresh):
		return current, true, nil
	case errors.Is(err, ErrRefused), errors.Is(err, oidc.ErrRefreshRefused), errors.Is(err, oidc.ErrNoEmail),
		errors.Is(err, oidc.ErrBadEmail), errors.Is(err, oidc.ErrUserInfoSubject):
		// The next request is signed out: a browser is sent to sign in
		// again, and the callback applies the same rules, so a user a
		// rule refuses ends on that rule's 403 page.
		var by *RuleError
		if errors.As(err, &by) {
			r.log.Warn("a sign-in rule refuses the refreshed identity: signed out", "request_id", requestid.FromContext(ctx),
				"uid", s.UID, "rule", by.Rule, "reason", by.Reason)
		} else {
			log("the provider refused to refresh the session: signed out", err)
		}
		if derr := r.opts.Store.Delete(ctx, cookie); derr != nil {
			log("refused session not deleted; it is refused again on its next use", derr)
		}
		return s, false, nil
	case errors.Is(err, sessions.ErrNotFound):
		return s, false, nil
	case errors.Is(err, sessions.ErrConflict): // changed despite the lock: use it as it is
		return s, inGrace, nil
	case errors.Is(err, sessions.ErrUnavailable):
		return s, false, err
	}
	r.backoff.wait(cookie, now.Add(retry))
	if inGrace {
		log("session not refreshed: the provider cannot be reached; kept within its grace", err)
	} else {
		log("session not refreshed: the provider cannot be reached and the grace is over: signed out until it answers", err)
	}
	return s, inGrace, nil
}

// refresh asks the provider about the user of cur, has the Judge decide
// on its answer, and returns the session the Judge made of it with the
// new refresh token and the next check due one interval from now. A
// session without a refresh token is refused: it cannot be checked.
func (r *Refresher) refresh(ctx context.Context, cur sessions.Session, now time.Time) (sessions.Session, error) {
	if cur.RefreshToken == "" {
		return cur, ErrRefused
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	id, rt, err := r.opts.Provider.Refresh(ctx, cur.RefreshToken)
	if err != nil {
		return cur, err
	}
	next, err := r.opts.Judge(cur, id)
	if err != nil {
		return cur, err
	}
	next.RefreshToken, next.CheckedAt, next.CheckDue = rt, now, now.Add(r.opts.Interval)
	return next, nil
}

// backoff remembers, per session cookie, until when a replica does not
// ask an unreachable provider again. It is bounded: when full, the least
// recently used entry goes, which only means one more attempt.
type backoff struct {
	lru *lru.Cache[string, time.Time]
}

func newBackoff() *backoff {
	return &backoff{lru: lru.New[string, time.Time](backoffSize)}
}

func (b *backoff) waiting(cookie string, now time.Time) bool {
	until, ok := b.lru.Get(cookie)
	return ok && now.Before(until)
}

func (b *backoff) wait(cookie string, until time.Time) { b.lru.Add(cookie, until) }

func (b *backoff) forget(cookie string) { b.lru.Remove(cookie) }
