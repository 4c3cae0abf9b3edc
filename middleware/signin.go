package middleware

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/rezigate/rezigate/internal/localpath"
	"github.com/rezigate/rezigate/internal/pages"
	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/internal/session"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/sessions"
)

// exchangeTimeout bounds the code exchange and ID-token verification.
const exchangeTimeout = 15 * time.Second

// serveStart begins a sign-in attempt. Each attempt has its own state
// cookie, so two tabs signing in at once both finish.
func (a *Auth) serveStart(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		a.methodNotAllowed(w, r, "GET, HEAD")
		return
	}
	if !a.opts.Provider.Ready() {
		a.errorPage(w, r, http.StatusServiceUnavailable, "The identity provider cannot be reached right now. Please try again in a minute.")
		return
	}
	if !a.storeReady(r.Context()) {
		a.storeUnavailable(w, r, errors.New("middleware: sign-in: store not ready"))
		return
	}
	rd := localpath.OrRoot(r.URL.Query().Get("rd"))
	if strings.HasPrefix(localpath.Resolved(rd), "/oauth2/") {
		rd = "/" // returning into the sign-in endpoints could only loop
	}
	st := session.State{
		Nonce:    oidc.NewState(),
		Verifier: oauth2.GenerateVerifier(),
		Redirect: rd,
		Created:  time.Now(),
	}
	state := oidc.NewState()
	authURL, err := a.opts.Provider.AuthCodeURL(state, st.Nonce, st.Verifier)
	if err != nil {
		a.errorPage(w, r, http.StatusServiceUnavailable, "The identity provider cannot be reached right now. Please try again in a minute.")
		return
	}
	name := a.statePrefix + state
	value, err := a.stateCodec.Encode(name, &st)
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, "Sign-in could not be started.", err)
		return
	}
	a.evictStates(w, r)
	http.SetCookie(w, a.cookie(name, value, stateMaxAge))
	a.metrics.SignIn("started")
	redirect(w, authURL)
}

// evictStates drops the oldest sign-in attempts so that, with the one
// about to start, at most MaxStateCookies are in flight.
func (a *Auth) evictStates(w http.ResponseWriter, r *http.Request) {
	type attempt struct {
		name    string
		created time.Time
	}
	var live []attempt
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, a.statePrefix) {
			continue
		}
		var st session.State
		if a.stateCodec.Decode(c.Name, c.Value, &st) != nil {
			http.SetCookie(w, a.cookie(c.Name, "", -1))
			continue
		}
		live = append(live, attempt{c.Name, st.Created})
	}
	for len(live) >= a.opts.MaxStateCookies {
		oldest := 0
		for i := range live {
			if live[i].created.Before(live[oldest].created) {
				oldest = i
			}
		}
		http.SetCookie(w, a.cookie(live[oldest].name, "", -1))
		live = append(live[:oldest], live[oldest+1:]...)
	}
}

