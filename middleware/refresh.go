package middleware

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rezigate/rezigate/internal/lru"
	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/sessions"
)

const (
	// refreshTimeout bounds one call to the provider's token endpoint
	// while a request waits for it.
	refreshTimeout = 10 * time.Second
	// refreshLockTTL bounds how long a refresh lock is held should its
	// holder die: longer than any refresh takes.
	refreshLockTTL = 3 * refreshTimeout
	// refreshRetry is how long a replica waits before it asks a provider
	// that could not be reached about the same session again, so that a
	// provider outage does not cost every request a timeout.
	refreshRetry = 10 * time.Second
	// refreshBackoffSize bounds the sessions whose failed refresh is
	// remembered.
	refreshBackoffSize = 10000
)

// errRefused marks a refresh whose answer ends the session: the provider
// says another user, or a user who may no longer sign in here.
var errRefused = errors.New("middleware: refresh: the provider's answer ends the session")

// errFresh says that another request refreshed the session first.
var errFresh = errors.New("middleware: refresh: already refreshed")

// refreshIfDue returns s as it may be used now. A session whose check is
// not due is returned as it is. A due one is checked with the provider by
// one request across every replica (the store's lock); the others, and
// every request while the provider cannot be reached, keep using it until
// the grace past its due time ends. live false means "treat as signed
// out"; an error means the store could not answer.
func (a *Auth) refreshIfDue(ctx context.Context, cookie string, s sessions.Session) (_ sessions.Session, live bool, _ error) {
	now := a.now()
	if s.CheckDue.IsZero() || now.Before(s.CheckDue) {
		return s, true, nil
	}
	inGrace := a.opts.RefreshGrace > 0 && now.Before(s.CheckDue.Add(a.opts.RefreshGrace))
	if a.backoff.waiting(cookie, now) {
		return s, inGrace, nil
	}
	release, err := a.refresher.TryLockSession(ctx, cookie, refreshLockTTL)
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
			a.log.Warn("refresh lock not released; it expires by itself", "request_id", requestid.FromContext(ctx), "err", err)
		}
	}()
	var current sessions.Session
	next, err := a.refresher.Update(ctx, cookie, func(cur sessions.Session) (sessions.Session, error) {
		current = cur
		if !cur.CheckDue.IsZero() && now.Before(cur.CheckDue) {
			return cur, errFresh
		}
		return a.refresh(ctx, cur, now)
	})
	log := func(msg string, err error) {
		a.log.Warn(msg, "request_id", requestid.FromContext(ctx), "uid", s.UID, "err", err)
	}
	switch {
	case err == nil:
		a.backoff.forget(cookie)
		a.log.Info("session refreshed with the provider", "request_id", requestid.FromContext(ctx), "uid", next.UID)
		return next, true, nil
	case errors.Is(err, errFresh):
		return current, true, nil
	case errors.Is(err, errRefused), errors.Is(err, oidc.ErrRefreshRefused), errors.Is(err, oidc.ErrNoEmail),
		errors.Is(err, oidc.ErrBadEmail), errors.Is(err, oidc.ErrUserInfoSubject):
		// The next request is signed out: a browser is sent to sign in
		// again, and the callback applies the same rules, so a user a
		// rule refuses ends on that rule's 403 page.
		var by *refusedBy
		if errors.As(err, &by) {
			a.log.Warn("a sign-in rule refuses the refreshed identity: signed out", "request_id", requestid.FromContext(ctx),
				"uid", s.UID, "rule", string(by.res.Rule), "reason", by.res.Reason)
		} else {
			log("the provider refused to refresh the session: signed out", err)
		}
		if derr := a.store.Delete(ctx, cookie); derr != nil {
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
	a.backoff.wait(cookie, now.Add(refreshRetry))
	if inGrace {
		log("session not refreshed: the provider cannot be reached; kept within its grace", err)
	} else {
		log("session not refreshed: the provider cannot be reached and the grace is over: signed out until it answers", err)
	}
	return s, inGrace, nil
}

// refusedBy is the error of a refresh whose identity a sign-in rule
// refuses; it matches errRefused.
type refusedBy struct{ res policy.SignInResult }

func (e *refusedBy) Error() string {
	return "middleware: refresh: refused by sign-in rule " + string(e.res.Rule) + ": " + e.res.Reason
}

func (e *refusedBy) Is(target error) bool { return target == errRefused }

// refresh asks the provider about the user of cur and returns cur with
// what it said: the new refresh token, email and groups, and the next
// check due one interval from now.
//
// The answer is judged as a new sign-in is, by the same function
// (policy.Policy.SignIn, as the callback calls it), so a user who would
// be refused a sign-in now loses the session: removed from every group of
// allow_groups, an address no longer verified or moved out of the
// allowed domains. When the answer has a new ID token, that token is the
// whole truth, as at sign-in: its groups replace the session's (kept
// and limited as at sign-in, by keptGroups), and a token without the
// groups claim means no groups. Without one (OpenID
// Connect makes it optional), the provider only said that the user may
// stay, and the rules are applied again to what the session holds, with
// the address taken as verified at sign-in; a policy changed since then
// (a domain or group dropped) still ends the session. A refusal ends the
// session at once (refreshIfDue deletes it), as invalid_grant does.
func (a *Auth) refresh(ctx context.Context, cur sessions.Session, now time.Time) (sessions.Session, error) {
	if cur.RefreshToken == "" {
		return cur, errRefused
	}
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	id, rt, err := a.opts.Provider.Refresh(ctx, cur.RefreshToken)
	if err != nil {
		return cur, err
	}
	who := policy.Identity{Email: cur.Email, EmailVerified: true, Groups: cur.Groups, HostedDomain: policy.EmailDomain(cur.Email)}
	if id.Subject != "" {
		if a.uid(id.Issuer, id.Subject) != cur.UID {
			return cur, errRefused
		}
		groups, err := a.keptGroups(id)
		if err != nil {
			return cur, fmt.Errorf("%w: %w", errRefused, err)
		}
		id.Groups = groups
		who = signInIdentity(id)
		cur.Email, cur.Groups = id.Email, id.Groups
		if id.IDToken != "" {
			cur.IDToken = id.IDToken // the hint names the newest token
		}
	}
	if res := a.access.policy.SignIn(who); !res.Allowed {
		return cur, &refusedBy{res}
	}
	cur.RefreshToken, cur.CheckedAt, cur.CheckDue = rt, now, now.Add(a.opts.RefreshInterval)
	return cur, nil
}

// refreshBackoff remembers, per session cookie, until when a replica does
// not ask an unreachable provider again. It is bounded: when full, the
// least recently used entry goes, which only means one more attempt.
type refreshBackoff struct {
	lru *lru.Cache[string, time.Time]
}

func newRefreshBackoff() *refreshBackoff {
	return &refreshBackoff{lru: lru.New[string, time.Time](refreshBackoffSize)}
}

func (b *refreshBackoff) waiting(cookie string, now time.Time) bool {
	until, ok := b.lru.Get(cookie)
	return ok && now.Before(until)
}

func (b *refreshBackoff) wait(cookie string, until time.Time) { b.lru.Add(cookie, until) }

func (b *refreshBackoff) forget(cookie string) { b.lru.Remove(cookie) }
