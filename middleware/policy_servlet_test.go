package middleware

import (
	"net/netip"
	"testing"

	"github.com/rezigate/rezigate/policy"
)

// TestPolicyServletPaths sends, through a real listener and through
// forward-auth, the path shapes that Tomcat and Jetty read as /admin/
// (each segment cut at ";", "..;" read as "..") and that Windows servers
// read as /admin/ (a trailing dot or space dropped). None may reach the
// upstream or get a 202 for a user the /admin/ route refuses; a path
// parameter that changes no route still works.
func TestPolicyServletPaths(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	sensitive := newPolicyEnv(t, func(o *Options) { o.TrustedProxies = loopback }, nil)
	folding := newPolicyEnv(t, func(o *Options) {
		o.TrustedProxies = loopback
		o.Policy.CaseInsensitivePaths = true
	}, nil)
	carol := map[*policyEnv]string{
		sensitive: sensitive.cookieOf("carol@example.com", "carol-pw"),
		folding:   folding.cookieOf("carol@example.com", "carol-pw"),
	}
	tests := []struct {
		name       string
		e          *policyEnv
		target     string
		want       int    // straight through the proxy
		wantTarget string // as the upstream got it; "" = not reached
		wantAuth   int    // forward-auth for the same URI
	}{
		{"empty parameter on admin", sensitive, "/admin;/", 400, "", 403},
		{"session id on admin", sensitive, "/admin;jsessionid=1/", 400, "", 403},
		{"parameter on admin, page below", sensitive, "/admin;/x", 400, "", 403},
		{"escaped parameter on admin", sensitive, "/admin%3B/", 400, "", 403},
		{"dot dot with parameter", sensitive, "/x/..;/admin/", 400, "", 403},
		{"dot dot with parameter from public", sensitive, "/public/..;/admin/", 400, "", 403},
		{"escaped dots with parameter", sensitive, "/public/%2e%2e;/admin/", 400, "", 403},
		{"dot with parameter removed by dot dot", sensitive, "/a/.;/../admin/", 400, "", 403},
		{"empty segment with parameter", sensitive, "/;x/admin/", 400, "", 403},
		{"parameter on a segment dot dot removes", sensitive, "/public;/../admin/", 403, "", 403},
		{"parameter on the last segment", sensitive, "/public/file;v=1", 200, "/public/file;v=1", 202},
		{"session id after a slash", sensitive, "/public/;jsessionid=1", 200, "/public/;jsessionid=1", 202},
		{"folded, parameter on ADMIN", folding, "/ADMIN;foo", 400, "", 403},
		{"folded, trailing dot", folding, "/ADMIN./", 400, "", 403},
		{"folded, escaped trailing dot", folding, "/admin%2e/x", 400, "", 403},
		{"folded, escaped trailing space", folding, "/admin%20/", 400, "", 403},
		{"case-sensitive, trailing dot is a name", sensitive, "/admin./", 200, "/admin./", 202},
		// Forwarded exactly as judged, escapes kept, even when the
		// path had to be rebuilt.
		{"escaped parameter forwarded as judged", sensitive, "//public/a%3bb", 200, "/public/a%3Bb", 202},
		{"escaped reserved characters forwarded as judged", sensitive, "/public/%7e/%3d%2c%40%24", 200, "/public/~/%3D%2C%40%24", 202},
		{"decoded and kept escapes forwarded as judged", sensitive, "/%70ublic/a%20b%3Bc", 200, "/public/a%20b%3Bc", 202},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cookie := [2]string{"Cookie", carol[tc.e]}
			resp, body := raw(t, tc.e.addr(), "GET", tc.target, [][2]string{{"Accept", "application/json"}, cookie})
			if resp.StatusCode != tc.want {
				t.Errorf("GET %s = %d %q; want %d", tc.target, resp.StatusCode, body, tc.want)
			}
			if tc.want == 400 && body != badPathJSON {
				t.Errorf("GET %s body = %q; want %q", tc.target, body, badPathJSON)
			}
			got := tc.e.up.take()
			switch {
			case tc.wantTarget == "" && len(got) != 0:
				t.Errorf("GET %s reached the upstream as %q", tc.target, got[0].target)
			case tc.wantTarget != "" && (len(got) != 1 || got[0].target != tc.wantTarget):
				t.Errorf("GET %s reached the upstream as %+v; want exactly %q", tc.target, got, tc.wantTarget)
			}
			for _, h := range [][2]string{{"X-Forwarded-Uri", "X-Forwarded-Method"}, {"X-Original-URI", "X-Original-Method"}} {
				resp, _ := raw(t, tc.e.addr(), "GET", "/oauth2/auth", [][2]string{{h[0], tc.target}, {h[1], "GET"}, cookie})
				if resp.StatusCode != tc.wantAuth {
					t.Errorf("/oauth2/auth with %s: %s = %d; want %d", h[0], tc.target, resp.StatusCode, tc.wantAuth)
				}
			}
		})
	}
}

// TestPolicyHeadIsGet: a route that lists GET decides HEAD, straight
// through the proxy and through forward-auth.
func TestPolicyHeadIsGet(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	e := newPolicyEnv(t, func(o *Options) {
		o.TrustedProxies = loopback
		o.Policy.Routes = append(o.Policy.Routes, policy.Route{Path: "/secret", Methods: []string{"GET"}, Groups: []string{"rms-admins"}})
	}, nil)
	carol := [2]string{"Cookie", e.cookieOf("carol@example.com", "carol-pw")}
	for _, method := range []string{"GET", "HEAD"} {
		resp, _ := raw(t, e.addr(), method, "/secret", [][2]string{{"Accept", "application/json"}, carol})
		if resp.StatusCode != 403 {
			t.Errorf("%s /secret = %d; want 403", method, resp.StatusCode)
		}
		if got := e.up.take(); len(got) != 0 {
			t.Errorf("%s /secret reached the upstream: %+v", method, got)
		}
		resp, _ = raw(t, e.addr(), "GET", "/oauth2/auth", [][2]string{{"X-Forwarded-Uri", "/secret"}, {"X-Forwarded-Method", method}, carol})
		if resp.StatusCode != 403 {
			t.Errorf("/oauth2/auth for %s /secret = %d; want 403", method, resp.StatusCode)
		}
	}
}
