package middleware

// Sign-in journeys through the middleware with the emulations of the
// workforce providers (internal/testsupport/vendoridp, whose package doc
// cites each vendor's reference): the real authorization code flow, from
// a browser's navigation to the callback's page or session.

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/identity"
	"github.com/rezigate/rezigate/internal/testsupport/lockedbuf"
	"github.com/rezigate/rezigate/internal/testsupport/redistest"
	"github.com/rezigate/rezigate/internal/testsupport/vendoridp"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/sessions"
)

// vendorOptions are what a vendor env varies.
type vendorOptions struct {
	profile  oidc.Profile
	graphURL string
	scopes   []string
	policy   policy.Options // its AllowedEmailDomains nil means example.com
	redis    string         // non-empty: the Redis store at this URL
}

// newVendorEnv is rezigate's middleware signing in at idp, in front of
// an upstream that answers with the signed-in user as JSON (email, uid,
// groups). It has no Rezi hand-off and no provider of the demo's: sign in
// with vendorSignIn.
func newVendorEnv(t *testing.T, idp *vendoridp.IdP, vo vendorOptions) *env {
	t.Helper()
	e := &env{t: t, logs: &lockedbuf.Buffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.srv = httptest.NewUnstartedServer(nil)
	public := "http://" + e.srv.Listener.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := oidc.New(ctx, oidc.Options{
		IssuerURL: idp.Issuer, ClientID: vendoridp.ClientID, ClientSecret: testClientSecret,
		RedirectURL: public + "/oauth2/callback", Logger: log, Scopes: vo.scopes,
		Profile: vo.profile, GraphURL: vo.graphURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	pol := vo.policy
	if pol.AllowedEmailDomains == nil {
		pol.AllowedEmailDomains = []string{"example.com"}
	}
	opts := Options{
		Provider: p, PublicURL: public,
		Session:   sessions.Settings{Secrets: [][]byte{[]byte(testSessionKey)}, InsecureCookies: true},
		UIDSecret: []byte(testUIDSecret), Policy: pol, Logger: log,
	}
	if vo.redis != "" {
		useRedis(t, &opts, vo.redis)
	}
	e.auth, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = e.auth.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := UserFromContext(r.Context())
		_ = json.NewEncoder(w).Encode(u)
	}))
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.client = newClient()
	return e
}

// vendorSignIn has idp sign in a new browser with claims, starting from a
// navigation to target, and returns the browser and the callback's
// response (not followed).
func vendorSignIn(e *env, idp *vendoridp.IdP, claims map[string]any, target string) (*http.Client, response) {
	e.t.Helper()
	idp.SetClaims(claims)
	c := newClient()
	r := e.do(c, "GET", target, navigate, nil)
	for range 5 {
		loc := r.Header.Get("Location")
		if r.StatusCode != http.StatusFound || loc == "" {
			e.t.Fatalf("sign-in from %s stopped at %d: %s", target, r.StatusCode, r.body)
		}
		u, err := url.Parse(loc)
		if err != nil {
			e.t.Fatal(err)
		}
		if u.Path == "/oauth2/callback" {
			return c, e.do(c, "GET", e.srv.URL+u.RequestURI(), navigate, nil)
		}
		if !u.IsAbs() {
			loc = e.srv.URL + loc
		}
		r = e.do(c, "GET", loc, navigate, nil)
	}
	e.t.Fatalf("sign-in from %s never reached the callback", target)
	return nil, response{}
}

// upstreamUser is what the upstream of a vendor env saw of the user at
// path, and the status.
func upstreamUser(e *env, c *http.Client, path string) (User, int) {
	e.t.Helper()
	r := e.do(c, "GET", path, navigate, nil)
	var u User
	if r.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(r.body), &u); err != nil {
			e.t.Fatalf("upstream answer %q: %v", r.body, err)
		}
	}
	return u, r.StatusCode
}

