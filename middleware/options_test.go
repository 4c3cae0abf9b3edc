package middleware

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/rezi"
)

func TestNewRejects(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := oidc.New(ctx, oidc.Options{IssuerURL: "http://" + freeAddr(t), ClientID: "c", RedirectURL: "http://127.0.0.1:1/oauth2/callback", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rezi.New(rezi.Options{PrivateKey: testPrivateKey})
	if err != nil {
		t.Fatal(err)
	}
	good := func() Options {
		return Options{Provider: p, Rezi: rc, PublicURL: "https://rms.example.com", SessionSecrets: [][]byte{[]byte(testSessionKey)}, UIDSecret: []byte(testUIDSecret), LoginURL: "/login/"}
	}
	if _, err := New(good()); err != nil {
		t.Fatalf("New(valid options) = %v", err)
	}
	tests := []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"no provider", func(o *Options) { o.Provider = nil }, "Provider"},
		{"relative public url", func(o *Options) { o.PublicURL = "/x" }, "PublicURL"},
		{"public url with path", func(o *Options) { o.PublicURL = "https://rms.example.com/app" }, "PublicURL"},
		{"no session secret", func(o *Options) { o.SessionSecrets = nil }, "SessionSecrets"},
		{"short session secret", func(o *Options) { o.SessionSecrets = [][]byte{[]byte("short")} }, "SessionSecrets"},
		{"short uid secret", func(o *Options) { o.UIDSecret = []byte("short") }, "UIDSecret"},
		{"bad cookie name", func(o *Options) { o.CookieName = "a;b" }, "CookieName"},
		{"cookie name with its own prefix", func(o *Options) { o.CookieName = "__Host-x" }, "CookieName"},
		{"bad domain", func(o *Options) { o.AllowedEmailDomains = []string{"a@b.com"} }, "AllowedEmailDomains"},
		{"no login url", func(o *Options) { o.LoginURL = "" }, "LoginURL"},
		{"login url scheme", func(o *Options) { o.LoginURL = "javascript:alert(1)" }, "LoginURL"},
		{"login url protocol-relative", func(o *Options) { o.LoginURL = "//evil.com/login" }, "LoginURL"},
		{"bad close redirect", func(o *Options) { o.CloseOnboardingRedirect = "https://evil.com" }, "CloseOnboardingRedirect"},
	}
	for _, tc := range tests {
		o := good()
		tc.mod(&o)
		_, err := New(o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v; want an error naming %s", tc.name, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), testSessionKey) || strings.Contains(err.Error(), testUIDSecret)) {
			t.Errorf("%s: error leaks a secret: %v", tc.name, err)
		}
	}
	if s := good().String(); strings.Contains(s, testSessionKey) || strings.Contains(s, testUIDSecret) {
		t.Errorf("Options.String() leaks a secret: %s", s)
	}
}
