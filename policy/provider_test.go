package policy_test

import (
	"strings"
	"testing"

	"github.com/rezigate/rezigate/policy"
)

// TestSignInProviderRules: the rules a provider profile adds, decided by
// SignIn like every other: entra needs no email_verified and refuses
// guests; google refuses an account without hd, or whose hd is not an
// allowed domain, even with a verified company address; generic keeps
// requiring email_verified; keycloak's "/staff" read as "staff" meets a
// policy group "staff".
func TestSignInProviderRules(t *testing.T) {
	mk := func(o policy.Options) *policy.Policy {
		t.Helper()
		p, err := policy.New(o)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	domains := []string{"example.com"}
	entra := mk(policy.Options{Provider: policy.ProviderEntra, AllowedEmailDomains: domains})
	google := mk(policy.Options{Provider: policy.ProviderGoogle, AllowedEmailDomains: domains})
	generic := mk(policy.Options{AllowedEmailDomains: domains})
	keycloak := mk(policy.Options{Provider: policy.ProviderKeycloak, AllowGroups: []string{"staff", "rms/admins"}})
	tests := []struct {
		name     string
		p        *policy.Policy
		id       policy.Identity
		wantRule policy.SignInRule
	}{
		{"entra member without email_verified", entra, policy.Identity{Email: "alice@example.com"}, ""},
		{"entra guest", entra, policy.Identity{Email: "alice@example.com", Guest: true}, policy.RuleGuest},
		{"entra other domain", entra, policy.Identity{Email: "eve@evil.example"}, policy.RuleEmailDomains},
		{"google workspace account", google, policy.Identity{Email: "alice@example.com", EmailVerified: true, HostedDomain: "example.com"}, ""},
		{"google consumer account with a company address", google, policy.Identity{Email: "alice@example.com", EmailVerified: true}, policy.RuleHostedDomain},
		{"google account of another workspace", google, policy.Identity{Email: "alice@example.com", EmailVerified: true, HostedDomain: "evil.example"}, policy.RuleHostedDomain},
		{"google unverified", google, policy.Identity{Email: "alice@example.com", HostedDomain: "example.com"}, policy.RuleEmailVerified},
		{"generic still needs email_verified", generic, policy.Identity{Email: "alice@example.com"}, policy.RuleEmailVerified},
		{"generic guest flag refused too", generic, policy.Identity{Email: "alice@example.com", EmailVerified: true, Guest: true}, policy.RuleGuest},
		{"keycloak top-level group", keycloak, policy.Identity{Email: "a@x.example", EmailVerified: true, Groups: []string{"staff"}}, ""},
		{"keycloak nested group in full", keycloak, policy.Identity{Email: "a@x.example", EmailVerified: true, Groups: []string{"rms/admins"}}, ""},
		{"keycloak nested group's leaf is not the group", keycloak, policy.Identity{Email: "a@x.example", EmailVerified: true, Groups: []string{"admins"}}, policy.RuleAllowGroups},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.p.SignIn(tc.id)
			if res.Allowed != (tc.wantRule == "") || res.Rule != tc.wantRule {
				t.Errorf("SignIn(%+v) = %+v; want rule %q", tc.id, res, tc.wantRule)
			}
		})
	}
}

// TestProviderOptions: entra and google need allowed_email_domains, an
// unknown provider is refused.
func TestProviderOptions(t *testing.T) {
	tests := []struct {
		o    policy.Options
		want string // "" means valid
	}{
		{policy.Options{Provider: policy.ProviderEntra}, "AllowedEmailDomains: required"},
		{policy.Options{Provider: policy.ProviderGoogle}, "AllowedEmailDomains: required"},
		{policy.Options{Provider: policy.ProviderEntra, AllowedEmailDomains: []string{"example.com"}}, ""},
		{policy.Options{Provider: policy.ProviderOkta}, ""},
		{policy.Options{Provider: policy.ProviderKeycloak}, ""},
		{policy.Options{Provider: policy.ProviderGeneric}, ""},
		{policy.Options{Provider: "azure"}, "Provider: must be one of"},
	}
	for _, tc := range tests {
		err := tc.o.Validate()
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(Provider %q) = %v; want %q", tc.o.Provider, err, tc.want)
		}
	}
}