// signInCase is a sign-in through a vendor env and what must follow.
type signInCase struct {
	name   string
	claims map[string]any
	before func() // nil, or what to set before the sign-in
	// status is the callback's: 302 (a session) or the page's.
	status int
	// page is text the refusal page must show.
	page string
	// paths are paths to open after the sign-in, with the status each must
	// answer.
	paths map[string]int
	// groups are the groups the upstream must see at the first path, when
	// not nil.
	groups []string
}

// runSignIns signs in each case in a new browser and checks what follows.
func runSignIns(t *testing.T, e *env, idp *vendoridp.IdP, tests []signInCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			c, r := vendorSignIn(e, idp, tc.claims, "/")
			if r.StatusCode != tc.status {
				t.Fatalf("callback = %d; want %d\n%s", r.StatusCode, tc.status, r.body)
			}
			if tc.status != http.StatusFound {
				if !strings.Contains(r.body, tc.page) {
					t.Errorf("callback page lacks %q:\n%s", tc.page, r.body)
				}
				if sessionCookie(r) != nil || e.signedIn(c) {
					t.Error("a refused sign-in left a session")
				}
				return
			}
			if sessionCookie(r) == nil {
				t.Fatal("no session cookie after the sign-in")
			}
			for path, want := range tc.paths {
				u, got := upstreamUser(e, c, path)
				if got != want {
					t.Errorf("GET %s = %d; want %d", path, got, want)
				}
				if tc.groups != nil && got == http.StatusOK && !slices.Equal(u.Groups, tc.groups) {
					t.Errorf("GET %s: upstream saw groups %q; want %q", path, u.Groups, tc.groups)
				}
			}
		})
	}
	e.checkNoLeaks(vendoridp.AccessToken)
}

