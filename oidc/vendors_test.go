package oidc

// Emulations of the workforce identity providers, each built from the
// vendor's published token and endpoint reference, served on loopback:
//
//   - Microsoft Entra ID, v2.0 ID tokens: "ID token claims reference"
//     https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
//     (iss https://login.microsoftonline.com/{tenant-id}/v2.0, tid, oid,
//     pairwise sub, preferred_username, no email_verified); the optional
//     claims acct (0 member, 1 guest), upn and idp:
//     https://learn.microsoft.com/en-us/entra/identity-platform/optional-claims-reference;
//     groups overage (_claim_names/_claim_sources naming groups, hasgroups):
//     https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference#groups-overage-claim
//     and https://learn.microsoft.com/en-us/security/zero-trust/develop/configure-tokens-group-claims-app-roles;
//     Microsoft Graph "List a user's memberships" with @odata.nextLink paging:
//     https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof?view=graph-rest-1.0
//     and https://learn.microsoft.com/en-us/graph/api/user-list-memberof?view=graph-rest-1.0,
//     https://learn.microsoft.com/en-us/graph/paging.
//   - Google: "OpenID Connect | Google for Developers"
//     https://developers.google.com/identity/openid-connect/openid-connect
//     (iss https://accounts.google.com, hd for Google Workspace accounts
//     only, access_type=offline and prompt=consent for a refresh token).
//   - Okta: "Customize tokens returned from Okta with a groups claim"
//     https://developer.okta.com/docs/guides/customize-tokens-groups-claim/main/
//     and the groups scope of https://developer.okta.com/docs/api/oauth2/.
//   - Keycloak: the "Group Membership" mapper with "Full group path" on
//     (the default), https://www.keycloak.org/docs/latest/server_admin/#_protocol-mappers:
//     groups as "/staff", "/rms/admins".

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

const (
	testTenant  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	otherTenant = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
	vendorToken = "vendor-access-token-5d1e"
)

// vendorIdP is an OpenID provider on loopback that issues, for any code,
// an ID token holding the standard claims (iss, aud, exp, iat, nonce) and
// whatever claims the test set, as the vendor emulated shapes them.
type vendorIdP struct {
	srv    *httptest.Server
	issuer string
	key    *rsa.PrivateKey

	mu     sync.Mutex
	claims map[string]any
	nonce  string
}

// newVendorIdP serves a provider whose issuer is the server's origin +
// path ("/{tenant}/v2.0" for Entra, "" for others).
func newVendorIdP(t *testing.T, path string) *vendorIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	v := &vendorIdP{key: key}
	mux := http.NewServeMux()
	v.srv = httptest.NewServer(mux)
	t.Cleanup(v.srv.Close)
	v.issuer = v.srv.URL + path
	mux.HandleFunc("GET "+path+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": v.issuer, "authorization_endpoint": v.srv.URL + "/authorize",
			"token_endpoint": v.srv.URL + "/token", "jwks_uri": v.srv.URL + "/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		c := map[string]any{"iss": v.issuer, "aud": "rezigate", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "nonce": v.nonce}
		for k, x := range v.claims {
			c[k] = x
		}
		v.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": vendorToken, "token_type": "Bearer", "expires_in": 3600, "id_token": v.sign(t, c), "refresh_token": "rt-1"})
	})
	return v
}

func (v *vendorIdP) sign(t *testing.T, claims map[string]any) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: v.key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// signIn has the provider issue claims and returns Exchange's result.
func (v *vendorIdP) signIn(t *testing.T, p *Provider, claims map[string]any) (Identity, error) {
	t.Helper()
	v.mu.Lock()
	v.claims, v.nonce = claims, NewState()
	nonce := v.nonce
	v.mu.Unlock()
	return p.Exchange(context.Background(), "code", oauth2.GenerateVerifier(), nonce)
}

