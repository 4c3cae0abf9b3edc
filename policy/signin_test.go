package policy_test

import (
	"strings"
	"testing"

	"github.com/rezigate/rezigate/policy"
)

// TestSignIn: every sign-in rule in one function, applied in order; the
// first that refuses names itself.
func TestSignIn(t *testing.T) {
	strict, err := policy.New(policy.Options{AllowGroups: []string{"staff", "ops"}, AllowedEmailDomains: []string{"Example.COM", "corp.example"}})
	if err != nil {
		t.Fatal(err)
	}
	lax, err := policy.New(policy.Options{AllowUnverifiedEmail: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		p        *policy.Policy
		id       policy.Identity
		wantRule policy.SignInRule // "" means allowed
	}{
		{"all rules pass", strict, policy.Identity{Email: "ada@example.com", EmailVerified: true, Groups: []string{"x", "ops"}}, ""},
		{"domain in any ASCII case", strict, policy.Identity{Email: "ada@CORP.Example", EmailVerified: true, Groups: []string{"staff"}}, ""},
		{"unverified first", strict, policy.Identity{Email: "eve@evil.example", Groups: nil}, policy.RuleEmailVerified},
		{"domain not listed", strict, policy.Identity{Email: "eve@evil.example", EmailVerified: true, Groups: []string{"staff"}}, policy.RuleEmailDomains},
		{"subdomain not listed", strict, policy.Identity{Email: "eve@a.example.com", EmailVerified: true, Groups: []string{"staff"}}, policy.RuleEmailDomains},
		{"Kelvin sign is not k", strict, policy.Identity{Email: "eve@corp.example\u212a", EmailVerified: true, Groups: []string{"staff"}}, policy.RuleEmailDomains},
		{"no address", strict, policy.Identity{EmailVerified: true, Groups: []string{"staff"}}, policy.RuleEmailDomains},
		{"no @ before the domain", strict, policy.Identity{Email: "@example.com", EmailVerified: true, Groups: []string{"staff"}}, policy.RuleEmailDomains},
		{"group case matters", strict, policy.Identity{Email: "ada@example.com", EmailVerified: true, Groups: []string{"Staff"}}, policy.RuleAllowGroups},
		{"no groups", strict, policy.Identity{Email: "ada@example.com", EmailVerified: true}, policy.RuleAllowGroups},
		{"lax: unverified, any domain, no groups", lax, policy.Identity{Email: "x@anything.example"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.p.SignIn(tc.id)
			if res.Allowed != (tc.wantRule == "") || res.Rule != tc.wantRule || res.Reason == "" {
				t.Errorf("SignIn(%+v) = %+v; want rule %q", tc.id, res, tc.wantRule)
			}
			if strings.Contains(res.Reason, tc.id.Email) && tc.id.Email != "" {
				t.Errorf("SignIn reason %q names the user's address", res.Reason)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() {
		strict.SignIn(policy.Identity{Email: "ada@example.com", EmailVerified: true, Groups: []string{"ops"}})
	}); n != 0 {
		t.Errorf("SignIn allocates %v times; want 0", n)
	}
}

// TestValidateEmailDomains: the policy refuses an email domain that could
// never match, naming its index.
func TestValidateEmailDomains(t *testing.T) {
	for _, d := range []string{"", "a@b.com", "*.example.com", "example.com.", "10.0.0.1", "::1", "example.123", "bücher.example", "exa_mple.com", "-x.com", "corp.example\u212a",
		" example.com", "example..com", strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 127) + "com"} {
		err := policy.Options{AllowedEmailDomains: []string{"ok.example", d}}.Validate()
		if err == nil || !strings.Contains(err.Error(), "policy: AllowedEmailDomains[1]: must be a domain name") {
			t.Errorf("Validate(AllowedEmailDomains %q) = %v; want the AllowedEmailDomains[1] error", d, err)
		}
	}
	for _, d := range []string{"example.com", "EXAMPLE.com", "xn--bcher-kva.example", "corp", "1password.com"} {
		if err := (policy.Options{AllowedEmailDomains: []string{d}}).Validate(); err != nil {
			t.Errorf("Validate(AllowedEmailDomains %q) = %v; want nil", d, err)
		}
	}
}
