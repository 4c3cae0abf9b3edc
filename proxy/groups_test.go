package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/rezigate/rezigate/assertion"
)

// The groups header and the assertion are rezigate's alone: client copies
// go in every spelling, and only a signed-in request gets new ones.
func TestGroupsAndAssertionHeaders(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := assertion.NewSigner(assertion.SignerOptions{Keys: []*ecdsa.PrivateKey{key}, Issuer: "https://gate.example.com", Audience: "rms"})
	if err != nil {
		t.Fatal(err)
	}
	var got http.Header
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	tests := []struct {
		name       string
		signedIn   bool
		groups     []string
		signer     *assertion.Signer
		wantGroups string
		wantToken  bool
	}{
		{"signed in with groups and assertion", true, []string{"a", "b,c", "d"}, signer, "a,d", true},
		{"signed in, no groups, no signer", true, nil, nil, "", false},
		{"not signed in", false, []string{"a"}, signer, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(Options{
				Upstream: u, Assertion: tc.signer, AssertionHeader: "X-Gate-Assertion",
				Identity: func(*http.Request) (string, string, bool) { return "alice@example.com", "uid-1", tc.signedIn },
				Groups:   func(*http.Request) []string { return tc.groups },
			})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/x", nil)
			for _, k := range []string{"X-Forwarded-Groups", "x_forwarded_groups", "X-Gate-Assertion", "x_gate_assertion", "X-Rezigate-Assertion", "X_REZIGATE_ASSERTION"} {
				req.Header[k] = []string{"forged"}
			}
			p.ServeHTTP(httptest.NewRecorder(), req)
			for k, v := range got {
				if strings.Contains(strings.Join(v, ","), "forged") {
					t.Errorf("client copy reached the upstream: %s: %q", k, v)
				}
			}
			if g := got.Get(GroupsHeader); g != tc.wantGroups {
				t.Errorf("%s = %q; want %q", GroupsHeader, g, tc.wantGroups)
			}
			if tok := got.Get("X-Gate-Assertion"); (tok != "") != tc.wantToken {
				t.Errorf("assertion header = %q; want one: %t", tok, tc.wantToken)
			}
		})
	}
}

func TestAssertionHeaderValidate(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:1")
	for _, h := range []string{"bad header", "x_forwarded_groups", "X-Forwarded-Email"} {
		if err := (Options{Upstream: u, AssertionHeader: h}).Validate(); err == nil || !strings.Contains(err.Error(), "AssertionHeader") {
			t.Errorf("Validate(AssertionHeader %q) = %v; want an AssertionHeader error", h, err)
		}
	}
	if err := (Options{Upstream: u, AssertionHeader: "X-Gate-Assertion"}).Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
}