func newProfileProvider(t *testing.T, o Options) *Provider {
	t.Helper()
	o.ClientID, o.ClientSecret, o.RedirectURL = "rezigate", "s3cret-client", redirectURL
	p, err := New(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Ready() {
		t.Fatal("provider not ready")
	}
	return p
}

// fakeGraph emulates Microsoft Graph's transitive memberships of the
// signed-in user, in pages of two linked by @odata.nextLink; it answers
// 401 to any other bearer token than the sign-in's.
type fakeGraph struct {
	srv    *httptest.Server
	groups []string
	status int    // non-zero: answer this instead
	next   string // non-empty: the nextLink of the first page
	calls  int
}

func newFakeGraph(t *testing.T, groups ...string) *fakeGraph {
	g := &fakeGraph{groups: groups}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.calls++
		if r.Header.Get("Authorization") != "Bearer "+vendorToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if g.status != 0 {
			w.WriteHeader(g.status)
			return
		}
		if r.URL.Path != "/v1.0/me/transitiveMemberOf/microsoft.graph.group" {
			http.NotFound(w, r)
			return
		}
		skip := 0
		fmt.Sscan(r.URL.Query().Get("$skiptoken"), &skip)
		end := min(skip+2, len(g.groups))
		page := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects"}
		var value []map[string]any
		for _, id := range g.groups[skip:end] {
			value = append(value, map[string]any{"@odata.type": "#microsoft.graph.group", "id": id})
		}
		page["value"] = value
		if g.next != "" && skip == 0 {
			page["@odata.nextLink"] = g.next
		} else if end < len(g.groups) {
			page["@odata.nextLink"] = fmt.Sprintf("%s%s?$select=id&$skiptoken=%d", g.srv.URL, r.URL.Path, end)
		}
		json.NewEncoder(w).Encode(page)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// entraMember is an Entra ID v2.0 ID token of a member of testTenant, as
// the claims reference shows one: pairwise sub, oid, tid, no
// email_verified.
func entraMember() map[string]any {
	return map[string]any{
		"sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "oid": "00000000-0000-0000-66f3-3332eca7ea81",
		"tid": testTenant, "ver": "2.0", "name": "Alice", "email": "alice@example.com",
		"preferred_username": "alice@example.com",
	}
}

func with(base map[string]any, kv ...any) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(base, kv[i].(string))
			continue
		}
		base[kv[i].(string)] = kv[i+1]
	}
	return base
}

