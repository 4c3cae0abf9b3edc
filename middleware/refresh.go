package middleware

import (
	"fmt"
	"time"

	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/refresh"
	"github.com/rezigate/rezigate/sessions"
)

// initRefresh builds the session refresh (package refresh) when
// RefreshInterval is set and the store is a sessions.Updater, with the
// middleware's provider, grace, clock and log, and judgeRefresh as its
// judge.
func (a *Auth) initRefresh() error {
	u, ok := a.store.(sessions.Updater)
	if !ok || a.opts.RefreshInterval <= 0 {
		return nil
	}
	r, err := refresh.New(refresh.Options{Store: u, Provider: a.opts.Provider, Judge: a.judgeRefresh,
		Interval: a.opts.RefreshInterval, Grace: a.opts.RefreshGrace, Logger: a.log,
		Now: func() time.Time { return a.now() }}) // a.now read at each call: sign-in uses the same clock
	if err != nil { // every field comes from settings New checked already
		return err
	}
	a.refresher = r
	return nil
}

// judgeRefresh judges what the provider said at a refresh of cur as a
// new sign-in is judged, by the same function (policy.Policy.SignIn, as
// the callback calls it), and returns cur with it: the email and groups,
// and the newest ID token. A user who would be refused a sign-in now
// loses the session: removed from every group of allow_groups, an address
// no longer verified or moved out of the allowed domains.
//
// When the answer has a new ID token, that token is the whole truth, as
// at sign-in: its uid must be the session's, and its groups replace the
// session's (kept and limited as at sign-in, by keptGroups); a token
// without the groups claim means no groups. Without one (OpenID Connect
// makes it optional), the provider only said that the user may stay, and
// the rules are applied again to what the session holds, with the
// address taken as verified at sign-in; a policy changed since then (a
// domain or group dropped) still ends the session. A refusal
// (refresh.ErrRefused) ends the session at once, as invalid_grant does.
func (a *Auth) judgeRefresh(cur sessions.Session, id oidc.Identity) (sessions.Session, error) {
	who := policy.Identity{Email: cur.Email, EmailVerified: true, Groups: cur.Groups, HostedDomain: policy.EmailDomain(cur.Email)}
	if id.Subject != "" {
		if a.uid(id.Issuer, id.Subject) != cur.UID {
			return cur, refresh.ErrRefused
		}
		groups, err := a.keptGroups(id)
		if err != nil {
			return cur, fmt.Errorf("%w: %w", refresh.ErrRefused, err)
		}
		id.Groups = groups
		who = signInIdentity(id)
		cur.Email, cur.Groups = id.Email, id.Groups
		if id.IDToken != "" {
			cur.IDToken = id.IDToken // the hint names the newest token
		}
	}
	if res := a.access.policy.SignIn(who); !res.Allowed {
		return cur, &refresh.RuleError{Rule: string(res.Rule), Reason: res.Reason}
	}
	return cur, nil
}
