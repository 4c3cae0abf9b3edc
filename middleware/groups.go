package middleware

import (
	"errors"
	"net/http"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/internal/groupheader"
	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/oidc"
)

// The pages of a sign-in refused for the user's groups: each says why, and
// that the user did nothing wrong.
const (
	tooManyGroupsPage  = "Your account is in more groups at the identity provider than this site reads (at most 1000), so it cannot judge your access. Ask your administrator to have the provider send only the groups this site needs; nothing is wrong with your account."
	groupsTooLargePage = "Your account belongs to more of the groups this site checks than can be passed on to the application. Ask your administrator; nothing is wrong with your account."
)

// errGroups is a sign-in refused for the user's groups (see keptGroups);
// its page and metric outcome say why.
type errGroups struct {
	outcome string // metric outcome
	log     string // log message
	page    string
}

func (e *errGroups) Error() string { return "middleware: groups: " + e.outcome }

var (
	errTooManyGroups = &errGroups{outcome: "too_many_groups", page: tooManyGroupsPage,
		log: "sign-in refused: the provider names more groups than are read"}
	errGroupsTooLarge = &errGroups{outcome: "groups_too_large", page: groupsTooLargePage,
		log: "sign-in refused: the groups the policy names are too many to send upstream"}
)

// keptGroups returns the groups a session of id keeps, and so every
// consumer sees: the policy, X-Forwarded-Groups, X-Auth-Request-Groups
// and the assertion. They are the groups the policy names
// (Options.Policy), in the provider's order, with either store, so that
// what goes upstream stays small whatever the number of groups at the
// provider. The provider's names are usable ones already (package oidc
// drops and logs the others), so the header and the assertion carry the
// same list. The callback and each refresh call it, so a refreshed
// session is held to the same limits as a new one.
//
// A user whose groups cannot be judged or sent is refused, never cut
// silently: more groups at the provider than oidc.MaxGroups
// (errTooManyGroups), or named groups whose header or assertion would pass
// groupheader.MaxValueLen (errGroupsTooLarge).
func (a *Auth) keptGroups(id oidc.Identity) ([]string, error) {
	if id.TooManyGroups() {
		return nil, errTooManyGroups
	}
	var groups []string
	for _, g := range id.Groups { // without repeats already
		if _, named := a.access.named[g]; named {
			groups = append(groups, g)
		}
	}
	if len(groupheader.Value(groups)) > groupheader.MaxValueLen {
		return nil, errGroupsTooLarge
	}
	if a.access.signer != nil && len(groups) > 0 {
		// Signed now, the assertion is the one the first requests reuse.
		tok, err := a.access.signer.Assertion(assertion.Claims{Subject: a.uid(id.Issuer, id.Subject), Email: id.Email, Groups: groups})
		if err == nil && len(tok) > groupheader.MaxValueLen {
			return nil, errGroupsTooLarge
		}
	}
	return groups, nil
}

// sessionGroups is keptGroups for the callback: on a refusal it writes
// the page that says why and returns ok false.
func (a *Auth) sessionGroups(w http.ResponseWriter, r *http.Request, id oidc.Identity) (groups []string, ok bool) {
	groups, err := a.keptGroups(id)
	var eg *errGroups
	if errors.As(err, &eg) {
		a.metrics.SignIn(eg.outcome)
		a.log.Warn(eg.log, "request_id", requestid.FromContext(r.Context()),
			"uid", a.uid(id.Issuer, id.Subject), "reason", eg.outcome, "provider_groups", len(id.Groups), "limit_groups", oidc.MaxGroups, "limit_bytes", groupheader.MaxValueLen)
		a.errorPage(w, r, http.StatusForbidden, eg.page)
		return nil, false
	}
	return groups, true
}
