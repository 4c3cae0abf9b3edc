package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/policy"
)

const policyYAML = minimalYAML + `upstream: "https://app.example.com:8443/base"
trusted_proxies: ["10.0.0.0/8", "192.168.1.7", "::1"]
policy:
  allow_groups: ["staff"]
  default: "deny"
  routes:
    - path: "/admin/"
      groups: ["rms-admins"]
    - path: "/rezi"
      methods: ["GET"]
      groups: ["rms-users"]
      emails: ["boss@example.com"]
    - {path: "/", groups: ["staff"]}
assertion:
  header: "X-Rezigate-Assertion"
`

// The policy keys map onto policy.Options with each route's line, and
// the assertion keys onto the signer's options.
func TestPolicyOptions(t *testing.T) {
	c, err := Parse([]byte(policyYAML), secretEnv)
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	o := c.PolicyOptions()
	if o.Default != policy.Deny || !slices.Equal(o.AllowGroups, []string{"staff"}) || len(o.Routes) != 3 || c.OIDCOptions(nil).GroupsClaim != "groups" {
		t.Fatalf("PolicyOptions = %+v", o)
	}
	wantLines := []int{14, 16, 20} // minimalYAML takes the first 7 lines
	for i, r := range o.Routes {
		if r.Line != wantLines[i] {
			t.Errorf("Routes[%d].Line = %d; want %d", i, r.Line, wantLines[i])
		}
	}
	if r := o.Routes[1]; r.Path != "/rezi" || !slices.Equal(r.Methods, []string{"GET"}) || !slices.Equal(r.Emails, []string{"boss@example.com"}) {
		t.Errorf("Routes[1] = %+v", r)
	}
	if _, err := policy.New(o); err != nil {
		t.Errorf("policy.New(PolicyOptions()) = %v", err)
	}
	tp := c.trustedProxies()
	if len(tp) != 3 || tp[0].String() != "10.0.0.0/8" || tp[1].String() != "192.168.1.7/32" || tp[2].String() != "::1/128" {
		t.Errorf("trustedProxies = %v", tp)
	}
	ao, err := c.AssertionOptions()
	if err != nil || ao.Issuer != "https://rms.example.com" || ao.Audience != "https://app.example.com:8443" || ao.Lifetime != 5*time.Minute || ao.Keys != nil {
		t.Errorf("AssertionOptions = %+v, %v; want the public URL as issuer and the upstream origin as audience", ao, err)
	}
	if w := strings.Join(c.Warnings(), "\n"); !strings.Contains(w, "assertion.signing_keys: empty") || !strings.Contains(w, "one replica only") {
		t.Errorf("Warnings = %q; want the one-replica warning", w)
	}
	if strings.Contains(strings.Join(c.Warnings(), "\n"), "policy.default") {
		t.Errorf("Warnings warn about policy.default although it is deny")
	}
}

