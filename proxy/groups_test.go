package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/rezigate/rezigate/assertion"
)

// newSigner is an assertion signer with a fresh key.
func newSigner(t *testing.T) *assertion.Signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := assertion.NewSigner(assertion.SignerOptions{Keys: []*ecdsa.PrivateKey{key}, Issuer: "https://gate.example.com", Audience: "rms"})
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// The groups header and the assertion are rezigate's alone: client copies
// go in every spelling, and only a signed-in request gets new ones.
func TestGroupsAndAssertionHeaders(t *testing.T) {
	signer := newSigner(t)
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

// The identity headers' values share one backing array: each must still
// be a slice of its own, so that adding a value to one header (as a
// Transport or a later hook may) leaves every other header as it was.
func TestIdentityHeaderValuesSeparate(t *testing.T) {
	signer := newSigner(t)
	tests := []struct {
		name   string
		groups []string
		signer *assertion.Signer
		want   []string // the headers set, in the order of the shared array
	}{
		{"email and user", nil, nil, []string{DefaultEmailHeader, DefaultUserHeader}},
		{"with groups", []string{"a", "b"}, nil, []string{DefaultEmailHeader, DefaultUserHeader, GroupsHeader}},
		{"with assertion", nil, signer, []string{DefaultEmailHeader, DefaultUserHeader, assertion.DefaultHeader}},
		{"with groups and assertion", []string{"a", "b"}, signer, []string{DefaultEmailHeader, DefaultUserHeader, GroupsHeader, assertion.DefaultHeader}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := url.Parse("http://upstream.invalid")
			p, err := New(Options{
				Upstream: u, Assertion: tc.signer,
				Identity: func(*http.Request) (string, string, bool) { return "alice@example.com", "uid-1", true },
				Groups:   func(*http.Request) []string { return tc.groups },
			})
			if err != nil {
				t.Fatal(err)
			}
			in := httptest.NewRequest("GET", "/x", nil)
			pr := &httputil.ProxyRequest{In: in, Out: in.Clone(in.Context())}
			p.rewrite(pr)
			h := pr.Out.Header
			before := map[string]string{}
			for _, k := range tc.want {
				if len(h[k]) != 1 || h[k][0] == "" {
					t.Fatalf("%s = %q; want one value", k, h[k])
				}
				before[k] = h[k][0]
			}
			for _, k := range tc.want {
				h[k] = append(h[k], "added to "+k)
				for _, o := range tc.want {
					if o != k && (len(h[o]) < 1 || h[o][0] != before[o] || len(h[o]) > 1 && h[o][1] != "added to "+o) {
						t.Errorf("appending to %s changed %s to %q", k, o, h[o])
					}
				}
			}
		})
	}
}