// TestEntraJourney signs employees in through the Entra emulation: the
// uid comes from oid (one person, one uid across app registrations); a
// guest, or a token of another tenant, gets the 403 page that says why; on
// groups overage the groups come from Microsoft Graph and a policy route
// judges by them; Graph refusing or down gives the page that says why and
// no session.
func TestEntraJourney(t *testing.T) {
	idp := vendoridp.New(t, "/"+vendoridp.Tenant+"/v2.0")
	graph := vendoridp.NewGraph(t, "g-1", "g-admins", "g-3")
	pol := policy.Options{Routes: []policy.Route{{Path: "/admin/", Groups: []string{"g-admins"}}}}
	e := newVendorEnv(t, idp, vendorOptions{profile: oidc.ProfileEntra, graphURL: graph.URL, policy: pol})
	m := vendoridp.EntraMember

	t.Run("uid from oid", func(t *testing.T) {
		claims := m()
		c, r := vendorSignIn(e, idp, claims, "/")
		if r.StatusCode != http.StatusFound {
			t.Fatalf("callback = %d; want 302\n%s", r.StatusCode, r.body)
		}
		u, _ := upstreamUser(e, c, "/")
		want := identity.UID([]byte(testUIDSecret), idp.Issuer, claims["oid"].(string))
		if u.UID != want || u.Email != "alice@example.com" {
			t.Errorf("upstream user = %q %q; want alice@example.com with uid %q (from oid)", u.Email, u.UID, want)
		}
		if u.UID == wantUID(idp.Issuer, claims["sub"].(string)) {
			t.Error("uid is derived from the pairwise sub; want oid")
		}
		// Another app registration: another pairwise sub, the same oid.
		c, _ = vendorSignIn(e, idp, vendoridp.With(m(), "sub", "BBBBBBBBBBBBBBBBBBBBBJlOkzUYz0KqhlwH7gHBwf0"), "/")
		if u2, _ := upstreamUser(e, c, "/"); u2.UID != want {
			t.Errorf("uid with another sub = %q; want the same %q", u2.UID, want)
		}
	})

	overage := func() map[string]any {
		return vendoridp.With(m(), "_claim_names", map[string]any{"groups": "src1"},
			"_claim_sources", map[string]any{"src1": map[string]any{"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}})
	}
	graphUp := func() { graph.Set(0, "") }
	runSignIns(t, e, idp, []signInCase{
		{name: "member, groups claim", claims: vendoridp.With(m(), "groups", []string{"g-admins"}), status: http.StatusFound,
			paths: map[string]int{"/admin/x": 200}, groups: []string{"g-admins"}},
		{name: "member, no groups", claims: m(), status: http.StatusFound, paths: map[string]int{"/admin/x": 403, "/x": 200}},
		{name: "guest by acct", claims: vendoridp.With(m(), "acct", 1), status: http.StatusForbidden,
			page: "guest accounts cannot sign in"},
		{name: "guest by #EXT# upn", claims: vendoridp.With(m(), "upn", "alice_example.com#EXT#@contoso.onmicrosoft.com"), status: http.StatusForbidden,
			page: "guest accounts cannot sign in"},
		{name: "another tenant", claims: vendoridp.With(m(), "tid", vendoridp.OtherTenant), status: http.StatusForbidden,
			page: "accepts only accounts of its own organisation"},
		{name: "overage: groups from Graph", claims: overage(), before: graphUp, status: http.StatusFound,
			paths: map[string]int{"/admin/x": 200}, groups: []string{"g-admins"}},
		{name: "overage by hasgroups", claims: vendoridp.With(m(), "hasgroups", true), before: graphUp, status: http.StatusFound,
			paths: map[string]int{"/admin/x": 200}},
		{name: "overage, Graph refuses", claims: overage(), before: func() { graph.Set(http.StatusForbidden, "") },
			status: http.StatusServiceUnavailable, page: "Microsoft Graph could not be asked"},
		{name: "overage, Graph fails", claims: overage(), before: func() { graph.Set(http.StatusServiceUnavailable, "") },
			status: http.StatusServiceUnavailable, page: "Microsoft Graph could not be asked"},
	})
	graphUp()

	t.Run("overage, Graph down", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		e := newVendorEnv(t, idp, vendorOptions{profile: oidc.ProfileEntra, graphURL: dead.URL, policy: pol})
		runSignIns(t, e, idp, []signInCase{{name: "graph down", claims: overage(), status: http.StatusServiceUnavailable,
			page: "Microsoft Graph could not be asked"}})
		if !strings.Contains(logLine(e.logs.String(), "request failed", "path=/oauth2/callback"), "microsoft graph did not give the user's groups") {
			t.Errorf("the log does not say Graph failed:\n%s", e.logs)
		}
	})
}

// TestGoogleJourney: with the google profile a consumer account holding
// a verified company address is refused with its page, a Workspace
// account of an allowed domain is admitted, and with refresh asked the
// auth URL carries access_type=offline and prompt=consent instead of the
// offline_access scope Google ignores.
func TestGoogleJourney(t *testing.T) {
	idp := vendoridp.New(t, "")
	e := newVendorEnv(t, idp, vendorOptions{profile: oidc.ProfileGoogle, scopes: []string{"openid", "email", "profile", "offline_access"}})
	google := func(kv ...any) map[string]any {
		return vendoridp.With(map[string]any{"sub": "110169484474386276334", "email": "alice@example.com", "email_verified": true, "azp": vendoridp.ClientID}, kv...)
	}
	runSignIns(t, e, idp, []signInCase{
		{name: "workspace account", claims: google("hd", "example.com"), status: http.StatusFound, paths: map[string]int{"/": 200}},
		{name: "consumer account with a company address", claims: google(), status: http.StatusForbidden,
			page: "not a personal Google account"},
		{name: "another workspace", claims: google("hd", "other.example"), status: http.StatusForbidden,
			page: "not a personal Google account"},
	})
	t.Run("refresh asked Google's way", func(t *testing.T) {
		q := mustURL(e.authURL(newClient(), "/")).Query()
		if q.Get("access_type") != "offline" || q.Get("prompt") != "consent" || strings.Contains(q.Get("scope"), "offline_access") {
			t.Errorf("auth URL query = %v; want access_type=offline, prompt=consent, no offline_access scope", q)
		}
	})
}

// TestKeycloakJourney: with the keycloak profile, full group paths meet
// the policy as written: allow_groups "staff" admits "/staff", and a
// route naming "rms/admins" lets "/rms/admins" in.
func TestKeycloakJourney(t *testing.T) {
	idp := vendoridp.New(t, "/realms/acme")
	pol := policy.Options{AllowGroups: []string{"staff"}, Routes: []policy.Route{{Path: "/rms/admin/", Groups: []string{"rms/admins"}}}}
	e := newVendorEnv(t, idp, vendorOptions{profile: oidc.ProfileKeycloak, policy: pol})
	kc := func(groups ...string) map[string]any {
		return map[string]any{"sub": "f1c6c5a2-3d2e-4a39-9a3b-1b2c3d4e5f60", "email": "alice@example.com", "email_verified": true, "groups": groups}
	}
	runSignIns(t, e, idp, []signInCase{
		{name: "staff and rms admin", claims: kc("/staff", "/rms/admins"), status: http.StatusFound,
			paths: map[string]int{"/rms/admin/users": 200}, groups: []string{"staff", "rms/admins"}},
		{name: "staff only", claims: kc("/staff"), status: http.StatusFound, paths: map[string]int{"/rms/admin/users": 403, "/x": 200}},
		{name: "nested staff is not staff", claims: kc("/other/staff"), status: http.StatusForbidden, page: "not allowed to use this site"},
	})
}

// TestOktaJourney: with the okta profile the groups scope is asked, the
// groups claim is read and judged by a route, and sign-out ends the Okta
// session with the session's ID token as id_token_hint, which Okta's
// logout endpoint requires.
func TestOktaJourney(t *testing.T) {
	idp := vendoridp.New(t, "/oauth2/default")
	pol := policy.Options{Routes: []policy.Route{{Path: "/admin/", Groups: []string{"rms-admins"}}}}
	e := newVendorEnv(t, idp, vendorOptions{profile: oidc.ProfileOkta, policy: pol})
	okta := func(groups ...string) map[string]any {
		return map[string]any{"sub": "00uid4BxXw6I6TV4m0g3", "email": "alice@example.com", "email_verified": true, "groups": groups}
	}
	if scope := mustURL(e.authURL(newClient(), "/")).Query().Get("scope"); !slices.Contains(strings.Fields(scope), "groups") {
		t.Errorf("auth URL scope = %q; want the groups scope", scope)
	}
	runSignIns(t, e, idp, []signInCase{
		{name: "rms admin", claims: okta("Everyone", "rms-admins"), status: http.StatusFound, paths: map[string]int{"/admin/x": 200}, groups: []string{"rms-admins"}},
		{name: "everyone", claims: okta("Everyone"), status: http.StatusFound, paths: map[string]int{"/admin/x": 403, "/x": 200}},
	})
	t.Run("sign-out carries id_token_hint", func(t *testing.T) {
		c, r := vendorSignIn(e, idp, okta("Everyone"), "/")
		if r.StatusCode != http.StatusFound {
			t.Fatalf("callback = %d; want 302", r.StatusCode)
		}
		tokens := idp.IDTokens()
		want := tokens[len(tokens)-1]
		r = e.do(c, "POST", "/oauth2/sign_out", sameOrigin, url.Values{})
		loc := r.Header.Get("Location")
		if r.StatusCode != http.StatusFound || !strings.HasPrefix(loc, idp.URL+"/logout?") {
			t.Fatalf("sign_out = %d to %q; want 302 to Okta's logout", r.StatusCode, loc)
		}
		r = e.do(c, "GET", loc, nil, nil)
		logouts := idp.Logouts()
		if len(logouts) == 0 {
			t.Fatal("Okta's logout endpoint was not reached")
		}
		q := logouts[len(logouts)-1]
		if q.Get("id_token_hint") != want || q.Get("post_logout_redirect_uri") != e.srv.URL+"/oauth2/signed_out" || q.Get("client_id") != vendoridp.ClientID {
			t.Errorf("Okta logout query = %v; want id_token_hint (the session's ID token), post_logout_redirect_uri and client_id", q)
		}
		if r.StatusCode != http.StatusFound || r.Header.Get("Location") != e.srv.URL+"/oauth2/signed_out" {
			t.Errorf("Okta logout = %d to %q; want back to the signed-out page", r.StatusCode, r.Header.Get("Location"))
		}
		if e.signedIn(c) {
			t.Error("still signed in after sign-out")
		}
	})
}

// TestEntraBackchannelLogoutBySub: entra uids come from oid, and a
// provider's logout token names the pairwise sub, so with the entra
// profile a logout token naming its user by sub alone is refused (400,
// and a log line that says why and points to front-channel logout)
// instead of answering 200 having ended nothing; one naming the oid ends
// that user's sessions, one naming the sid that provider session's, and
// front-channel logout by sid (what Entra ID uses) ends them too.
func TestEntraBackchannelLogoutBySub(t *testing.T) {
	redis := redistest.URL(t)
	idp := vendoridp.New(t, "/"+vendoridp.Tenant+"/v2.0")
	e := newVendorEnv(t, idp, vendorOptions{profile: oidc.ProfileEntra, redis: redis})
	m := vendoridp.EntraMember()
	logoutToken := func(kv ...any) string {
		now := time.Now()
		return idp.Sign(t, vendoridp.With(map[string]any{
			"iss": idp.Issuer, "aud": vendoridp.ClientID, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
			"jti": oidc.NewState(), "events": map[string]any{oidc.BackchannelLogoutEvent: map[string]any{}},
		}, kv...))
	}
	tests := []struct {
		name   string
		token  func() string
		status int
		ended  bool
	}{
		{"sub alone", func() string { return logoutToken("sub", m["sub"]) }, http.StatusBadRequest, false},
		{"sub and oid", func() string { return logoutToken("sub", m["sub"], "oid", m["oid"], "tid", vendoridp.Tenant) }, http.StatusOK, true},
		{"sub and sid", func() string { return logoutToken("sub", m["sub"], "sid", "entra-sid-1") }, http.StatusOK, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, r := vendorSignIn(e, idp, vendoridp.With(vendoridp.EntraMember(), "sid", "entra-sid-1"), "/")
			if r.StatusCode != http.StatusFound {
				t.Fatalf("callback = %d; want 302", r.StatusCode)
			}
			r = e.do(newClient(), "POST", "/oauth2/backchannel_logout", nil, url.Values{"logout_token": {tc.token()}})
			if r.StatusCode != tc.status {
				t.Errorf("back-channel logout = %d %s; want %d", r.StatusCode, r.body, tc.status)
			}
			if got := e.signedIn(c); got == tc.ended {
				t.Errorf("signed in after the logout = %v; want %v", got, !tc.ended)
			}
			if tc.status == http.StatusBadRequest && !strings.Contains(logLine(e.logs.String(), "back-channel logout refused"), "front-channel") {
				t.Errorf("the refusal's log line does not say why:\n%s", e.logs)
			}
		})
	}
	t.Run("front-channel by sid", func(t *testing.T) {
		c, _ := vendorSignIn(e, idp, vendoridp.With(vendoridp.EntraMember(), "sid", "entra-sid-2"), "/")
		r := e.do(newClient(), "GET", "/oauth2/frontchannel_logout?iss="+url.QueryEscape(idp.Issuer)+"&sid=entra-sid-2", nil, nil)
		if r.StatusCode != http.StatusOK || e.signedIn(c) {
			t.Errorf("front-channel logout = %d, signed in %v; want 200 and signed out", r.StatusCode, e.signedIn(c))
		}
	})
}
