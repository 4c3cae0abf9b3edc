package oidc

// The emulations of the workforce identity providers (Entra ID, Google,
// Okta, Keycloak) and of Microsoft Graph are internal/testsupport/vendoridp,
// whose package doc cites the vendor reference each follows; the
// middleware's journeys use the same.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/rezigate/rezigate/internal/testsupport/vendoridp"
)

const (
	testTenant  = vendoridp.Tenant
	otherTenant = vendoridp.OtherTenant
)

var (
	entraMember = vendoridp.EntraMember
	with        = vendoridp.With
)

// signInAt has idp issue claims and returns Exchange's result.
func signInAt(t *testing.T, idp *vendoridp.IdP, p *Provider, claims map[string]any) (Identity, error) {
	t.Helper()
	nonce := NewState()
	idp.SetClaims(claims)
	idp.SetNonce(nonce)
	return p.Exchange(context.Background(), "code", oauth2.GenerateVerifier(), nonce)
}

func newProfileProvider(t *testing.T, o Options) *Provider {
	t.Helper()
	o.ClientID, o.ClientSecret, o.RedirectURL = vendoridp.ClientID, "s3cret-client", redirectURL
	p, err := New(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Ready() {
		t.Fatal("provider not ready")
	}
	return p
}

// TestEntraProfile: the uid subject is oid, the tenant must match, the
// address may come from preferred_username, guests are marked, and on
// groups overage the groups come from Microsoft Graph, every page of
// them, or the sign-in fails closed.
func TestEntraProfile(t *testing.T) {
	idp := vendoridp.New(t, "/"+testTenant+"/v2.0")
	graph := vendoridp.NewGraph(t, "g-1", "g-2", "g-3", "g-4", "g-5")
	p := newProfileProvider(t, Options{IssuerURL: idp.Issuer, Profile: ProfileEntra, GraphURL: graph.URL})
	overageClaims := map[string]any{"groups": "src1"}
	tests := []struct {
		name       string
		claims     map[string]any
		graph      func(*vendoridp.Graph)
		wantErr    error
		wantEmail  string
		wantGuest  bool
		wantGroups []string
	}{
		{name: "member", claims: with(entraMember(), "groups", []string{"g-9"}), wantEmail: "alice@example.com", wantGroups: []string{"g-9"}},
		{name: "no email: preferred_username", claims: with(entraMember(), "email", nil), wantEmail: "alice@example.com"},
		{name: "no email, preferred_username not an address", claims: with(entraMember(), "email", nil, "preferred_username", "alice"), wantErr: ErrNoEmail},
		{name: "no email, preferred_username two addresses", claims: with(entraMember(), "email", nil, "preferred_username", "x@evil.com@example.com"), wantErr: ErrNoEmail},
		{name: "another tenant", claims: with(entraMember(), "tid", otherTenant), wantErr: ErrWrongTenant},
		{name: "no tid", claims: with(entraMember(), "tid", nil), wantErr: ErrWrongTenant},
		{name: "no oid", claims: with(entraMember(), "oid", nil), wantErr: ErrNoObjectID},
		{name: "guest by acct", claims: with(entraMember(), "acct", 1), wantEmail: "alice@example.com", wantGuest: true},
		{name: "member by acct", claims: with(entraMember(), "acct", 0), wantEmail: "alice@example.com"},
		{name: "guest by idp of another tenant", claims: with(entraMember(), "idp", "https://sts.windows.net/"+otherTenant+"/"), wantEmail: "alice@example.com", wantGuest: true},
		{name: "guest by idp of personal accounts", claims: with(entraMember(), "idp", "live.com"), wantEmail: "alice@example.com", wantGuest: true},
		{name: "idp of the own tenant", claims: with(entraMember(), "idp", "https://sts.windows.net/"+testTenant+"/"), wantEmail: "alice@example.com"},
		{name: "guest by #EXT# upn", claims: with(entraMember(), "upn", "alice_example.com#EXT#@contoso.onmicrosoft.com"), wantEmail: "alice@example.com", wantGuest: true},
		{name: "guest by #EXT# preferred_username", claims: with(entraMember(), "email", nil, "preferred_username", "alice_example.com#EXT#@contoso.onmicrosoft.com"), wantEmail: "alice_example.com#EXT#@contoso.onmicrosoft.com", wantGuest: true},
		{name: "overage: groups from graph, every page", claims: with(entraMember(), "_claim_names", overageClaims, "_claim_sources", map[string]any{"src1": map[string]any{"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}}), wantEmail: "alice@example.com", wantGroups: []string{"g-1", "g-2", "g-3", "g-4", "g-5"}},
		{name: "overage by hasgroups", claims: with(entraMember(), "hasgroups", true), wantEmail: "alice@example.com", wantGroups: []string{"g-1", "g-2", "g-3", "g-4", "g-5"}},
		{name: "overage, graph refuses", claims: with(entraMember(), "hasgroups", true), graph: func(g *vendoridp.Graph) { g.Set(http.StatusForbidden, "") }, wantErr: ErrGroupsUnavailable},
		{name: "overage, graph unreachable", claims: with(entraMember(), "hasgroups", true), graph: func(g *vendoridp.Graph) { g.Set(http.StatusServiceUnavailable, "") }, wantErr: ErrGroupsUnavailable},
		{name: "overage, nextLink to another host", claims: with(entraMember(), "hasgroups", true), graph: func(g *vendoridp.Graph) { g.Set(0, "https://evil.example/steal") }, wantErr: ErrGroupsUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			graph.Set(0, "")
			if tc.graph != nil {
				tc.graph(graph)
			}
			id, err := signInAt(t, idp, p, tc.claims)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Exchange = %v; want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if id.Subject != tc.claims["oid"] || id.Email != tc.wantEmail || id.Guest != tc.wantGuest || !slices.Equal(id.Groups, tc.wantGroups) {
				t.Errorf("Exchange = subject %q email %q guest %v groups %q; want %q %q %v %q", id.Subject, id.Email, id.Guest, id.Groups, tc.claims["oid"], tc.wantEmail, tc.wantGuest, tc.wantGroups)
			}
		})
	}

	t.Run("graph down", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		p := newProfileProvider(t, Options{IssuerURL: idp.Issuer, Profile: ProfileEntra, GraphURL: dead.URL})
		if _, err := signInAt(t, idp, p, with(entraMember(), "hasgroups", true)); !errors.Is(err, ErrGroupsUnavailable) {
			t.Errorf("Exchange = %v; want ErrGroupsUnavailable", err)
		}
	})
	t.Run("generic reads sub", func(t *testing.T) {
		p := newProfileProvider(t, Options{IssuerURL: idp.Issuer})
		id, err := signInAt(t, idp, p, with(entraMember(), "email_verified", true, "acct", 1))
		if err != nil || id.Subject != entraMember()["sub"] || id.Guest {
			t.Errorf("generic Exchange = %+v, %v; want sub, no guest", id, err)
		}
	})
}

// TestEntraIssuerValidate: the tenant is the issuer's segment before
// /v2.0 on any host, and the multi-tenant ones are refused.
func TestEntraIssuerValidate(t *testing.T) {
	tests := []struct {
		issuer string
		ok     bool
	}{
		{"https://login.microsoftonline.com/" + testTenant + "/v2.0", true},
		{"https://login.microsoftonline.us/" + testTenant + "/v2.0", true},
		{"https://login.chinacloudapi.cn/" + strings.ToUpper(testTenant) + "/v2.0/", true},
		{"http://127.0.0.1:8080/" + testTenant + "/v2.0", true},
		{"https://login.microsoftonline.com/common/v2.0", false},
		{"https://login.microsoftonline.com/Organizations/v2.0", false},
		{"https://login.microsoftonline.com/consumers/v2.0", false},
		{"https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", false},
		{"https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0", false},
		{"https://sts.windows.net/" + testTenant + "/", false},
		{"https://login.microsoftonline.com/" + testTenant, false},
	}
	for _, tc := range tests {
		t.Run(tc.issuer, func(t *testing.T) {
			err := Options{IssuerURL: tc.issuer, ClientID: "c", RedirectURL: redirectURL, Profile: ProfileEntra}.Validate()
			if (err == nil) != tc.ok {
				t.Errorf("Validate(%q) = %v; want ok %v", tc.issuer, err, tc.ok)
			}
		})
	}
	if err := (Options{IssuerURL: "https://idp.example.com", ClientID: "c", RedirectURL: redirectURL, Profile: "azure"}).Validate(); err == nil {
		t.Error(`Validate(Profile "azure") = nil; want an error`)
	}
}

// TestGoogleProfile: hd is read (absent for a consumer account), and with
// refresh on the auth URL asks Google's way, without offline_access.
func TestGoogleProfile(t *testing.T) {
	idp := vendoridp.New(t, "")
	google := func() map[string]any {
		return map[string]any{"sub": "110169484474386276334", "email": "alice@example.com", "email_verified": true, "azp": "rezigate", "at_hash": "x"}
	}
	p := newProfileProvider(t, Options{IssuerURL: idp.Issuer, Profile: ProfileGoogle, Scopes: []string{"openid", "email", "offline_access"}})
	for _, tc := range []struct {
		name   string
		claims map[string]any
		hd     string
	}{
		{"workspace account", with(google(), "hd", "example.com"), "example.com"},
		{"consumer account with a company address", google(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := signInAt(t, idp, p, tc.claims)
			if err != nil || id.HostedDomain != tc.hd || id.Subject != tc.claims["sub"] {
				t.Errorf("Exchange = %+v, %v; want hd %q", id, err, tc.hd)
			}
		})
	}
	t.Run("refresh asked with access_type=offline", func(t *testing.T) {
		auth, _ := p.AuthCodeURL("st", "n", oauth2.GenerateVerifier())
		q := mustParse(t, auth).Query()
		if q.Get("access_type") != "offline" || q.Get("prompt") != "consent" || strings.Contains(q.Get("scope"), "offline_access") {
			t.Errorf("AuthCodeURL = %s; want access_type=offline, prompt=consent, no offline_access", auth)
		}
	})
	t.Run("no refresh, no access_type", func(t *testing.T) {
		p := newProfileProvider(t, Options{IssuerURL: idp.Issuer, Profile: ProfileGoogle})
		auth, _ := p.AuthCodeURL("st", "n", oauth2.GenerateVerifier())
		if q := mustParse(t, auth).Query(); q.Has("access_type") || q.Has("prompt") {
			t.Errorf("AuthCodeURL = %s; want no access_type or prompt", auth)
		}
	})
}

// TestOktaProfile: the groups scope is asked with the default scopes and
// the groups claim is read.
func TestOktaProfile(t *testing.T) {
	idp := vendoridp.New(t, "/oauth2/default")
	p := newProfileProvider(t, Options{IssuerURL: idp.Issuer, Profile: ProfileOkta})
	auth, _ := p.AuthCodeURL("st", "n", oauth2.GenerateVerifier())
	if scope := mustParse(t, auth).Query().Get("scope"); scope != "openid email profile groups" {
		t.Errorf("AuthCodeURL scope = %q; want the default scopes and groups", scope)
	}
	id, err := signInAt(t, idp, p, map[string]any{"sub": "00uid4BxXw6I6TV4m0g3", "email": "alice@example.com", "email_verified": true, "groups": []string{"Everyone", "rms-admins"}})
	if err != nil || !slices.Equal(id.Groups, []string{"Everyone", "rms-admins"}) {
		t.Errorf("Exchange = %+v, %v; want the groups claim", id, err)
	}
}

// TestKeycloakProfile: full group paths lose their leading slash, so a
// policy group "staff" matches "/staff" and nested groups are written
// "rms/admins".
func TestKeycloakProfile(t *testing.T) {
	idp := vendoridp.New(t, "/realms/acme")
	claims := map[string]any{"sub": "f1c6c5a2-3d2e-4a39-9a3b-1b2c3d4e5f60", "email": "alice@example.com", "email_verified": true, "groups": []string{"/staff", "/rms/admins", "/staff", "plain"}}
	for _, tc := range []struct {
		profile Profile
		want    []string
	}{
		{ProfileKeycloak, []string{"staff", "rms/admins", "plain"}},
		{ProfileGeneric, []string{"/staff", "/rms/admins", "plain"}},
	} {
		t.Run(string(tc.profile), func(t *testing.T) {
			p := newProfileProvider(t, Options{IssuerURL: idp.Issuer, Profile: tc.profile})
			id, err := signInAt(t, idp, p, claims)
			if err != nil || !slices.Equal(id.Groups, tc.want) {
				t.Errorf("Exchange groups = %q, %v; want %q", id.Groups, err, tc.want)
			}
		})
	}
}

// logoutClaims is a back-channel logout token's claims, fresh, with kv
// set as With does.
func logoutClaims(issuer string, kv ...any) map[string]any {
	now := time.Now()
	return with(map[string]any{
		"iss": issuer, "aud": vendoridp.ClientID, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
		"jti": NewState(), "events": map[string]any{BackchannelLogoutEvent: map[string]any{}},
	}, kv...)
}

// TestEntraLogoutToken: with the entra profile a logout token's user is
// its oid (of the issuer's tenant), never the pairwise sub uids are not
// made from: one naming its user by sub alone fails with
// ErrLogoutNoObjectID instead of ending nobody's sessions; one with a sid
// is served by sid. The generic profile reads sub as before.
func TestEntraLogoutToken(t *testing.T) {
	idp := vendoridp.New(t, "/"+testTenant+"/v2.0")
	entra := newProfileProvider(t, Options{IssuerURL: idp.Issuer, Profile: ProfileEntra})
	generic := newProfileProvider(t, Options{IssuerURL: idp.Issuer})
	m := entraMember()
	tests := []struct {
		name        string
		p           *Provider
		claims      map[string]any
		wantErr     error
		wantSubject string
		wantSID     string
	}{
		{"entra, sub only", entra, logoutClaims(idp.Issuer, "sub", m["sub"]), ErrLogoutNoObjectID, "", ""},
		{"entra, sub and oid", entra, logoutClaims(idp.Issuer, "sub", m["sub"], "oid", m["oid"], "tid", testTenant), nil, m["oid"].(string), ""},
		{"entra, oid of another tenant", entra, logoutClaims(idp.Issuer, "sub", m["sub"], "oid", m["oid"], "tid", otherTenant), ErrWrongTenant, "", ""},
		{"entra, oid without tid", entra, logoutClaims(idp.Issuer, "sub", m["sub"], "oid", m["oid"]), ErrWrongTenant, "", ""},
		{"entra, sub and sid", entra, logoutClaims(idp.Issuer, "sub", m["sub"], "sid", "sid-1"), nil, "", "sid-1"},
		{"entra, sid only", entra, logoutClaims(idp.Issuer, "sid", "sid-1"), nil, "", "sid-1"},
		{"generic, sub only", generic, logoutClaims(idp.Issuer, "sub", m["sub"]), nil, m["sub"].(string), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := tc.p.VerifyLogoutToken(context.Background(), idp.Sign(t, tc.claims))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("VerifyLogoutToken = %+v, %v; want %v", l, err, tc.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrBadLogoutToken) {
					t.Errorf("VerifyLogoutToken = %v; want it to wrap ErrBadLogoutToken", err)
				}
				return
			}
			if l.Subject != tc.wantSubject || l.SID != tc.wantSID {
				t.Errorf("VerifyLogoutToken = subject %q sid %q; want %q %q", l.Subject, l.SID, tc.wantSubject, tc.wantSID)
			}
		})
	}
}
