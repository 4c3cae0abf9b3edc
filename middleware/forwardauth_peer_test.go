package middleware

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/netip"
	"testing"

	"github.com/rezigate/rezigate/assertion"
)

// TestForwardAuthUntrustedPeerGetsNoAssertion: the assertion is a bearer
// token for whatever path forward-auth was asked about, so forward-auth
// must not hand one out on a path named by a peer outside TrustedProxies.
// From such a peer X-Forwarded-Uri and X-Original-URI are ignored: with
// routes the answer is 403, with neither the identity headers nor an
// assertion; the same question from the edge gets 202 and an assertion.
func TestForwardAuthUntrustedPeerGetsNoAssertion(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	withPeers := func(trusted string) *policyEnv {
		return newPolicyEnv(t, func(o *Options) {
			signer, err := assertion.NewSigner(assertion.SignerOptions{Keys: []*ecdsa.PrivateKey{key}, Issuer: o.PublicURL, Audience: "rms"})
			if err != nil {
				t.Fatal(err)
			}
			o.Assertion, o.AssertionHeader = signer, "X-Gate-Assertion"
			o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix(trusted)}
		}, nil)
	}
	edge, elsewhere := withPeers("127.0.0.0/8"), withPeers("10.0.0.0/8")
	tests := []struct {
		name          string
		e             *policyEnv
		hdr           [][2]string
		want          int
		wantAssertion bool
	}{
		{"edge, permitted path", edge, [][2]string{{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/public"}}, 202, true},
		{"untrusted peer, permitted path", elsewhere, [][2]string{{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/public"}}, 403, false},
		{"untrusted peer, X-Original-URI", elsewhere, [][2]string{{"X-Original-Method", "GET"}, {"X-Original-URI", "/public"}}, 403, false},
		{"untrusted peer, no header", elsewhere, nil, 403, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cookie := tc.e.cookieOf("carol@example.com", "carol-pw")
			resp, _ := raw(t, tc.e.addr(), "GET", "/oauth2/auth", append([][2]string{{"Cookie", cookie}}, tc.hdr...))
			got := resp.Header.Get("X-Gate-Assertion")
			if resp.StatusCode != tc.want || (got != "") != tc.wantAssertion {
				t.Errorf("/oauth2/auth = %d with assertion %v; want %d with assertion %v", resp.StatusCode, got != "", tc.want, tc.wantAssertion)
			}
			if !tc.wantAssertion && (resp.Header.Get("X-Auth-Request-Email") != "" || resp.Header.Get("X-Auth-Request-User") != "") {
				t.Errorf("a refused forward-auth answer carries identity headers")
			}
		})
	}
}
