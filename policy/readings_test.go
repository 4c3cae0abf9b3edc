package policy_test

import (
	"errors"
	"testing"

	"github.com/rezigate/rezigate/policy"
)

// servletPolicy denies /admin/ to everyone but rms-admins and opens
// /public/ to staff; everything else is denied.
func servletPolicy(fold bool) *policy.Policy {
	return mustNew(policy.Options{
		Default:              policy.Deny,
		CaseInsensitivePaths: fold,
		Routes: []policy.Route{
			{Path: "/admin/", Groups: []string{"rms-admins"}},
			{Path: "/public/", Groups: []string{"staff"}},
		},
	})
}

// judged is the outcome of Normalize then Decide for a staff member who
// is not an admin.
type judged struct {
	path string // as judged and forwarded; "" when refused
	rule int    // -1: no route
}

var refusedPath = judged{rule: -1}

func judge(t *testing.T, p *policy.Policy, method, raw string) judged {
	t.Helper()
	n, err := p.Normalize(raw)
	if err != nil {
		if !errors.Is(err, policy.ErrBadPath) {
			t.Fatalf("Normalize(%q) = %v; want ErrBadPath", raw, err)
		}
		return refusedPath
	}
	res := p.Decide(method, n, policy.User{Groups: []string{"staff"}})
	return judged{n, res.Rule}
}

// TestServletPathParameters sends the shapes that Tomcat and Jetty read
// as /admin/ (they cut each segment at ";" and read "..;" as "..") but
// nginx, Apache httpd, Go and Node read as something else. Each must be
// refused or judged by the /admin/ route, never by /public/ or the
// default; a parameter that changes no route keeps working.
func TestServletPathParameters(t *testing.T) {
	tests := []struct {
		name string
		fold bool
		raw  string
		want judged
	}{
		{"empty parameter ends admin", false, "/admin;/", refusedPath},
		{"session id on admin", false, "/admin;jsessionid=1/", refusedPath},
		{"two parameters", false, "/admin;x;y/", refusedPath},
		{"parameter on admin, page below", false, "/admin;/x", refusedPath},
		{"parameter on admin, no slash", false, "/admin;", refusedPath},
		{"folded, parameter on ADMIN", true, "/ADMIN;foo", refusedPath},
		{"case-sensitive, parameter on ADMIN", false, "/ADMIN;foo", judged{"/ADMIN;foo", -1}},
		{"dot dot with parameter", false, "/x/..;/admin/", refusedPath},
		{"dot dot with parameter from public", false, "/public/..;/admin/", refusedPath},
		{"escaped dot dot with parameter", false, "/public/%2e%2e;/admin/", refusedPath},
		{"dot dot with escaped parameter", false, "/public/..%3B/admin/", refusedPath},
		{"dot dot with lower-case escaped parameter", false, "/public/..%3bx/admin/", refusedPath},
		{"dot with parameter", false, "/.;/admin/", refusedPath},
		{"dot with parameter removed by dot dot", false, "/public/.;/../admin/", refusedPath},
		{"dot dot with parameter removed by dot dot", false, "/public/x/..;/../admin/", refusedPath},
		{"dot dot with parameter above the root", false, "/..;/admin/", refusedPath},
		{"empty segment with parameter", false, "/;/admin/", refusedPath},
		{"empty segment with parameter, then dot dot", false, "/public/;x/../admin/", refusedPath},
		{"escaped parameter on admin", false, "/admin%3B/", refusedPath},
		{"lower-case escaped parameter on admin", false, "/admin%3bx/", refusedPath},
		{"escaped letter and parameter", false, "/%61dmin;x/", refusedPath},
		{"parameter on public, dot dot into admin", false, "/public;/../admin/", judged{"/admin/", 0}},
		{"parameter on a removed segment", false, "/public/x;y/../../admin/", judged{"/admin/", 0}},
		{"parameter moves public to default", false, "/public;v=1/file", refusedPath},
		{"parameter moves default into public", false, "/pub;x/../public;y/", refusedPath},
		{"parameter on the last segment under public", false, "/public/file;v=1", judged{"/public/file;v=1", 1}},
		{"session id after public's slash", false, "/public/;jsessionid=ABC", judged{"/public/;jsessionid=ABC", 1}},
		{"escaped parameter under public", false, "/public/a%3Bb", judged{"/public/a%3Bb", 1}},
		{"parameter changing no route", false, "/docs;v=2/x", judged{"/docs;v=2/x", -1}},
		{"parameter under admin stays admin", false, "/admin/x;y", judged{"/admin/x;y", 0}},
		{"query holds the semicolon", false, "/public/x?a=1;b=/../admin", judged{"/public/x", 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := servletPolicy(tc.fold)
			if got := judge(t, p, "GET", tc.raw); got != tc.want {
				t.Errorf("judge(%q) = %+v; want %+v", tc.raw, got, tc.want)
			}
			// Decide refuses what Normalize refuses, so a caller that
			// skips Normalize fails closed.
			if tc.want == refusedPath {
				if res := p.Decide("GET", tc.raw, policy.User{Groups: []string{"staff", "rms-admins"}}); res.Allowed || res.Rule != -1 {
					t.Errorf("Decide(GET, %q) without Normalize = %+v; want refused", tc.raw, res)
				}
			}
		})
	}
}

