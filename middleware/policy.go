package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/internal/statuswriter"
	"github.com/rezigate/rezigate/policy"
)

// forbiddenJSON is the whole body of a route denial for a non-navigation
// request.
const forbiddenJSON = `{"error":"forbidden","message":"not allowed by the access policy"}` + "\n"

// badPathJSON is the whole body of a refused path for a non-navigation
// request.
const badPathJSON = `{"error":"bad_request","message":"this request path is not accepted"}` + "\n"

// access is the prepared policy, trusted proxies and assertion signer.
type access struct {
	policy *policy.Policy
	// strict is set when the policy has routes: paths are then
	// normalised, judged and forwarded as judged.
	strict bool
	// methodsMatter is set when a route lists methods, so that
	// forward-auth cannot judge a request whose method it was not told.
	methodsMatter bool
	// named are the groups the policy names, the only ones it reads: a
	// session cookie keeps only these.
	named   map[string]struct{}
	trusted []netip.Prefix
	signer  *assertion.Signer
	header  string // canonical assertion header, when signer is set
	jwks    http.Handler
}

// signInPolicy is Policy with the provider's rules those of the
// Provider's profile when Policy names none.
func (o Options) signInPolicy() policy.Options {
	po := o.Policy
	if po.Provider == "" {
		po.Provider = o.providerRules()
	}
	return po
}

// providerRules names the policy's provider rules of the Provider's
// profile: the same names.
func (o Options) providerRules() policy.Provider {
	if o.Provider == nil {
		return ""
	}
	return policy.Provider(o.Provider.Profile())
}

// initAccess prepares the policy and assertion parts of a.opts, which
// Validate has accepted. The policy owns every sign-in rule
// (Policy.SignIn).
func (a *Auth) initAccess() error {
	o := a.opts
	if o.Policy.Provider != "" && o.Policy.Provider != o.providerRules() {
		return fmt.Errorf("middleware: Policy.Provider %q is not the Provider's profile %q", o.Policy.Provider, o.Provider.Profile())
	}
	p, err := policy.New(o.signInPolicy())
	if err != nil {
		return err
	}
	ac := access{policy: p, strict: len(o.Policy.Routes) > 0, trusted: slices.Clone(o.TrustedProxies)}
	names := slices.Clone(o.Policy.AllowGroups)
	for _, r := range o.Policy.Routes {
		names = append(names, r.Groups...)
		ac.methodsMatter = ac.methodsMatter || len(r.Methods) > 0
	}
	if len(names) > 0 {
		ac.named = make(map[string]struct{}, len(names))
		for _, g := range names {
			ac.named[g] = struct{}{}
		}
	}
	if o.Assertion != nil {
		ac.signer = o.Assertion
		ac.header = http.CanonicalHeaderKey(o.AssertionHeader)
		if ac.header == "" {
			ac.header = assertion.DefaultHeader
		}
		ac.jwks = o.Assertion.JWKSHandler()
	}
	a.access = ac
	return nil
}

// namedGroups returns the groups Options.Policy names (its AllowGroups
// and every route's Groups), without repeats, in no particular order: the
// only groups the middleware ever reads. A session store that keeps
// groups in the cookie needs no others (sessions.CookieOptions.KeepGroups).
func (a *Auth) namedGroups() []string {
	out := make([]string, 0, len(a.access.named))
	for g := range a.access.named {
		out = append(out, g)
	}
	return out
}

// normalizeRequest returns r with its path as the policy judges it, which
// is also the path forwarded upstream: a shallow copy with a new URL when
// the path changes, r itself otherwise. A path the policy refuses gets a
// 400 and ok false. ctx carries the request id. Only called when the
// policy has routes.
func (a *Auth) normalizeRequest(ctx context.Context, w *statuswriter.Writer, r *http.Request) (_ *http.Request, ok bool) {
	raw := r.URL.EscapedPath()
	n, err := a.access.policy.Normalize(raw)
	if err != nil {
		r = w.Own(r.WithContext(ctx))
		a.log.Info("request path refused", "request_id", requestid.FromContext(r.Context()), "reason", errors.Unwrap(err) /* the reason, never the path */, "err", err)
		w.Header().Set("Cache-Control", "no-store")
		if isNavigation(r) {
			a.errorPage(w, r, http.StatusBadRequest, "This address is not accepted here.")
			return r, false
		}
		writeJSON(w, http.StatusBadRequest, badPathJSON)
		return r, false
	}
	if n == raw {
		return r, true // forwarded as it came, which is as judged
	}
	path, err := url.PathUnescape(n)
	if err != nil { // Normalize accepts only valid escapes
		a.errorPage(w, r, http.StatusBadRequest, "This address is not accepted here.")
		return r, false
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	// RawPath only when the default encoding of path is not n: "%3B" is
	// decoded to ";", which that encoding leaves as it is, so without
	// RawPath "/a%3Bb" would be forwarded as "/a;b".
	u.Path, u.RawPath = path, ""
	if u.EscapedPath() != n {
		u.RawPath = n
	}
	r2.URL = &u
	return r2, true
}

// decide judges a signed-in request, whose path normalizeRequest has
// set, by the policy.
func (a *Auth) decide(r *http.Request, u *User) policy.Result {
	return a.access.policy.Decide(r.Method, r.URL.EscapedPath(), policy.User{Email: u.Email, Groups: u.Groups})
}

// deny answers a request the policy refused with 403 (a page for a
// navigation, small JSON otherwise) and logs the rule; r carries the
// request id.
func (a *Auth) deny(w http.ResponseWriter, r *http.Request, u *User, res policy.Result) {
	a.logDenied(r, r.Method, r.URL.EscapedPath(), u, res)
	w.Header().Set("Cache-Control", "no-store")
	if isNavigation(r) {
		a.errorPage(w, r, http.StatusForbidden, "Your account is not allowed to open this page. If you need it, ask your administrator for access.")
		return
	}
	writeJSON(w, http.StatusForbidden, forbiddenJSON)
}

// logDenied writes the line that says which rule refused whom.
func (a *Auth) logDenied(r *http.Request, method, path string, u *User, res policy.Result) {
	a.log.Info("request denied by policy", "request_id", requestid.FromContext(r.Context()),
		"uid", u.UID, "method", method, "path", path,
		"rule", res.Rule, "rule_path", res.Path, "rule_line", res.Line, "reason", res.Reason)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
