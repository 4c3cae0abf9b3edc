// Package vendoridp emulates the workforce identity providers rezigate
// has profiles for (Microsoft Entra ID, Google, Okta, Keycloak), and
// Microsoft Graph, on loopback, for the tests of the oidc package and of
// the middleware. Each emulation issues tokens of the shape the vendor's
// published reference gives:
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
//     https://learn.microsoft.com/en-us/graph/paging. Entra ID sends no
//     back-channel logout tokens; it loads the front-channel logout URL:
//     https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#single-sign-out.
//   - Google: "OpenID Connect | Google for Developers"
//     https://developers.google.com/identity/openid-connect/openid-connect
//     (iss https://accounts.google.com, hd for Google Workspace accounts
//     only, access_type=offline and prompt=consent for a refresh token).
//   - Okta: "Customize tokens returned from Okta with a groups claim"
//     https://developer.okta.com/docs/guides/customize-tokens-groups-claim/main/,
//     the groups scope of https://developer.okta.com/docs/api/oauth2/, and
//     the logout endpoint, which requires id_token_hint:
//     https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag/OrgAS/#tag/OrgAS/operation/logout.
//   - Keycloak: the "Group Membership" mapper with "Full group path" on
//     (the default), https://www.keycloak.org/docs/latest/server_admin/#_protocol-mappers:
//     groups as "/staff", "/rms/admins".
//
// The provider signs in whoever the test says (IdP.SetClaims): its
// authorization endpoint asks nothing and redirects straight back with a
// code. It is for tests only.
package vendoridp

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Tenants of the Entra emulation: Tenant is the one rezigate trusts,
// OtherTenant another organisation's.
const (
	Tenant      = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	OtherTenant = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
)

// AccessToken is the access token of every token response; Graph accepts
// only it.
const AccessToken = "vendor-access-token-5d1e"

// ClientID is the audience of the ID tokens the provider issues.
const ClientID = "rezigate"

// IdP is an OpenID provider on loopback that issues, for any code, an ID
// token holding the standard claims (iss, aud, exp, iat, nonce) and
// whatever claims the test set (SetClaims), as the vendor emulated
// shapes them.
type IdP struct {
	// Issuer is the server's origin followed by the path given to New.
	Issuer string
	// URL is the server's origin.
	URL string

	key *rsa.PrivateKey

	mu       sync.Mutex
	claims   map[string]any
	nonce    string            // for a code no /authorize issued
	codes    map[string]string // code -> the nonce of its authorization request
	logouts  []url.Values      // the queries of requests to /logout
	idTokens []string          // every ID token issued
}

// New serves a provider whose issuer is the server's origin + path
// ("/{tenant}/v2.0" for Entra, "/oauth2/default" for Okta,
// "/realms/{realm}" for Keycloak, "" for Google). Its discovery document
// names /authorize, /token, /keys and an end_session_endpoint /logout,
// which records its query (Logouts) and redirects to
// post_logout_redirect_uri. The server stops when the test ends.
func New(t testing.TB, path string) *IdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	v := &IdP{key: key, codes: map[string]string{}}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	v.URL, v.Issuer = srv.URL, srv.URL+path
	mux.HandleFunc("GET "+path+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": v.Issuer, "authorization_endpoint": v.URL + "/authorize",
			"token_endpoint": v.URL + "/token", "jwks_uri": v.URL + "/keys",
			"end_session_endpoint":                  v.URL + "/logout",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		back, err := url.Parse(q.Get("redirect_uri"))
		if err != nil || q.Get("client_id") != ClientID {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		code := rand.Text()
		v.mu.Lock()
		v.codes[code] = q.Get("nonce")
		v.mu.Unlock()
		bq := back.Query()
		bq.Set("code", code)
		bq.Set("state", q.Get("state"))
		back.RawQuery = bq.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		now := time.Now()
		v.mu.Lock()
		nonce, ok := v.codes[r.PostForm.Get("code")]
		if ok {
			delete(v.codes, r.PostForm.Get("code"))
		} else {
			nonce = v.nonce
		}
		c := map[string]any{"iss": v.Issuer, "aud": ClientID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if nonce != "" && r.PostForm.Get("grant_type") == "authorization_code" {
			c["nonce"] = nonce
		}
		for k, x := range v.claims {
			c[k] = x
		}
		idt := v.Sign(t, c)
		v.idTokens = append(v.idTokens, idt)
		v.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": AccessToken, "token_type": "Bearer", "expires_in": 3600, "id_token": idt, "refresh_token": "rt-1"})
	})
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		v.mu.Lock()
		v.logouts = append(v.logouts, q)
		v.mu.Unlock()
		if to := q.Get("post_logout_redirect_uri"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	return v
}

// SetClaims makes claims the claims of every ID token issued from now on,
// beside (and overriding) the standard ones. The map is kept: do not
// change it afterwards.
func (v *IdP) SetClaims(claims map[string]any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.claims = claims
}

// SetNonce makes nonce the nonce of ID tokens issued for codes the
// authorization endpoint did not issue, for a test that calls the token
// endpoint without a browser (oidc.Provider.Exchange with any code).
func (v *IdP) SetNonce(nonce string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.nonce = nonce
}

// Logouts returns the queries of the requests to the end_session_endpoint
// so far.
func (v *IdP) Logouts() []url.Values {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]url.Values(nil), v.logouts...)
}

