package policy_test

import (
	"errors"
	"testing"

	"github.com/rezigate/rezigate/policy"
)

// strictPolicy has a route, so its Normalize refuses ambiguous paths;
// laxPolicy has none, so its Normalize refuses nothing.
var (
	strictPolicy = mustNew(policy.Options{Routes: []policy.Route{{Path: "/admin/", Groups: []string{"rms-admins"}}}})
	laxPolicy    = mustNew(policy.Options{})
)

func mustNew(o policy.Options) *policy.Policy {
	p, err := policy.New(o)
	if err != nil {
		panic(err)
	}
	return p
}

// bad marks a case whose path must be refused with ErrBadPath.
const bad = "<ErrBadPath>"

func TestNormalize(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		strict string // with routes
		lax    string // without routes; "" means the same as strict
	}{
		{"empty", "", "/", ""},
		{"root", "/", "/", ""},
		{"plain", "/admin", "/admin", ""},
		{"no leading slash", "admin", "/admin", ""},
		{"trailing slash kept", "/admin/", "/admin/", ""},
		{"upper case kept", "/ADMIN", "/ADMIN", ""},
		{"escaped letter", "/%61dmin", "/admin", ""},
		{"escaped upper-case letters", "/%41%44MIN", "/ADMIN", ""},
		{"escaped digit and -._~", "/%30%2D%2E%5F%7E", "/0-._~", ""},
		{"other escape kept, hex upper-cased", "/caf%c3%a9", "/caf%C3%A9", ""},
		{"escaped space kept", "/a%20b", "/a%20b", ""},
		{"escaped ? kept", "/a%3Fb", "/a%3Fb", ""},
		{"escaped # kept", "/a%23b", "/a%23b", ""},
		{"escaped % kept, not decoded twice", "/a%252e%252e/b", "/a%252e%252e/b", ""},
		{"dot dot forward", "/admin/../public", "/public", ""},
		{"dot dot back into admin", "/public/../admin", "/admin", ""},
		{"escaped dot dot", "/public/%2e%2e/admin", "/admin", ""},
		{"escaped dot dot upper", "/public/%2E%2E/admin", "/admin", ""},
		{"half-escaped dot dot", "/public/.%2e/admin", "/admin", ""},
		{"double slash", "//admin", "/admin", ""},
		{"many slashes", "///admin//x///y", "/admin/x/y", ""},
		{"trailing slashes merged", "/admin//", "/admin/", ""},
		{"dot", "/./admin", "/admin", ""},
		{"escaped dot", "/%2e/admin", "/admin", ""},
		{"trailing dot", "/admin/.", "/admin/", ""},
		{"trailing dot dot", "/admin/x/..", "/admin/", ""},
		{"dot dot to root", "/admin/..", "/", ""},
		{"three dots is a name", "/.../admin", "/.../admin", ""},
		{"dot suffix is a name", "/admin%2e", "/admin.", ""},
		{"query cut", "/admin?x=/public", "/admin", ""},
		{"query cut before dot segments", "/admin?/../public", "/admin", ""},
		{"fragment cut", "/public#/admin", "/public", ""},
		{"empty fragment", "/admin#", "/admin", ""},
		{"fragment after query", "/public?#/admin", "/public", ""},
		{"only a query", "?/admin", "/", ""},
		{"encoded slash", "/admin%2Fx", bad, "/admin%2Fx"},
		{"encoded slash lower", "/admin%2fx", bad, "/admin%2Fx"},
		{"encoded slash climbing", "/public%2F..%2Fadmin", bad, "/public%2F..%2Fadmin"},
		{"encoded backslash", "/admin%5Cx", bad, "/admin%5Cx"},
		{"encoded backslash lower", "/admin%5cx", bad, "/admin%5Cx"},
		{"raw backslash", `/public\..\admin`, bad, `/public\..\admin`},
		{"escaped NUL", "/admin%00", bad, "/admin%00"},
		{"raw NUL", "/admin\x00", bad, "/admin\x00"},
		{"climb above root", "/../admin", bad, "/admin"},
		{"escaped climb above root", "/%2e%2e/admin", bad, "/admin"},
		{"climb above root later", "/a/../../admin", bad, "/admin"},
		{"overlong slash", "/%C0%AFadmin", bad, "/%C0%AFadmin"},
		{"invalid escaped byte", "/%ff", bad, "/%FF"},
		{"truncated escaped rune", "/%E2%82", bad, "/%E2%82"},
		{"raw invalid byte", "/\xffadmin", bad, "/\xffadmin"},
		{"raw valid rune", "/café", "/café", ""},
		{"malformed escape", "/a%zz", bad, "/a%25zz"},
		{"trailing percent", "/a%", bad, "/a%25"},
		{"short escape", "/a%4", bad, "/a%254"},
		{"malformed escape cannot form a new one", "/%%32%65", bad, "/%252e"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lax := tc.lax
			if lax == "" {
				lax = tc.strict
			}
			for _, m := range []struct {
				p    *policy.Policy
				name string
				want string
			}{{strictPolicy, "with routes", tc.strict}, {laxPolicy, "without routes", lax}} {
				got, err := m.p.Normalize(tc.in)
				if m.want == bad {
					if !errors.Is(err, policy.ErrBadPath) {
						t.Errorf("%s: Normalize(%q) = %q, %v; want ErrBadPath", m.name, tc.in, got, err)
					}
					continue
				}
				if err != nil || got != m.want {
					t.Errorf("%s: Normalize(%q) = %q, %v; want %q", m.name, tc.in, got, err, m.want)
					continue
				}
				if again, err := m.p.Normalize(got); err != nil || again != got {
					t.Errorf("%s: Normalize(%q) = %q, %v; want it unchanged", m.name, got, again, err)
				}
			}
		})
	}
}

// TestNormalizeErrorHidesPath checks that a refusal names the reason but
// not the path, which the caller may log or not as it chooses.
func TestNormalizeErrorHidesPath(t *testing.T) {
	_, err := strictPolicy.Normalize("/secret-looking-path%2Fx")
	if err == nil {
		t.Fatal("Normalize accepted an encoded slash")
	}
	if msg := err.Error(); msg != "policy: bad request path: encoded / or \\" {
		t.Errorf("Normalize error = %q; want the reason only", msg)
	}
}

func TestNormalizeAllocs(t *testing.T) {
	for _, in := range []string{"/", "/admin/reports/2026/q1", "/caf%C3%A9/x"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = strictPolicy.Normalize(in) }); n != 0 {
			t.Errorf("Normalize(%q) allocates %v times; want 0 for a path already normal", in, n)
		}
	}
}
