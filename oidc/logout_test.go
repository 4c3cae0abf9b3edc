package oidc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/demo"
)

// TestVerifyLogoutTokenWithoutExp: a logout token without exp (Ory Hydra
// up to 2.3, authentik before 2025.8, LemonLDAP) is accepted while its iat
// lies within the last MaxLogoutTokenAge, and then it must be remembered
// until iat + MaxLogoutTokenAge; an older one, or one whose iat lies
// further ahead than MaxLogoutTokenSkew, is refused. A token with exp is
// judged by exp, as before.
func TestVerifyLogoutTokenWithoutExp(t *testing.T) {
	idp := startProvider(t, nil)
	p := newProvider(t, idp.Issuer())
	now := time.Now().Truncate(time.Second)
	tests := []struct {
		name string
		tok  demo.LogoutToken
		ok   bool
		// expiry is the Logout.Expiry wanted when ok.
		expiry time.Time
	}{
		{"no exp, iat now", demo.LogoutToken{NoExpiry: true, IssuedAt: now}, true, now.Add(MaxLogoutTokenAge)},
		{"no exp, iat 90 s ago", demo.LogoutToken{NoExpiry: true, IssuedAt: now.Add(-90 * time.Second)}, true, now.Add(30 * time.Second)},
		{"no exp, iat 30 s ahead", demo.LogoutToken{NoExpiry: true, IssuedAt: now.Add(30 * time.Second)}, true, now.Add(30*time.Second + MaxLogoutTokenAge)},
		{"no exp, iat 3 min ago", demo.LogoutToken{NoExpiry: true, IssuedAt: now.Add(-3 * time.Minute)}, false, time.Time{}},
		{"no exp, iat an hour ago", demo.LogoutToken{NoExpiry: true, IssuedAt: now.Add(-time.Hour)}, false, time.Time{}},
		{"no exp, iat 10 min ahead", demo.LogoutToken{NoExpiry: true, IssuedAt: now.Add(10 * time.Minute)}, false, time.Time{}},
		{"exp ahead", demo.LogoutToken{IssuedAt: now, Expiry: now.Add(time.Minute)}, true, now.Add(time.Minute)},
		{"exp ahead, iat 3 min ago", demo.LogoutToken{IssuedAt: now.Add(-3 * time.Minute), Expiry: now.Add(time.Minute)}, true, now.Add(time.Minute)},
		{"exp passed, iat fresh", demo.LogoutToken{IssuedAt: now, Expiry: now.Add(-time.Minute)}, false, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.tok.Subject = "alice"
			raw, err := idp.SignLogoutToken(tc.tok)
			if err != nil {
				t.Fatal(err)
			}
			l, err := p.VerifyLogoutToken(context.Background(), raw)
			if !tc.ok {
				if !errors.Is(err, ErrBadLogoutToken) {
					t.Errorf("VerifyLogoutToken = %+v, %v; want ErrBadLogoutToken", l, err)
				}
				return
			}
			if err != nil || l.Subject != "alice" || l.JTI == "" || !l.Expiry.Equal(tc.expiry) {
				t.Errorf("VerifyLogoutToken = %+v, %v; want alice's logout, remembered until %v", l, err, tc.expiry)
			}
		})
	}
}