// IDTokens returns every ID token the token endpoint has issued, oldest
// first.
func (v *IdP) IDTokens() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.idTokens...)
}

// Sign signs claims, as they are, with the provider's key: an ID token
// or a logout token the provider's keys verify.
func (v *IdP) Sign(t testing.TB, claims map[string]any) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: v.key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Error(err)
		return ""
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Error(err)
		return ""
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Error(err)
		return ""
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Error(err)
	}
	return raw
}

// EntraMember is the claims of an Entra ID v2.0 ID token of a member of
// Tenant, as the claims reference shows one: a pairwise sub, oid, tid,
// email and preferred_username, no email_verified.
func EntraMember() map[string]any {
	return map[string]any{
		"sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "oid": "00000000-0000-0000-66f3-3332eca7ea81",
		"tid": Tenant, "ver": "2.0", "name": "Alice", "email": "alice@example.com",
		"preferred_username": "alice@example.com",
	}
}

// With sets, in base, each key of the pairs kv (key, value, key, value,
// …) to its value, or deletes it when the value is nil, and returns base.
func With(base map[string]any, kv ...any) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(base, kv[i].(string))
			continue
		}
		base[kv[i].(string)] = kv[i+1]
	}
	return base
}

// Graph emulates Microsoft Graph's transitive group memberships of the
// signed-in user (GET /v1.0/me/transitiveMemberOf/microsoft.graph.group),
// in pages of two linked by @odata.nextLink; it answers 401 to any other
// bearer token than AccessToken.
type Graph struct {
	// URL is the server's origin, for oidc.Options.GraphURL.
	URL string

	mu     sync.Mutex
	groups []string
	status int    // non-zero: answer this instead
	next   string // non-empty: the nextLink of the first page
	calls  int
}

// NewGraph serves a Graph in which the user is in groups. The server
// stops when the test ends.
func NewGraph(t testing.TB, groups ...string) *Graph {
	g := &Graph{groups: groups}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.calls++
		if r.Header.Get("Authorization") != "Bearer "+AccessToken {
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
		_, _ = fmt.Sscan(r.URL.Query().Get("$skiptoken"), &skip)
		skip = min(max(skip, 0), len(g.groups))
		end := min(skip+2, len(g.groups))
		page := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects"}
		value := []map[string]any{}
		for _, id := range g.groups[skip:end] {
			value = append(value, map[string]any{"@odata.type": "#microsoft.graph.group", "id": id})
		}
		page["value"] = value
		if g.next != "" && skip == 0 {
			page["@odata.nextLink"] = g.next
		} else if end < len(g.groups) {
			page["@odata.nextLink"] = fmt.Sprintf("%s%s?$select=id&$skiptoken=%d", srv.URL, r.URL.Path, end)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(page)
	}))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

// Set makes Graph answer every request with status when it is not zero,
// and give next as the first page's @odata.nextLink when it is not empty.
// Zero values restore the normal answers.
func (g *Graph) Set(status int, next string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.status, g.next = status, next
}

// Calls is how many requests Graph has had.
func (g *Graph) Calls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls
}
