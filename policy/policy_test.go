package policy_test

import (
	"fmt"
	"testing"

	"github.com/rezigate/rezigate/policy"
)

// rms is the policy most tests judge against.
func rms(fold bool, def policy.Decision) *policy.Policy {
	return mustNew(policy.Options{
		Default:              def,
		CaseInsensitivePaths: fold,
		Routes: []policy.Route{
			{Path: "/admin/", Groups: []string{"rms-admins"}, Line: 10},
			{Path: "/rezi", Groups: []string{"rms-users"}, Emails: []string{"Boss@Example.com"}, Line: 12},
			{Path: "/api", Methods: []string{"post", "DELETE"}, Groups: []string{"writers"}, Line: 14},
			{Path: "/reports", Emails: []string{"auditor@example.com"}, Line: 16},
		},
	})
}

var (
	eve   = policy.User{Email: "eve@example.com", Groups: []string{"rms-users"}}
	admin = policy.User{Email: "root@example.com", Groups: []string{"staff", "rms-admins"}}
)

// TestJudgedAsForwarded sends raw request paths through Normalize and
// Decide, as a caller does: every spelling that an upstream reads as
// /admin must be judged by the /admin/ route or refused.
func TestJudgedAsForwarded(t *testing.T) {
	const refused = -2
	tests := []struct {
		name string
		fold bool
		raw  string
		rule int    // deciding route, -1 default, refused for ErrBadPath
		path string // the path judged and forwarded
	}{
		{"admin", false, "/admin", 0, "/admin"},
		{"admin slash", false, "/admin/", 0, "/admin/"},
		{"admin below", false, "/admin/users/1", 0, "/admin/users/1"},
		{"not a segment prefix", false, "/administrator", -1, "/administrator"},
		{"upper case, case-sensitive", false, "/ADMIN", -1, "/ADMIN"},
		{"upper case, case-insensitive", true, "/ADMIN", 0, "/ADMIN"},
		{"mixed case below, case-insensitive", true, "/Admin/x", 0, "/Admin/x"},
		{"escaped letter", false, "/%61dmin", 0, "/admin"},
		{"escaped upper case, case-insensitive", true, "/%41DMIN/x", 0, "/ADMIN/x"},
		{"escaped upper case, case-sensitive", false, "/%41DMIN/x", -1, "/ADMIN/x"},
		{"dot dot out of admin", false, "/admin/../public", -1, "/public"},
		{"dot dot into admin", false, "/public/../admin", 0, "/admin"},
		{"escaped dot dot into admin", false, "/public/%2e%2e/admin/x", 0, "/admin/x"},
		{"double slash", false, "//admin", 0, "/admin"},
		{"dot segment", false, "/./admin", 0, "/admin"},
		{"escaped dot segment", false, "/%2e/admin", 0, "/admin"},
		{"encoded slash", false, "/admin%2Fx", refused, ""},
		{"encoded slash lower", false, "/public%2f..%2fadmin", refused, ""},
		{"encoded backslash", false, "/public%5C..%5Cadmin", refused, ""},
		{"raw backslash", false, `/public\..\admin`, refused, ""},
		{"query holding a path", false, "/admin?x=/public", 0, "/admin"},
		{"query cannot open admin", false, "/public?x=/admin", -1, "/public"},
		{"fragment holding a path", false, "/public#/admin", -1, "/public"},
		{"empty fragment", false, "/admin#", 0, "/admin"},
		{"escaped NUL", false, "/admin%00", refused, ""},
		{"raw NUL", false, "/admin\x00", refused, ""},
		{"climb above root", false, "/../admin", refused, ""},
		{"escaped climb above root", false, "/%2e%2e/admin", refused, ""},
		{"overlong slash", false, "/public/..%C0%AFadmin", refused, ""},
		{"rezi", false, "/rezi", 1, "/rezi"},
		{"rezi below", false, "/rezi/x", 1, "/rezi/x"},
		{"rezi with query", false, "/rezi?openOnboarding=true", 1, "/rezi"},
		{"rezi prefix of a name", false, "/reziX", -1, "/reziX"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := rms(tc.fold, policy.Allow)
			got, err := p.Normalize(tc.raw)
			if tc.rule == refused {
				if err == nil {
					t.Errorf("Normalize(%q) = %q; want ErrBadPath", tc.raw, got)
				}
				return
			}
			if err != nil || got != tc.path {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", tc.raw, got, err, tc.path)
			}
			res := p.Decide("GET", got, eve)
			if res.Rule != tc.rule {
				t.Errorf("Decide(GET, %q) = %+v; want rule %d", got, res, tc.rule)
			}
			wantAllowed := tc.rule != 0 // eve is not an admin; everything else lets her in
			if res.Allowed != wantAllowed {
				t.Errorf("Decide(GET, %q).Allowed = %v; want %v", got, res.Allowed, wantAllowed)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name   string
		def    policy.Decision
		method string
		path   string
		user   policy.User
		want   policy.Result
	}{
		{"admin in group", policy.Allow, "GET", "/admin/x", admin,
			policy.Result{Allowed: true, Rule: 0, Path: "/admin/", Line: 10, Reason: "in group rms-admins"}},
		{"non-admin refused", policy.Allow, "GET", "/admin", eve,
			policy.Result{Rule: 0, Path: "/admin/", Line: 10, Reason: "not in any of rms-admins"}},
		{"groups compared exactly", policy.Allow, "GET", "/admin", policy.User{Groups: []string{"RMS-ADMINS", "rms-admins "}},
			policy.Result{Rule: 0, Path: "/admin/", Line: 10, Reason: "not in any of rms-admins"}},
		{"no groups at all", policy.Allow, "GET", "/admin", policy.User{Email: "x@example.com"},
			policy.Result{Rule: 0, Path: "/admin/", Line: 10, Reason: "not in any of rms-admins"}},
		{"group on a mixed route", policy.Allow, "GET", "/rezi", eve,
			policy.Result{Allowed: true, Rule: 1, Path: "/rezi", Line: 12, Reason: "in group rms-users"}},
		{"email, case folded", policy.Allow, "GET", "/rezi", policy.User{Email: "BOSS@example.COM"},
			policy.Result{Allowed: true, Rule: 1, Path: "/rezi", Line: 12, Reason: "listed email boss@example.com"}},
		{"email folded only in ASCII", policy.Allow, "GET", "/rezi", policy.User{Email: "boß@example.com"},
			policy.Result{Rule: 1, Path: "/rezi", Line: 12, Reason: "not in any of rms-users and email not listed"}},
		{"email not listed", policy.Allow, "GET", "/reports/q1", eve,
			policy.Result{Rule: 3, Path: "/reports", Line: 16, Reason: "email not listed"}},
		{"empty email", policy.Allow, "GET", "/reports", policy.User{},
			policy.Result{Rule: 3, Path: "/reports", Line: 16, Reason: "email not listed"}},
		{"listed email", policy.Allow, "GET", "/reports", policy.User{Email: "auditor@example.com"},
			policy.Result{Allowed: true, Rule: 3, Path: "/reports", Line: 16, Reason: "listed email auditor@example.com"}},
		{"listed method", policy.Allow, "POST", "/api/items", eve,
			policy.Result{Rule: 2, Path: "/api", Line: 14, Reason: "not in any of writers"}},
		{"listed method, lower case", policy.Allow, "delete", "/api/items", policy.User{Groups: []string{"writers"}},
			policy.Result{Allowed: true, Rule: 2, Path: "/api", Line: 14, Reason: "in group writers"}},
		{"unlisted method falls through", policy.Allow, "GET", "/api/items", eve,
			policy.Result{Allowed: true, Rule: -1, Reason: "no route matched; default allow"}},
		{"unknown method falls through", policy.Allow, "PROPFIND", "/api/items", eve,
			policy.Result{Allowed: true, Rule: -1, Reason: "no route matched; default allow"}},
		{"unknown method on a route without methods", policy.Allow, "PROPFIND", "/admin/x", eve,
			policy.Result{Rule: 0, Path: "/admin/", Line: 10, Reason: "not in any of rms-admins"}},
		{"default allow", policy.Allow, "GET", "/public", eve,
			policy.Result{Allowed: true, Rule: -1, Reason: "no route matched; default allow"}},
		{"zero default is allow", "", "GET", "/public", eve,
			policy.Result{Allowed: true, Rule: -1, Reason: "no route matched; default allow"}},
		{"default deny", policy.Deny, "GET", "/public", admin,
			policy.Result{Rule: -1, Reason: "no route matched; default deny"}},
		{"default deny, route still opens", policy.Deny, "GET", "/rezi/x", eve,
			policy.Result{Allowed: true, Rule: 1, Path: "/rezi", Line: 12, Reason: "in group rms-users"}},
		{"path not normalised fails closed", policy.Allow, "GET", "//public", admin,
			policy.Result{Rule: -1, Reason: "path not in normal form; call Normalize first"}},
		{"raw query fails closed", policy.Allow, "GET", "/admin?x=/public", admin,
			policy.Result{Rule: -1, Reason: "path not in normal form; call Normalize first"}},
		{"refused path fails closed", policy.Allow, "GET", "/admin%2Fx", admin,
			policy.Result{Rule: -1, Reason: "path not in normal form; call Normalize first"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := rms(false, tc.def)
			if got := p.Decide(tc.method, tc.path, tc.user); got != tc.want {
				t.Errorf("Decide(%q, %q, %+v) = %+v; want %+v", tc.method, tc.path, tc.user, got, tc.want)
			}
		})
	}
}

func TestDecideFirstMatchWins(t *testing.T) {
	p := mustNew(policy.Options{Routes: []policy.Route{
		{Path: "/a/b", Groups: []string{"y"}},
		{Path: "/a", Groups: []string{"x"}},
		{Path: "/m", Methods: []string{"GET"}, Groups: []string{"readers"}},
		{Path: "/m", Groups: []string{"writers"}},
	}})
	x := policy.User{Groups: []string{"x"}}
	y := policy.User{Groups: []string{"y"}}
	writer := policy.User{Groups: []string{"writers"}}
	tests := []struct {
		method, path string
		user         policy.User
		rule         int
		allowed      bool
	}{
		{"GET", "/a/b/c", y, 0, true},
		{"GET", "/a/b", x, 0, false}, // /a would let x in, but /a/b decides first
		{"GET", "/a/c", x, 1, true},
		{"GET", "/a/bc", x, 1, true},
		{"GET", "/m", writer, 2, false}, // a GET to /m is for readers only
		{"POST", "/m", writer, 3, true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %s", tc.method, tc.path), func(t *testing.T) {
			got := p.Decide(tc.method, tc.path, tc.user)
			if got.Rule != tc.rule || got.Allowed != tc.allowed {
				t.Errorf("Decide(%q, %q, %v) = %+v; want rule %d allowed %v", tc.method, tc.path, tc.user.Groups, got, tc.rule, tc.allowed)
			}
		})
	}
}

func TestDecideRootRoute(t *testing.T) {
	p := mustNew(policy.Options{Default: policy.Deny, Routes: []policy.Route{{Path: "/", Groups: []string{"staff"}}}})
	for _, path := range []string{"/", "/x", "/admin/y"} {
		if got := p.Decide("GET", path, policy.User{Groups: []string{"staff"}}); got.Rule != 0 || !got.Allowed {
			t.Errorf("Decide(GET, %q) = %+v; want allowed by rule 0", path, got)
		}
	}
}

func TestSignInAllowed(t *testing.T) {
	tests := []struct {
		name   string
		allow  []string
		groups []string
		want   bool
	}{
		{"no allow groups, no groups", nil, nil, true},
		{"no allow groups", []string{}, []string{"x"}, true},
		{"in one", []string{"staff", "contractors"}, []string{"x", "contractors"}, true},
		{"in none", []string{"staff"}, []string{"x", "y"}, false},
		{"no groups", []string{"staff"}, nil, false},
		{"compared exactly", []string{"staff"}, []string{"Staff", "staff "}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustNew(policy.Options{AllowGroups: tc.allow})
			if got := p.SignInAllowed(tc.groups); got != tc.want {
				t.Errorf("SignInAllowed(%q) with AllowGroups %q = %v; want %v", tc.groups, tc.allow, got, tc.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	want := "policy: 4 routes, default deny, case-insensitive paths true, 0 sign-in groups"
	if got := rms(true, policy.Deny).String(); got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
}

// TestNewCopies checks that changing Options after New changes nothing.
func TestNewCopies(t *testing.T) {
	o := policy.Options{AllowGroups: []string{"staff"}, Routes: []policy.Route{{Path: "/admin", Groups: []string{"admins"}, Emails: []string{"a@example.com"}}}}
	p := mustNew(o)
	o.AllowGroups[0] = "x"
	o.Routes[0].Path = "/other"
	o.Routes[0].Groups[0] = "x"
	o.Routes[0].Emails[0] = "x@example.com"
	if !p.SignInAllowed([]string{"staff"}) {
		t.Error("SignInAllowed changed with the Options after New")
	}
	x := policy.User{Email: "x@example.com", Groups: []string{"x"}}
	if got := p.Decide("GET", "/admin", x); got.Rule != 0 || got.Allowed || got.Path != "/admin" {
		t.Errorf("Decide after changing Options = %+v; want the rules as given to New", got)
	}
}

func TestDecideAllocs(t *testing.T) {
	p := twentyRoutes()
	u := policy.User{Email: "Ada@Example.com", Groups: []string{"g1", "g2", "g3", "staff", "team-19"}}
	for _, path := range []string{"/app19/page", "/nowhere", "/app0"} {
		if n := testing.AllocsPerRun(100, func() { p.Decide("GET", path, u) }); n != 0 {
			t.Errorf("Decide(GET, %q) allocates %v times; want 0", path, n)
		}
	}
}

// twentyRoutes is a policy of 20 routes, each for its own group and an
// email.
func twentyRoutes() *policy.Policy {
	var routes []policy.Route
	for i := range 20 {
		routes = append(routes, policy.Route{
			Path:   fmt.Sprintf("/app%d/", i),
			Groups: []string{fmt.Sprintf("team-%d", i), "admins"},
			Emails: []string{fmt.Sprintf("lead%d@example.com", i)},
		})
	}
	return mustNew(policy.Options{Default: policy.Deny, Routes: routes})
}