// TestServletParametersNeedRoutes: without routes nothing is judged and
// nothing is refused, as before.
func TestServletParametersNeedRoutes(t *testing.T) {
	for _, raw := range []string{"/admin;/", "/x/..;/admin/", "/;x/a"} {
		if got, err := laxPolicy.Normalize(raw); err != nil || got != raw {
			t.Errorf("Normalize(%q) without routes = %q, %v; want it unchanged", raw, got, err)
		}
	}
}

// TestWindowsSegments: with case-insensitive paths (IIS and other
// Windows servers), a segment ending in a dot or a space, which Windows
// ignores, is refused; case-sensitive policies keep such names.
func TestWindowsSegments(t *testing.T) {
	tests := []struct {
		name string
		fold bool
		raw  string
		want judged
	}{
		{"trailing dot", true, "/ADMIN./", refusedPath},
		{"trailing dot, lower case", true, "/admin./x", refusedPath},
		{"escaped trailing dot", true, "/admin%2e/", refusedPath},
		{"escaped trailing dot, upper-case hex", true, "/admin%2E", refusedPath},
		{"trailing dots", true, "/admin../", refusedPath},
		{"escaped trailing space", true, "/admin%20/", refusedPath},
		{"raw trailing space", true, "/admin /", refusedPath},
		{"dot then space", true, "/admin.%20/", refusedPath},
		{"trailing dot on the last segment", true, "/public/file.", refusedPath},
		{"trailing dot before a path parameter", true, "/admin.;x/", refusedPath},
		{"trailing dot on a removed segment", true, "/x./../public/", refusedPath},
		{"three dots", true, "/.../admin", refusedPath},
		{"NTFS directory stream", true, "/admin::$INDEX_ALLOCATION/", refusedPath},
		{"NTFS stream, escaped colon", true, "/admin%3A%3A$INDEX_ALLOCATION/", refusedPath},
		{"NTFS data stream on a file", true, "/admin/index.html::$DATA", refusedPath},
		{"NTFS named stream", true, "/admin:$i30:$INDEX_ALLOCATION/", refusedPath},
		{"8.3 short name", true, "/ADMINI~1/", refusedPath},
		{"8.3 short name, lower case", true, "/public/../admin~2/x", refusedPath},
		{"tilde without a digit kept", true, "/public/~user", judged{"/public/~user", 1}},
		{"case-sensitive keeps a colon", false, "/public/a:b", judged{"/public/a:b", 1}},
		{"inner dot and space kept", true, "/public/a.b%20c", judged{"/public/a.b%20c", 1}},
		{"dot segments still resolved", true, "/public/./x/../y", judged{"/public/y", 1}},
		{"upper case folded", true, "/ADMIN/", judged{"/ADMIN/", 0}},
		{"case-sensitive keeps a trailing dot", false, "/admin./", judged{"/admin./", -1}},
		{"case-sensitive keeps a trailing space", false, "/admin%20/", judged{"/admin%20/", -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := judge(t, servletPolicy(tc.fold), "GET", tc.raw); got != tc.want {
				t.Errorf("judge(%q) = %+v; want %+v", tc.raw, got, tc.want)
			}
		})
	}
}

// TestHeadIsGet: a route that lists GET decides HEAD too (RFC 9110: HEAD
// is GET without the body, and upstreams run the GET handler for it); a
// route that lists only HEAD does not decide GET.
func TestHeadIsGet(t *testing.T) {
	p := mustNew(policy.Options{Routes: []policy.Route{
		{Path: "/secret", Methods: []string{"GET"}, Groups: []string{"readers"}},
		{Path: "/probe", Methods: []string{"head"}, Groups: []string{"probers"}},
		{Path: "/api", Methods: []string{"get", "POST"}, Groups: []string{"writers"}},
	}})
	u := policy.User{Groups: []string{"staff"}}
	tests := []struct {
		method, path string
		rule         int
	}{
		{"GET", "/secret", 0},
		{"HEAD", "/secret", 0},
		{"head", "/secret/x", 0},
		{"POST", "/secret", -1},
		{"HEAD", "/probe", 1},
		{"GET", "/probe", -1},
		{"HEAD", "/api", 2},
		{"PUT", "/api", -1},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			res := p.Decide(tc.method, tc.path, u)
			if res.Rule != tc.rule || (tc.rule >= 0 && res.Allowed) {
				t.Errorf("Decide(%q, %q) = %+v; want rule %d, refused when a route decides", tc.method, tc.path, res, tc.rule)
			}
		})
	}
}

// TestReadingsAllocs: refusing, and accepting a parameter that changes
// no route, costs no allocation for paths already in normal form.
func TestReadingsAllocs(t *testing.T) {
	p := servletPolicy(true)
	for _, in := range []string{"/public/file;v=1", "/admin;/", "/public/x/", "/ADMIN./"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = p.Normalize(in) }); n != 0 {
			t.Errorf("Normalize(%q) allocates %v times; want 0", in, n)
		}
		if n := testing.AllocsPerRun(100, func() { p.Decide("GET", in, policy.User{}) }); n != 0 {
			t.Errorf("Decide(GET, %q) allocates %v times; want 0", in, n)
		}
	}
}
