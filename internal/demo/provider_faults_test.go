package demo

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

func TestFaults(t *testing.T) {
	e := newTestEnv(t, "")
	tests := []struct {
		fault Fault
		// check inspects the outcome: status and body of the token
		// response, and go-oidc's verdict on the ID token.
		check func(t *testing.T, status int, tok map[string]any, idt *gooidc.IDToken, verr error, nonce string)
	}{
		{FaultNone, func(t *testing.T, status int, _ map[string]any, idt *gooidc.IDToken, verr error, nonce string) {
			if verr != nil || idt.Nonce != nonce {
				t.Errorf("FaultNone: Verify = %v, nonce mismatch %v; want a valid token", verr, idt == nil || idt.Nonce != nonce)
			}
		}},
		{FaultWrongNonce, func(t *testing.T, _ int, _ map[string]any, idt *gooidc.IDToken, verr error, nonce string) {
			// go-oidc leaves the nonce to the caller: the token verifies,
			// its nonce is wrong.
			if verr != nil {
				t.Fatalf("FaultWrongNonce: Verify = %v; want nil error", verr)
			}
			if idt.Nonce == nonce || idt.Nonce == "" {
				t.Errorf("FaultWrongNonce: nonce = %q; want a different non-empty nonce than %q", idt.Nonce, nonce)
			}
		}},
		{FaultWrongAudience, wantVerifyError("expected audience")},
		{FaultWrongIssuer, wantVerifyError("issued by a different provider")},
		{FaultExpired, func(t *testing.T, _ int, _ map[string]any, _ *gooidc.IDToken, verr error, _ string) {
			var te *gooidc.TokenExpiredError
			if !errors.As(verr, &te) {
				t.Errorf("FaultExpired: Verify = %v; want *TokenExpiredError", verr)
			}
		}},
		{FaultWrongKey, func(t *testing.T, _ int, tok map[string]any, _ *gooidc.IDToken, verr error, _ string) {
			if verr == nil || !strings.Contains(verr.Error(), "signature") {
				t.Errorf("FaultWrongKey: Verify = %v; want a signature error", verr)
			}
			if kid := headerKID(t, tok["id_token"].(string)); kid != e.p.currentKey().kid {
				t.Errorf("FaultWrongKey: kid = %q; want the current kid %q", kid, e.p.currentKey().kid)
			}
		}},
		{FaultTokenError, func(t *testing.T, status int, tok map[string]any, _ *gooidc.IDToken, _ error, _ string) {
			if status != http.StatusBadRequest || tok["error"] != "invalid_grant" {
				t.Errorf("FaultTokenError: POST /token = %d %v; want 400 invalid_grant", status, tok)
			}
		}},
		{FaultNoEmail, func(t *testing.T, _ int, tok map[string]any, idt *gooidc.IDToken, verr error, _ string) {
			if verr != nil {
				t.Fatalf("FaultNoEmail: Verify = %v; want nil error", verr)
			}
			if c := idClaimsOf(t, idt); c["email"] != nil {
				t.Errorf("FaultNoEmail: email claim = %v; want none", c["email"])
			}
			req, _ := http.NewRequest(http.MethodGet, e.p.Issuer()+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if body := readBody(t, resp); strings.Contains(body, "email\"") {
				t.Errorf("FaultNoEmail: userinfo = %s; want no email", body)
			}
		}},
		{FaultEmailOnlyInUserinfo, wantUserinfoOnly(e, func(t *testing.T, info map[string]any) {
			if info["sub"] != "sub-alice" || info["email"] != "alice@example.com" || info["email_verified"] != true {
				t.Errorf("FaultEmailOnlyInUserinfo: userinfo = %v; want alice's sub, email and email_verified true", info)
			}
		})},
		{FaultUserinfoOtherSubject, wantUserinfoOnly(e, func(t *testing.T, info map[string]any) {
			if info["sub"] == "sub-alice" || info["sub"] == "" || info["email"] != "alice@example.com" {
				t.Errorf("FaultUserinfoOtherSubject: userinfo = %v; want another sub with alice's email", info)
			}
		})},
		{FaultUserinfoUnverified, wantUserinfoOnly(e, func(t *testing.T, info map[string]any) {
			if info["sub"] != "sub-alice" || info["email"] != "alice@example.com" || info["email_verified"] != false {
				t.Errorf("FaultUserinfoUnverified: userinfo = %v; want alice's email with email_verified false", info)
			}
		})},
		{FaultUserinfoVerifiedString, wantUserinfoOnly(e, func(t *testing.T, info map[string]any) {
			if info["email_verified"] != "true" {
				t.Errorf("FaultUserinfoVerifiedString: userinfo email_verified = %#v; want the string \"true\"", info["email_verified"])
			}
		})},
		{FaultNoUserinfo, func(t *testing.T, _ int, tok map[string]any, idt *gooidc.IDToken, verr error, _ string) {
			if verr != nil {
				t.Fatalf("FaultNoUserinfo: Verify = %v; want nil error", verr)
			}
			if c := idClaimsOf(t, idt); c["email"] != nil {
				t.Errorf("FaultNoUserinfo: email claim = %v; want none", c["email"])
			}
			resp, err := e.client.Get(e.p.Issuer() + "/.well-known/openid-configuration")
			if err != nil {
				t.Fatal(err)
			}
			if body := readBody(t, resp); strings.Contains(body, "userinfo_endpoint") {
				t.Errorf("FaultNoUserinfo: discovery = %s; want no userinfo_endpoint", body)
			}
			if status, _ := userinfo(t, e, tok["access_token"].(string)); status != http.StatusNotFound {
				t.Errorf("FaultNoUserinfo: GET /userinfo = %d; want 404", status)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.fault.String(), func(t *testing.T) {
			e.p.SetFault(tc.fault)
			defer e.p.SetFault(FaultNone)
			nonce := "nonce-" + randomToken()
			status, tok := e.tokens(t, nonce)
			var idt *gooidc.IDToken
			var verr error
			if raw, ok := tok["id_token"].(string); ok {
				idt, verr = e.verify(t, raw)
			} else if tc.fault != FaultTokenError {
				t.Fatalf("%v: POST /token = %d %v; want an id_token", tc.fault, status, tok)
			}
			tc.check(t, status, tok, idt, verr, nonce)
		})
	}
}

// wantUserinfoOnly checks that the ID token verifies and carries neither
// email nor email_verified, and hands the userinfo response to check.
func wantUserinfoOnly(e *testEnv, check func(*testing.T, map[string]any)) func(*testing.T, int, map[string]any, *gooidc.IDToken, error, string) {
	return func(t *testing.T, _ int, tok map[string]any, idt *gooidc.IDToken, verr error, _ string) {
		t.Helper()
		if verr != nil {
			t.Fatalf("Verify = %v; want nil error", verr)
		}
		c := idClaimsOf(t, idt)
		if _, ok := c["email"]; ok {
			t.Errorf("ID token email = %v; want none", c["email"])
		}
		if _, ok := c["email_verified"]; ok {
			t.Errorf("ID token email_verified = %v; want none", c["email_verified"])
		}
		status, info := userinfo(t, e, tok["access_token"].(string))
		if status != http.StatusOK {
			t.Fatalf("GET /userinfo = %d; want 200", status)
		}
		check(t, info)
	}
}

// userinfo calls the userinfo endpoint with an access token.
func userinfo(t *testing.T, e *testEnv, accessToken string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.p.Issuer()+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	var info map[string]any
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &info); err != nil {
			t.Fatalf("userinfo body %q: %v", body, err)
		}
	}
	return resp.StatusCode, info
}

func wantVerifyError(substr string) func(*testing.T, int, map[string]any, *gooidc.IDToken, error, string) {
	return func(t *testing.T, _ int, _ map[string]any, _ *gooidc.IDToken, verr error, _ string) {
		t.Helper()
		if verr == nil || !strings.Contains(verr.Error(), substr) {
			t.Errorf("Verify = %v; want an error containing %q", verr, substr)
		}
	}
}

func headerKID(t *testing.T, raw string) string {
	t.Helper()
	var h struct {
		Kid string `json:"kid"`
		Alg string `json:"alg"`
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	if h.Alg != "RS256" {
		t.Errorf("token alg = %q; want RS256", h.Alg)
	}
	return h.Kid
}

func TestRotateKey(t *testing.T) {
	e := newTestEnv(t, "")
	ctx := gooidc.ClientContext(t.Context(), e.client)
	op, err := gooidc.NewProvider(ctx, e.p.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	// A long-lived relying party: its key set caches the first key.
	longLived := op.Verifier(&gooidc.Config{ClientID: testClientID})

	_, before := e.tokens(t, "n1")
	oldToken := before["id_token"].(string)
	if _, err := longLived.Verify(ctx, oldToken); err != nil {
		t.Fatalf("Verify(token before rotation) = %v; want nil error", err)
	}
	oldKID := e.p.currentKey().kid
	if err := e.p.RotateKey(); err != nil {
		t.Fatalf("RotateKey() = %v; want nil error", err)
	}
	if newKID := e.p.currentKey().kid; newKID == oldKID {
		t.Fatalf("RotateKey() kept kid %q", oldKID)
	}
	_, after := e.tokens(t, "n2")
	newToken := after["id_token"].(string)
	if _, err := e.verify(t, newToken); err != nil {
		t.Errorf("fresh key set: Verify(token after rotation) = %v; want nil error", err)
	}
	if _, err := longLived.Verify(ctx, newToken); err != nil {
		t.Errorf("cached key set: Verify(token after rotation) = %v; want nil error (refetch on unknown kid)", err)
	}
	if _, err := e.verify(t, oldToken); err == nil {
		t.Errorf("fresh key set: Verify(token before rotation) = nil; want an error, the old key is gone")
	}
}