// TestEntraProfile: the uid subject is oid, the tenant must match, the
// address may come from preferred_username, guests are marked, and on
// groups overage the groups come from Microsoft Graph, every page of
// them, or the sign-in fails closed.
func TestEntraProfile(t *testing.T) {
	idp := newVendorIdP(t, "/"+testTenant+"/v2.0")
	graph := newFakeGraph(t, "g-1", "g-2", "g-3", "g-4", "g-5")
	p := newProfileProvider(t, Options{IssuerURL: idp.issuer, Profile: ProfileEntra, GraphURL: graph.srv.URL})
	overageClaims := map[string]any{"groups": "src1"}
	tests := []struct {
		name       string
		claims     map[string]any
		graph      func(*fakeGraph)
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
		{name: "overage, graph refuses", claims: with(entraMember(), "hasgroups", true), graph: func(g *fakeGraph) { g.status = http.StatusForbidden }, wantErr: ErrGroupsUnavailable},
		{name: "overage, graph unreachable", claims: with(entraMember(), "hasgroups", true), graph: func(g *fakeGraph) { g.status = http.StatusServiceUnavailable }, wantErr: ErrGroupsUnavailable},
		{name: "overage, nextLink to another host", claims: with(entraMember(), "hasgroups", true), graph: func(g *fakeGraph) { g.next = "https://evil.example/steal" }, wantErr: ErrGroupsUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			graph.status, graph.next = 0, ""
			if tc.graph != nil {
				tc.graph(graph)
			}
			id, err := idp.signIn(t, p, tc.claims)
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
		p := newProfileProvider(t, Options{IssuerURL: idp.issuer, Profile: ProfileEntra, GraphURL: dead.URL})
		if _, err := idp.signIn(t, p, with(entraMember(), "hasgroups", true)); !errors.Is(err, ErrGroupsUnavailable) {
			t.Errorf("Exchange = %v; want ErrGroupsUnavailable", err)
		}
	})
	t.Run("generic reads sub", func(t *testing.T) {
		p := newProfileProvider(t, Options{IssuerURL: idp.issuer})
		id, err := idp.signIn(t, p, with(entraMember(), "email_verified", true, "acct", 1))
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
	idp := newVendorIdP(t, "")
	google := func() map[string]any {
		return map[string]any{"sub": "110169484474386276334", "email": "alice@example.com", "email_verified": true, "azp": "rezigate", "at_hash": "x"}
	}
	p := newProfileProvider(t, Options{IssuerURL: idp.issuer, Profile: ProfileGoogle, Scopes: []string{"openid", "email", "offline_access"}})
	for _, tc := range []struct {
		name   string
		claims map[string]any
		hd     string
	}{
		{"workspace account", with(google(), "hd", "example.com"), "example.com"},
		{"consumer account with a company address", google(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := idp.signIn(t, p, tc.claims)
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
		p := newProfileProvider(t, Options{IssuerURL: idp.issuer, Profile: ProfileGoogle})
		auth, _ := p.AuthCodeURL("st", "n", oauth2.GenerateVerifier())
		if q := mustParse(t, auth).Query(); q.Has("access_type") || q.Has("prompt") {
			t.Errorf("AuthCodeURL = %s; want no access_type or prompt", auth)
		}
	})
}

// TestOktaProfile: the groups scope is asked with the default scopes and
// the groups claim is read.
func TestOktaProfile(t *testing.T) {
	idp := newVendorIdP(t, "/oauth2/default")
	p := newProfileProvider(t, Options{IssuerURL: idp.issuer, Profile: ProfileOkta})
	auth, _ := p.AuthCodeURL("st", "n", oauth2.GenerateVerifier())
	if scope := mustParse(t, auth).Query().Get("scope"); scope != "openid email profile groups" {
		t.Errorf("AuthCodeURL scope = %q; want the default scopes and groups", scope)
	}
	id, err := idp.signIn(t, p, map[string]any{"sub": "00uid4BxXw6I6TV4m0g3", "email": "alice@example.com", "email_verified": true, "groups": []string{"Everyone", "rms-admins"}})
	if err != nil || !slices.Equal(id.Groups, []string{"Everyone", "rms-admins"}) {
		t.Errorf("Exchange = %+v, %v; want the groups claim", id, err)
	}
}

// TestKeycloakProfile: full group paths lose their leading slash, so a
// policy group "staff" matches "/staff" and nested groups are written
// "rms/admins".
func TestKeycloakProfile(t *testing.T) {
	idp := newVendorIdP(t, "/realms/acme")
	claims := map[string]any{"sub": "f1c6c5a2-3d2e-4a39-9a3b-1b2c3d4e5f60", "email": "alice@example.com", "email_verified": true, "groups": []string{"/staff", "/rms/admins", "/staff", "plain"}}
	for _, tc := range []struct {
		profile Profile
		want    []string
	}{
		{ProfileKeycloak, []string{"staff", "rms/admins", "plain"}},
		{ProfileGeneric, []string{"/staff", "/rms/admins", "plain"}},
	} {
		t.Run(string(tc.profile), func(t *testing.T) {
			p := newProfileProvider(t, Options{IssuerURL: idp.issuer, Profile: tc.profile})
			id, err := idp.signIn(t, p, claims)
			if err != nil || !slices.Equal(id.Groups, tc.want) {
				t.Errorf("Exchange groups = %q, %v; want %q", id.Groups, err, tc.want)
			}
		})
	}
}