// serveCallback finishes a sign-in attempt. Every failure is an error page
// rather than another redirect to the provider, so a broken provider or
// callback can never loop the browser.
func (a *Auth) serveCallback(w http.ResponseWriter, r *http.Request) *User {
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet {
		a.methodNotAllowed(w, r, "GET")
		return nil
	}
	q := r.URL.Query()
	if code := q.Get("error"); code != "" {
		a.metrics.SignIn("provider_error")
		a.log.Warn("sign-in refused by the identity provider", "request_id", requestid.FromContext(r.Context()), "error", safeToken(code))
		a.errorPage(w, r, http.StatusForbidden, "The identity provider did not sign you in ("+safeToken(code)+"). Please try again: open the RMS, and sign in at the provider.")
		return nil
	}
	state := q.Get("state")
	if state == "" || len(state) > 64 {
		a.metrics.SignIn("bad_state")
		a.errorPage(w, r, http.StatusBadRequest, "This sign-in link is missing its state. Please start again.")
		return nil
	}
	name := a.statePrefix + state
	var st session.State
	found := false
	eachCookie(r.Header, name, func(v string) bool {
		found = a.stateCodec.Decode(name, v, &st) == nil
		return found
	})
	if !found {
		a.metrics.SignIn("bad_state")
		a.errorPage(w, r, http.StatusBadRequest, "This sign-in attempt is unknown or has expired (sign-ins must finish within 10 minutes, in the browser that started them). Please start again.")
		return nil
	}
	// The attempt is used up whatever happens next; other attempts in
	// other tabs keep their own cookies.
	http.SetCookie(w, a.cookie(name, "", -1))
	code := q.Get("code")
	if code == "" {
		a.metrics.SignIn("bad_request")
		a.errorPage(w, r, http.StatusBadRequest, "The identity provider sent no authorization code. Please start again.")
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), exchangeTimeout)
	defer cancel()
	id, err := a.opts.Provider.Exchange(ctx, code, st.Verifier, st.Nonce)
	if err != nil {
		status, outcome, msg := http.StatusBadRequest, "invalid_token", "The sign-in could not be verified. Please start again."
		switch {
		case errors.Is(err, oidc.ErrNotReady):
			status, outcome, msg = http.StatusServiceUnavailable, "provider_unavailable", "The identity provider cannot be reached right now. Please try again in a minute."
		case errors.Is(err, oidc.ErrNoEmail):
			status, outcome, msg = http.StatusForbidden, "no_email", "Your account has no email address, which this site requires."
		case errors.Is(err, oidc.ErrBadEmail):
			// Logged by uid only: the claim may be crafted to mislead.
			a.metrics.SignIn("bad_email")
			a.log.Warn("sign-in refused: email claim is not a single plain address", "request_id", requestid.FromContext(r.Context()), "uid", a.uid(id.Issuer, id.Subject))
			a.errorPage(w, r, http.StatusForbidden, "Your account's email address cannot be used here.")
			return nil
		case errors.Is(err, oidc.ErrGroupsUnavailable):
			status, outcome, msg = http.StatusServiceUnavailable, "groups_unavailable", "You belong to more groups than fit in your sign-in token, and Microsoft Graph could not be asked for them, so this site cannot tell what you may open. Please try again in a minute; if it keeps failing, ask your administrator to check the app's Microsoft Graph permission."
		case errors.Is(err, oidc.ErrWrongTenant), errors.Is(err, oidc.ErrNoObjectID):
			status, outcome, msg = http.StatusForbidden, "wrong_tenant", "This site accepts only accounts of its own organisation's directory."
		case errors.Is(err, oidc.ErrUserInfoSubject):
			a.metrics.SignIn("userinfo_mismatch")
			a.log.Warn("sign-in refused: userinfo names another subject than the id token", "request_id", requestid.FromContext(r.Context()), "uid", a.uid(id.Issuer, id.Subject))
			a.errorPage(w, r, status, msg)
			return nil
		}
		a.metrics.SignIn(outcome)
		a.fail(w, r, status, msg, err)
		return nil
	}
	groups, ok := a.sessionGroups(w, r, id)
	if !ok {
		return nil
	}
	id.Groups = groups // what the policy, the session and the upstream see
	if res := a.access.policy.SignIn(signInIdentity(id)); !res.Allowed {
		a.refuseSignIn(w, r, a.uid(id.Issuer, id.Subject), res)
		return nil
	}
	u := &User{Email: id.Email, UID: a.uid(id.Issuer, id.Subject)}
	value, err := a.store.Put(r.Context(), a.newSession(r.Context(), id, u))
	if errors.Is(err, sessions.ErrUnavailable) {
		a.metrics.SignIn("store_unavailable")
		a.storeUnavailable(w, r, err)
		return nil
	}
	if errors.Is(err, sessions.ErrTooLarge) {
		a.metrics.SignIn("session_too_large")
		a.log.Warn("sign-in refused: the session is too large for the store (too many of the groups the policy names)", "request_id", requestid.FromContext(r.Context()), "uid", u.UID, "groups", len(id.Groups))
		a.errorPage(w, r, http.StatusForbidden, "Your account belongs to more of the groups this site checks than a sign-in session can hold. Ask your administrator; nothing is wrong with your account.")
		return nil
	}
	if err != nil {
		a.metrics.SignIn("internal_error")
		a.fail(w, r, http.StatusInternalServerError, "Your sign-in could not be completed. Please try again.", err)
		return nil
	}
	http.SetCookie(w, a.cookie(a.cookieName, value, a.session.MaxAge))
	a.metrics.SignIn("ok")
	redirect(w, localpath.OrRoot(st.Redirect))
	return u
}

// signInIdentity is what the sign-in rules read of an identity the
// provider vouched for, at sign-in or at a refresh.
func signInIdentity(id oidc.Identity) policy.Identity {
	return policy.Identity{Email: id.Email, EmailVerified: id.EmailVerified, Groups: id.Groups, Guest: id.Guest, HostedDomain: id.HostedDomain}
}

// signInRefusals are, per sign-in rule, the metric outcome, the log line
// and the page of a refused sign-in.
var signInRefusals = map[policy.SignInRule]struct{ outcome, log, page string }{
	policy.RuleEmailVerified: {"unverified_email", "sign-in refused: email not verified",
		"Your email address is not verified at the identity provider, so you cannot be signed in here. Verify it there, then try again."},
	policy.RuleEmailDomains: {"denied_domain", "sign-in refused: email domain not allowed",
		"This site does not accept the account you signed in with. Sign out of it below, then sign in again with your company account."},
	policy.RuleGuest: {"denied_guest", "sign-in refused: a guest account of the organisation",
		"This site is for members of the organisation; guest accounts cannot sign in. Sign out of it below, then sign in with your own organisation's account."},
	policy.RuleHostedDomain: {"denied_hosted_domain", "sign-in refused: not an account of an allowed Google Workspace domain",
		"This site accepts only your company's Google Workspace account, not a personal Google account. Sign out of it below, then sign in with your company account."},
	policy.RuleAllowGroups: {"denied_group", "sign-in refused: in none of the groups allowed to sign in",
		"Your account is not allowed to use this site. If you need it, ask your administrator for access."},
}

// refuseSignIn answers a sign-in the policy refused with the 403 page of
// its rule, and logs the rule by uid only.
func (a *Auth) refuseSignIn(w http.ResponseWriter, r *http.Request, uid string, res policy.SignInResult) {
	ref, ok := signInRefusals[res.Rule]
	if !ok { // a rule added to the policy without its page here
		ref.outcome, ref.log, ref.page = "denied", "sign-in refused by the policy", "Your account is not allowed to use this site."
	}
	a.metrics.SignIn(ref.outcome)
	a.log.Warn(ref.log, "request_id", requestid.FromContext(r.Context()), "uid", uid, "rule", string(res.Rule), "reason", res.Reason)
	w.Header().Del("Location")
	// Back into the RMS would only sign in with the same account: the
	// way forward is signing out at the provider, then in with another.
	pages.ErrorWithLink(w, http.StatusForbidden, ref.page, pages.Link{Text: "Sign out and sign in with another account", Href: "/oauth2/sign_out"}, requestid.FromContext(r.Context()))
}

// safeToken keeps a provider-sent error code printable and short, since it
// is shown in a page and a log line.
func safeToken(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || c == '.' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')) {
			return "unknown error"
		}
	}
	return s
}
