package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestExplainSignInRules: explain applies every sign-in rule the server
// applies (policy.SignIn), the email domains included: an address outside
// oidc.allowed_email_domains is refused whatever its groups, as the
// callback and every refresh refuse it.
func TestExplainSignInRules(t *testing.T) {
	path := writeFile(t, `public_url: "http://127.0.0.1:4180"
oidc:
  allowed_email_domains: ["Example.com"]
policy:
  allow_groups: ["staff"]
`)
	tests := []struct {
		name, email, groups string
		wantExit            int
		wantOut             string
	}{
		{"allowed", "ada@example.com", "staff", 0, "decision: allowed"},
		{"domain in another case", "ada@EXAMPLE.COM", "staff", 0, "decision: allowed"},
		{"domain not allowed", "eve@evil.example", "staff", 2, "sign-in:  refused: email domain not in oidc.allowed_email_domains"},
		{"subdomain not allowed", "eve@mail.example.com", "staff", 2, "sign-in:  refused: email domain not in oidc.allowed_email_domains"},
		{"look-alike domain", "eve@example.com.evil.example", "staff", 2, "sign-in:  refused: email domain"},
		{"not in allow_groups", "ada@example.com", "contractors", 2, "sign-in:  refused: in none of policy.allow_groups"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runExplain(explainArgs(path, tc.email, tc.groups, "GET", "/"), nil, &out, &errOut)
			if code != tc.wantExit || !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("explain -email %s -groups %s = %d\n%s%s\nwant %d with %q", tc.email, tc.groups, code, out.String(), errOut.String(), tc.wantExit, tc.wantOut)
			}
		})
	}
}