func pemKey(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestAssertionSigningKeysFromEnv(t *testing.T) {
	k1, k2 := pemKey(t), pemKey(t)
	env := append(slices.Clone(secretEnv), "REZIGATE_ASSERTION_SIGNING_KEYS="+k1+","+k2)
	c, err := Parse([]byte(policyYAML), env)
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	ao, err := c.AssertionOptions()
	if err != nil || len(ao.Keys) != 2 {
		t.Fatalf("AssertionOptions = %d keys, %v; want 2", len(ao.Keys), err)
	}
	if w := strings.Join(c.Warnings(), "\n"); strings.Contains(w, "assertion.signing_keys") {
		t.Errorf("Warnings = %q; want no signing-key warning with keys from the environment", w)
	}
	for _, out := range []string{c.Redacted(), strings.Join(c.Warnings(), "\n")} {
		if strings.Contains(out, "PRIVATE KEY") {
			t.Errorf("a signing key leaked: %q", out)
		}
	}
}

// Every policy, proxy and assertion problem names its key, indices and
// nested fields included, and -check refuses it.
func TestPolicyProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want string
	}{
		{"route path", "policy:\n  routes:\n    - {path: \"/ok\", groups: [a]}\n    - {path: \"admin\", groups: [a]}\n", nil, "policy.routes[1].path: must start with / (line 11)"},
		{"route path not normal", "policy:\n  routes:\n    - {path: \"//admin\", groups: [a]}\n", nil, "policy.routes[0].path: must be in normal form"},
		{"route method", "policy:\n  routes:\n    - {path: \"/a\", methods: [GET, FETCH], groups: [a]}\n", nil, "policy.routes[0].methods[1]: must be one of GET"},
		{"route group", "policy:\n  routes:\n    - {path: \"/a\", groups: [\" a\"]}\n", nil, "policy.routes[0].groups[0]: must not have leading or trailing spaces"},
		{"route email", "policy:\n  routes:\n    - {path: \"/a\", emails: [nobody]}\n", nil, "policy.routes[0].emails[0]: must be an address"},
		{"nobody", "policy:\n  routes:\n    - {path: \"/a\"}\n", nil, "policy.routes[0]: lets nobody in"},
		{"shadowed", "policy:\n  routes:\n    - {path: \"/\", groups: [a]}\n    - {path: \"/admin\", groups: [b]}\n", nil, "policy.routes[1]: never matches: Routes[0] (line 10) covers its path and methods (line 11)"},
		{"unknown route key", "policy:\n  routes:\n    - {path: \"/a\", group: [a]}\n", nil, "policy.routes[0].group: unknown key (line 10)"},
		{"route not a mapping", "policy:\n  routes: [\"/a\"]\n", nil, "policy.routes"},
		{"default", "policy:\n  default: maybe\n", nil, `policy.default: must be "allow" or "deny"`},
		{"deny without routes", "policy:\n  default: deny\n", nil, "policy.default: \"deny\" with no routes lets nobody in"},
		{"allow group", "policy:\n  allow_groups: [ok, \"\"]\n", nil, "policy.allow_groups[1]: must not be empty"},
		{"groups claim", "policy:\n  groups_claim: \" groups\"\n", nil, "policy.groups_claim: must not have leading or trailing spaces"},
		{"trusted proxy", "trusted_proxies: [\"10.0.0.0/8\", \"nonsense\"]\n", nil, "trusted_proxies[1]: must be a valid CIDR prefix"},
		{"trusted proxy zone", "trusted_proxies: [\"fe80::1%eth0\"]\n", nil, "trusted_proxies[0]: must be a valid CIDR prefix"},
		{"assertion header", "upstream: \"https://app.example.com\"\nassertion:\n  header: \"X Bad\"\n", nil, "assertion.header: must be a header name"},
		{"assertion header clash", "upstream: \"https://app.example.com\"\nassertion:\n  header: \"x_forwarded_email\"\n", nil, "assertion.header: must differ from the email, user and groups headers"},
		{"assertion lifetime", "upstream: \"https://app.example.com\"\nassertion:\n  header: X-A\n  lifetime: 11m\n", nil, "assertion.lifetime: must be at most 10m"},
		{"assertion lifetime zero", "upstream: \"https://app.example.com\"\nassertion:\n  header: X-A\n  lifetime: 0s\n", nil, "assertion.lifetime: must be positive"},
		{"assertion audience", "assertion:\n  header: X-A\n", nil, "assertion.audience: required"},
		{"assertion keys", "upstream: \"https://app.example.com\"\nassertion:\n  header: X-A\n", []string{"REZIGATE_ASSERTION_SIGNING_KEYS=not a pem"}, "REZIGATE_ASSERTION_SIGNING_KEYS: "},
		{"routes from env", "", []string{"REZIGATE_POLICY_ROUTES=/admin"}, "REZIGATE_POLICY_ROUTES: must be a list of mappings, written in the file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(minimalYAML+tc.yaml), append(slices.Clone(secretEnv), tc.env...))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse = %v; want a problem containing %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "not a pem") {
				t.Errorf("Parse error %q shows the signing key's text", err)
			}
		})
	}
}

func TestYAMLPath(t *testing.T) {
	tests := []struct{ pkg, field, want string }{
		{"policy", "Routes[2].Path", "policy.routes[2].path"},
		{"policy", "Routes[2].Methods[1]", "policy.routes[2].methods[1]"},
		{"policy", "Routes[12]", "policy.routes[12]"},
		{"policy", "AllowGroups[0]", "policy.allow_groups[0]"},
		{"middleware", "Session.Secrets[1]", "session.secrets[1]"},
		{"redisstore", "Settings.Secrets[1]", "session.secrets[1]"},
		{"middleware", "Session.InsecureCookies", "session.secure"},
		{"redisstore", "Settings.MaxAge", "session.max_age"},
		{"middleware", "Store", ""},
		{"middleware", "Handoff.LoginURL", "rezi.login_url"},
		{"middleware", "Provider", ""},
		{"policy", "Routes[1].Nothing", ""},
	}
	for _, tc := range tests {
		got, ok := schema().PathOf("opt", tc.pkg+"."+tc.field)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("PathOf(opt, %q) = %q, %t; want %q", tc.pkg+"."+tc.field, got, ok, tc.want)
		}
	}
}

func TestPolicyWarnings(t *testing.T) {
	c, err := Parse([]byte(minimalYAML+"trusted_proxies: [\"0.0.0.0/0\"]\npolicy:\n  routes:\n    - {path: \"/admin\", groups: [a]}\n"), secretEnv)
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(c.Warnings(), "\n")
	for _, want := range []string{"trusted_proxies[0]: 0.0.0.0/0 trusts every client", "policy.default: allow: every path no route names is open"} {
		if !strings.Contains(w, want) {
			t.Errorf("Warnings = %q; want %q", w, want)
		}
	}
}
