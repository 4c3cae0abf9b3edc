package demo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// offlineTokens signs alice in asking for offline_access and returns the
// token response.
func (e *testEnv) offlineTokens(t *testing.T) map[string]any {
	t.Helper()
	verifier, challenge := newVerifier()
	params := e.authParams("state-offline", "nonce-offline", challenge)
	params.Set("scope", "openid email offline_access")
	action := e.loginForm(t, params)
	resp, err := e.client.PostForm(action, url.Values{"login": {testUsers[0].Email}, "password": {testUsers[0].Password}})
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	status, tok := e.postToken(t, e.tokenForm(e.lastCallback().Get("code"), verifier), testClientID, testSecret)
	if status != http.StatusOK {
		t.Fatalf("token request = %d %v; want 200", status, tok)
	}
	return tok
}

func (e *testEnv) refresh(t *testing.T, rt string) (int, map[string]any) {
	t.Helper()
	return e.postToken(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, testClientID, testSecret)
}

// TestRefreshTokens: offline_access gets a refresh token; redeeming it
// rotates it, keeps the sign-in's sid, shows a changed email, and the
// used one is refused; a disabled user's is refused and the user cannot
// sign in; FaultRefreshUnavailable answers 503.
func TestRefreshTokens(t *testing.T) {
	e := newTestEnv(t, "")
	if _, tok := e.tokens(t, "n1"); tok["refresh_token"] != nil {
		t.Errorf("without offline_access: refresh_token %v; want none", tok["refresh_token"])
	}
	tok := e.offlineTokens(t)
	rt, _ := tok["refresh_token"].(string)
	if rt == "" {
		t.Fatalf("with offline_access: no refresh_token in %v", tok)
	}
	idt, err := e.verify(t, tok["id_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	sid, _ := idClaimsOf(t, idt)["sid"].(string)
	if sid == "" || sid != e.p.SID(testUsers[0].Email) {
		t.Fatalf("id token sid = %q, SID() = %q; want the same, non-empty", sid, e.p.SID(testUsers[0].Email))
	}

	e.p.SetEmail(testUsers[0].Email, "alice.renamed@example.com")
	status, next := e.refresh(t, rt)
	if status != http.StatusOK {
		t.Fatalf("refresh = %d %v; want 200", status, next)
	}
	rt2, _ := next["refresh_token"].(string)
	if rt2 == "" || rt2 == rt {
		t.Errorf("refresh_token after refresh = %q; want a new one", rt2)
	}
	idt, err = e.verify(t, next["id_token"].(string))
	if err != nil {
		t.Fatalf("refreshed id token: %v", err)
	}
	c := idClaimsOf(t, idt)
	if c["email"] != "alice.renamed@example.com" || c["sid"] != sid || c["nonce"] != nil || c["sub"] != testUsers[0].Subject {
		t.Errorf("refreshed id token claims %v; want the new email, the same sid and sub, no nonce", c)
	}
	if status, body := e.refresh(t, rt); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("reused refresh token = %d %v; want 400 invalid_grant", status, body)
	}

	e.p.SetFault(FaultRefreshUnavailable)
	if status, _ := e.refresh(t, rt2); status != http.StatusServiceUnavailable {
		t.Errorf("FaultRefreshUnavailable: refresh = %d; want 503", status)
	}
	e.p.SetFault(FaultNone)

	if !e.p.DisableUser(testUsers[0].Email) || e.p.DisableUser("nobody@example.com") {
		t.Fatal("DisableUser reports the wrong users as existing")
	}
	if status, body := e.refresh(t, rt2); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("disabled user's refresh = %d %v; want 400 invalid_grant", status, body)
	}
	_, challenge := newVerifier()
	action := e.loginForm(t, e.authParams("s", "n", challenge))
	resp, err := e.noFollow.PostForm(action, url.Values{"login": {testUsers[0].Email}, "password": {testUsers[0].Password}})
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("disabled user's sign-in = %d; want 401", resp.StatusCode)
	}
	if n := e.p.RefreshCount(); n != 4 {
		t.Errorf("RefreshCount() = %d; want 4", n)
	}
}

// TestSendBackchannelLogout: the provider POSTs a form with a logout
// token signed by its key, carrying the event, sub, sid and a jti.
func TestSendBackchannelLogout(t *testing.T) {
	e := newTestEnv(t, "")
	got := make(chan url.Values, 1)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("request %s with Content-Type %q; want a form POST", r.Method, r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		f, _ := url.ParseQuery(string(b))
		got <- f
	}))
	defer rp.Close()
	status, err := e.p.SendBackchannelLogout(t.Context(), nil, rp.URL, LogoutToken{Subject: "sub-alice", SID: "sid-1"})
	if err != nil || status != http.StatusOK {
		t.Fatalf("SendBackchannelLogout = %d, %v; want 200", status, err)
	}
	raw := (<-got).Get("logout_token")
	// go-oidc's ID-token verifier checks signature, iss, aud and exp.
	tok, err := e.verify(t, raw)
	if err != nil {
		t.Fatalf("logout token does not verify: %v", err)
	}
	c := idClaimsOf(t, tok)
	ev, _ := c["events"].(map[string]any)
	if _, ok := ev["http://schemas.openid.net/event/backchannel-logout"].(map[string]any); !ok || c["sub"] != "sub-alice" || c["sid"] != "sid-1" || c["jti"] == "" || c["nonce"] != nil || c["iat"] == nil {
		t.Errorf("logout token claims %v; want the event object, sub, sid, jti, iat and no nonce", c)
	}
	bad, _ := e.p.SignLogoutToken(LogoutToken{Subject: "x", WrongKey: true, NoEvents: true, Nonce: "n"})
	if _, err := e.verify(t, bad); err == nil {
		t.Error("a WrongKey logout token verifies")
	}
}
