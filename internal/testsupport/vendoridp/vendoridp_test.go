package vendoridp

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// TestCodeCarriesNonce: a code from the authorization endpoint comes back
// with the state, and its ID token carries that request's nonce and the
// claims set.
func TestCodeCarriesNonce(t *testing.T) {
	v := New(t, "/"+Tenant+"/v2.0")
	v.SetClaims(EntraMember())
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(v.URL + "/authorize?client_id=" + ClientID + "&redirect_uri=" + url.QueryEscape("http://127.0.0.1:1/cb") + "&state=st&nonce=n-1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	if back.Query().Get("state") != "st" || back.Query().Get("code") == "" {
		t.Fatalf("authorize redirected to %q; want the state and a code", back)
	}
	resp, err = http.PostForm(v.URL+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(body.IDToken, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := jws.Verify(&v.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	if claims["nonce"] != "n-1" || claims["oid"] != EntraMember()["oid"] || claims["iss"] != v.Issuer {
		t.Errorf("ID token claims = %v; want nonce n-1, the member's oid, iss %s", claims, v.Issuer)
	}
}

// TestGraphPages: Graph lists the groups in pages linked by nextLink and
// refuses another bearer token.
func TestGraphPages(t *testing.T) {
	g := NewGraph(t, "a", "b", "c")
	get := func(u, tok string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var page map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&page)
		return resp.StatusCode, page
	}
	if code, _ := get(g.URL+"/v1.0/me/transitiveMemberOf/microsoft.graph.group", "other"); code != http.StatusUnauthorized {
		t.Errorf("another token = %d; want 401", code)
	}
	_, page := get(g.URL+"/v1.0/me/transitiveMemberOf/microsoft.graph.group", AccessToken)
	next, _ := page["@odata.nextLink"].(string)
	if len(page["value"].([]any)) != 2 || !strings.HasPrefix(next, g.URL) {
		t.Fatalf("first page = %v; want two groups and a nextLink", page)
	}
	if _, page = get(next, AccessToken); len(page["value"].([]any)) != 1 || page["@odata.nextLink"] != nil {
		t.Errorf("second page = %v; want one group and no nextLink", page)
	}
	if g.Calls() != 3 {
		t.Errorf("Calls() = %d; want 3", g.Calls())
	}
}
