package middleware

import (
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

// sessionGroups returns the groups a new session of id keeps, and so
// every consumer sees: the policy, X-Forwarded-Groups,
// X-Auth-Request-Groups and the assertion. They are the groups the policy
// names (Options.Policy), in the provider's order, with either store, so
// that what goes upstream stays small whatever the number of groups at
// the provider. The provider's names are usable ones already (package
// oidc drops and logs the others), so the header and the assertion carry
// the same list.
//
// A user whose groups cannot be judged or sent is refused with the page
// that says why, never cut silently: more groups at the provider than
// oidc.MaxGroups, or named groups whose header or assertion would pass
// groupheader.MaxValueLen. ok false means that page has been written.
func (a *Auth) sessionGroups(w http.ResponseWriter, r *http.Request, id oidc.Identity) (groups []string, ok bool) {
	uid := a.uid(id.Issuer, id.Subject)
	if id.TooManyGroups() {
		a.metrics.signIn("too_many_groups")
		a.log.Warn("sign-in refused: the provider names more groups than are read", "request_id", requestid.FromContext(r.Context()), "uid", uid, "limit", oidc.MaxGroups)
		a.errorPage(w, r, http.StatusForbidden, tooManyGroupsPage)
		return nil, false
	}
	for _, g := range id.Groups { // without repeats already
		if _, named := a.access.named[g]; named {
			groups = append(groups, g)
		}
	}
	header, token := len(groupheader.Value(groups)), 0
	if a.access.signer != nil && len(groups) > 0 {
		// Signed now, the assertion is the one the first requests reuse.
		tok, err := a.access.signer.Assertion(assertion.Claims{Subject: uid, Email: id.Email, Groups: groups})
		if err == nil {
			token = len(tok)
		}
	}
	if header > groupheader.MaxValueLen || token > groupheader.MaxValueLen {
		a.metrics.signIn("groups_too_large")
		a.log.Warn("sign-in refused: the groups the policy names are too many to send upstream", "request_id", requestid.FromContext(r.Context()), "uid", uid,
			"groups", len(groups), "header_bytes", header, "assertion_bytes", token, "limit", groupheader.MaxValueLen)
		a.errorPage(w, r, http.StatusForbidden, groupsTooLargePage)
		return nil, false
	}
	return groups, true
}
