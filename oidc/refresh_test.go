package oidc

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/rezigate/rezigate/internal/demo"
)

// offlineProvider is a Provider for idp that asks for offline_access.
func offlineProvider(t *testing.T, idp *demo.Provider) *Provider {
	t.Helper()
	p, err := New(context.Background(), Options{IssuerURL: idp.Issuer(), ClientID: "rezigate", ClientSecret: "s3cret-client",
		RedirectURL: redirectURL, Scopes: []string{"openid", "email", "offline_access"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRefresh: Exchange keeps the refresh token and the sid; Refresh
// rotates the token and reports the user as the provider knows them now;
// a refused token is ErrRefreshRefused, a provider that is down another
// error.
func TestRefresh(t *testing.T) {
	idp := startProvider(t, nil)
	p := offlineProvider(t, idp)
	ctx := context.Background()
	v := oauth2.GenerateVerifier()
	id, err := p.Exchange(ctx, code(t, p, "n", v), v, "n")
	if err != nil {
		t.Fatal(err)
	}
	if id.RefreshToken == "" || id.SID == "" || id.SID != idp.SID(alice.Email) {
		t.Fatalf("Exchange: RefreshToken set %v, SID %q; want a refresh token and the provider's sid %q", id.RefreshToken != "", id.SID, idp.SID(alice.Email))
	}
	idp.SetEmail(alice.Email, "alice.new@example.com")
	got, rt, err := p.Refresh(ctx, id.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh = %v", err)
	}
	if got.Subject != alice.Subject || got.Email != "alice.new@example.com" || !got.EmailVerified || got.SID != id.SID || got.Issuer != idp.Issuer() {
		t.Errorf("Refresh identity = %+v; want alice with her new email and the same sid", got)
	}
	if rt == "" || rt == id.RefreshToken {
		t.Error("Refresh did not hand back a rotated refresh token")
	}
	if _, _, err := p.Refresh(ctx, id.RefreshToken); !errors.Is(err, ErrRefreshRefused) {
		t.Errorf("Refresh with a used token = %v; want ErrRefreshRefused", err)
	}
	idp.SetFault(demo.FaultRefreshUnavailable)
	_, _, err = p.Refresh(ctx, rt)
	if err == nil || errors.Is(err, ErrRefreshRefused) || !strings.Contains(err.Error(), "503") {
		t.Errorf("Refresh with the provider down = %v; want a 503 error that is not ErrRefreshRefused", err)
	}
	idp.SetFault(demo.FaultNone)
	idp.DisableUser(alice.Email)
	if _, _, err := p.Refresh(ctx, rt); !errors.Is(err, ErrRefreshRefused) {
		t.Errorf("Refresh of a disabled user = %v; want ErrRefreshRefused", err)
	}
	if _, _, err := p.Refresh(ctx, ""); err == nil {
		t.Error("Refresh(\"\") = nil error")
	}
	if strings.Contains(err.Error(), rt) {
		t.Error("an error shows the refresh token")
	}
}

// TestVerifyLogoutToken: every rule of Back-Channel Logout 1.0 section
// 2.6 that VerifyLogoutToken owns, each refusing on its own.
func TestVerifyLogoutToken(t *testing.T) {
	idp := startProvider(t, nil)
	p := newProvider(t, idp.Issuer())
	now := time.Now()
	tests := []struct {
		name string
		tok  demo.LogoutToken
		ok   bool
	}{
		{"sub only", demo.LogoutToken{Subject: "alice"}, true},
		{"sid only", demo.LogoutToken{SID: "sid-1"}, true},
		{"sub and sid", demo.LogoutToken{Subject: "alice", SID: "sid-1"}, true},
		{"neither", demo.LogoutToken{}, false},
		{"nonce", demo.LogoutToken{Subject: "alice", Nonce: "n"}, false},
		{"wrong audience", demo.LogoutToken{Subject: "alice", Audience: "other"}, false},
		{"wrong key", demo.LogoutToken{Subject: "alice", WrongKey: true}, false},
		{"no events", demo.LogoutToken{Subject: "alice", NoEvents: true}, false},
		{"no jti", demo.LogoutToken{Subject: "alice", NoJTI: true}, false},
		{"expired", demo.LogoutToken{Subject: "alice", IssuedAt: now.Add(-time.Hour), Expiry: now.Add(-time.Minute)}, false},
		{"iat far ahead", demo.LogoutToken{Subject: "alice", IssuedAt: now.Add(10 * time.Minute), Expiry: now.Add(time.Hour)}, false},
		{"iat a little ahead", demo.LogoutToken{Subject: "alice", IssuedAt: now.Add(30 * time.Second)}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := idp.SignLogoutToken(tc.tok)
			if err != nil {
				t.Fatal(err)
			}
			l, err := p.VerifyLogoutToken(context.Background(), raw)
			if tc.ok {
				if err != nil || l.JTI == "" || l.Subject != tc.tok.Subject || l.SID != tc.tok.SID || l.Expiry.IsZero() {
					t.Errorf("VerifyLogoutToken = %+v, %v; want the token's sub %q and sid %q with a jti", l, err, tc.tok.Subject, tc.tok.SID)
				}
				return
			}
			if !errors.Is(err, ErrBadLogoutToken) {
				t.Errorf("VerifyLogoutToken = %+v, %v; want ErrBadLogoutToken", l, err)
			}
		})
	}
}

// FuzzVerifyLogoutToken: whatever a client posts, VerifyLogoutToken
// refuses it without panicking (nothing but the provider's key signs).
func FuzzVerifyLogoutToken(f *testing.F) {
	for _, s := range []string{"", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", strings.Repeat("A", 20000), "e30.e30.e30"} {
		f.Add(s)
	}
	idp := demoForFuzz(f)
	p, err := New(context.Background(), Options{IssuerURL: idp.Issuer(), ClientID: "rezigate", RedirectURL: redirectURL})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if _, err := p.VerifyLogoutToken(context.Background(), raw); err == nil {
			t.Errorf("VerifyLogoutToken(%q) = nil error; want a refusal", raw)
		}
	})
}

// demoForFuzz serves the demo provider for a fuzz target.
func demoForFuzz(f *testing.F) *demo.Provider {
	f.Helper()
	srv := httptest.NewUnstartedServer(nil)
	idp, err := demo.NewProvider(demo.ProviderOptions{
		Issuer: "http://" + srv.Listener.Addr().String(), ClientID: "rezigate", ClientSecret: "s3cret-client",
		RedirectURIs: []string{redirectURL}, Users: []demo.User{alice},
	})
	if err != nil {
		f.Fatal(err)
	}
	srv.Config.Handler = idp
	srv.Start()
	f.Cleanup(srv.Close)
	return idp
}
