package middleware

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/internal/groupheader"
	"github.com/rezigate/rezigate/internal/testsupport/redistest"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/proxy"
)

// maxHeaderLine is nginx's default buffer for one request header line
// (large_client_header_buffers 4 8k): a longer line gets 400.
const maxHeaderLine = 8 << 10

const assertionHeader = "X-Gate-Assertion"

// groupsEnv is a deployment whose upstream records what it receives, with
// the groups and an assertion sent upstream, the given store ("cookie" or
// "redis"), policy and users; forward-auth trusts loopback.
func groupsEnv(t *testing.T, store string, pol policy.Options, users []demo.User) (*env, *recorder) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var signer *assertion.Signer
	rec := &recorder{}
	e := newEnv(t, envOptions{users: users, upstream: rec, mod: func(o *Options) {
		setPolicy(o, pol)
		if store == "redis" {
			useRedis(t, o, redistest.URL(t))
		}
		signer, err = assertion.NewSigner(assertion.SignerOptions{Keys: []*ecdsa.PrivateKey{key}, Issuer: o.PublicURL, Audience: "rms"})
		if err != nil {
			t.Fatal(err)
		}
		o.Assertion, o.AssertionHeader = signer, assertionHeader
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}, proxyMod: func(po *proxy.Options) {
		po.Groups = func(r *http.Request) []string { u, _ := UserFromContext(r.Context()); return u.Groups }
		po.Assertion, po.AssertionHeader = signer, assertionHeader
	}})
	return e, rec
}

// callback signs user in up to the callback and returns its response.
func (e *env) callback(u demo.User) response {
	e.t.Helper()
	c := newClient()
	cb := e.loginAt(c, e.authURL(c, "/"), u.Email, u.Password)
	return e.do(c, "GET", cb, navigate, nil)
}

// upstreamOf signs u in and returns the headers the upstream received for
// GET path, and those of forward-auth's 202 for the same path.
func upstreamOf(t *testing.T, e *env, rec *recorder, u demo.User, path string) (proxied, forwardAuth http.Header) {
	t.Helper()
	r := e.signIn(newClient(), "/", u.Email, u.Password)
	sc := sessionCookie(r)
	if sc == nil {
		t.Fatalf("sign-in of %s = %d %.200q; want a session", u.Email, r.StatusCode, r.body)
	}
	cookie := [][2]string{{"Cookie", sc.Name + "=" + sc.Value}}
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	resp, _ := raw(t, addr, "GET", path, cookie)
	got := rec.take()
	if resp.StatusCode != http.StatusOK || len(got) != 1 {
		t.Fatalf("GET %s = %d, %d upstream requests; want 200, 1", path, resp.StatusCode, len(got))
	}
	resp, _ = raw(t, addr, "GET", "/oauth2/auth", append(cookie, [2]string{"X-Forwarded-Method", "GET"}, [2]string{"X-Forwarded-Uri", path}))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("/oauth2/auth for %s = %d; want 202", path, resp.StatusCode)
	}
	return got[0].header, resp.Header
}

// claimedGroups returns the groups claim of a compact JWS, unverified.
func claimedGroups(t *testing.T, tok string) []string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %.40q has %d parts", tok, len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Groups []string `json:"groups"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Groups
}

// numbered returns n group names of about 46 bytes each.
func numbered(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("corp.example/engineering/team-%04d/all-members", i)
	}
	return out
}

// TestManyGroupsHeadersStayUnder8KiB signs in a user in 401 groups (19 KB
// of names) with either store: every header the upstream gets, and every
// header of forward-auth's answer, fits one nginx header line, and the
// groups sent are the ones the policy names.
func TestManyGroupsHeadersStayUnder8KiB(t *testing.T) {
	all := numbered(401)
	var routes []policy.Route
	var named []string
	for i := 0; i < 401; i += 20 {
		named = append(named, all[i])
		routes = append(routes, policy.Route{Path: fmt.Sprintf("/area-%03d/", i), Groups: []string{all[i]}})
	}
	many := demo.User{Email: "many@example.com", Password: "many-pw", Subject: "many-sub", EmailVerified: true, Groups: all}
	for _, store := range []string{"cookie", "redis"} {
		t.Run(store, func(t *testing.T) {
			e, rec := groupsEnv(t, store, policy.Options{Routes: routes}, []demo.User{many})
			proxied, fwd := upstreamOf(t, e, rec, many, "/area-020/x")
			for _, h := range []struct {
				name   string
				header http.Header
			}{{"upstream request", proxied}, {"forward-auth answer", fwd}} {
				for k, vs := range h.header {
					for _, v := range vs {
						if n := len(k) + 2 + len(v); n >= maxHeaderLine {
							t.Errorf("%s header %s is %d bytes; want under %d", h.name, k, n, maxHeaderLine)
						}
					}
				}
			}
			if g := proxied.Get(proxy.GroupsHeader); g != strings.Join(named, ",") {
				t.Errorf("%s = %.80q (%d bytes); want the %d named groups", proxy.GroupsHeader, g, len(g), len(named))
			}
			if g := fwd.Get(authGroupsHeader); g != strings.Join(named, ",") {
				t.Errorf("%s = %.80q (%d bytes); want the %d named groups", authGroupsHeader, g, len(g), len(named))
			}
			tok := proxied.Get(assertionHeader)
			if tok == "" || !slices.Equal(claimedGroups(t, tok), named) {
				t.Errorf("assertion (%d bytes) groups differ from the %d named groups", len(tok), len(named))
			}
		})
	}
}

// TestTooManyGroupsRefusedWithReason signs in a user whose provider names
// more groups than are read: the sign-in is refused with a 403 page that
// says why, never cut silently, with either store.
func TestTooManyGroupsRefusedWithReason(t *testing.T) {
	tests := []struct {
		name   string
		groups int
		want   int
	}{
		{"at the limit", 1000, http.StatusFound},
		{"one past the limit", 1001, http.StatusForbidden},
		{"far past the limit", 1500, http.StatusForbidden},
	}
	for _, store := range []string{"cookie", "redis"} {
		for _, tc := range tests {
			t.Run(store+"/"+tc.name, func(t *testing.T) {
				groups := make([]string, tc.groups)
				for i := range groups {
					groups[i] = fmt.Sprintf("g%04d", i)
				}
				// The group that lets the user in comes last: reading only
				// part of the groups would refuse them without a reason.
				groups[len(groups)-1] = "staff"
				u := demo.User{Email: "lots@example.com", Password: "lots-pw", Subject: "lots-sub", EmailVerified: true, Groups: groups}
				e, _ := groupsEnv(t, store, policy.Options{AllowGroups: []string{"staff"}}, []demo.User{u})
				r := e.callback(u)
				if r.StatusCode != tc.want {
					t.Fatalf("sign-in of a user in %d groups = %d %.300q; want %d", tc.groups, r.StatusCode, r.body, tc.want)
				}
				if tc.want != http.StatusForbidden {
					return
				}
				if !strings.Contains(r.body, "more groups at the identity provider than this site reads") {
					t.Errorf("403 page = %.500q; want it to say the account is in too many groups", r.body)
				}
				if sessionCookie(r) != nil {
					t.Error("a session cookie was set anyway")
				}
				if !strings.Contains(e.logs.String(), "sign-in refused: the provider names more groups than are read") {
					t.Error("the refusal was not logged")
				}
			})
		}
	}
}

// TestNamedGroupsTooLargeToSend signs in a user in more of the named
// groups than a header can carry: with the Redis store (which holds them)
// as with the cookie store (which cannot), the answer is the 403 page
// that says why, not a session whose headers nginx would refuse.
func TestNamedGroupsTooLargeToSend(t *testing.T) {
	all := numbered(200) // 9.4 KB of names, all named
	var routes []policy.Route
	for i, g := range all {
		routes = append(routes, policy.Route{Path: fmt.Sprintf("/area-%03d/", i), Groups: []string{g}})
	}
	u := demo.User{Email: "wide@example.com", Password: "wide-pw", Subject: "wide-sub", EmailVerified: true, Groups: all}
	for _, store := range []string{"cookie", "redis"} {
		t.Run(store, func(t *testing.T) {
			e, rec := groupsEnv(t, store, policy.Options{Routes: routes}, []demo.User{u})
			r := e.callback(u)
			if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "more of the groups this site checks") {
				t.Errorf("sign-in of a user in 200 long named groups = %d %.300q; want 403 saying why", r.StatusCode, r.body)
			}
			if sessionCookie(r) != nil {
				t.Error("a session cookie was set anyway")
			}
			if got := rec.take(); len(got) != 0 {
				t.Errorf("the upstream got %d requests", len(got))
			}
		})
	}
}

// TestGroupNamesOneRule signs in a user whose provider sends group names
// an upstream could read as other groups. The header and the assertion
// carry the same set, with either store; a route naming a dropped group
// lets nobody in through it; and one log line per sign-in says what was
// dropped.
func TestGroupNamesOneRule(t *testing.T) {
	names := []struct {
		group string
		kept  bool
	}{
		{"staff", true},
		{"rms-admins,staff", false}, // reads as two groups
		{" rms-admins", false},      // reads as rms-admins once trimmed
		{"rms-admins ", false},
		{"tab\tadmins", false},
		{"Équipe", false},         // Latin-1 readers see "Ã\u0089quipe"
		{"ｒｍｓ-admins", false},     // NFKC reads rms-admins
		{"c1\u0085admins", false}, // a C1 control
		{strings.Repeat("x", 257), false},
		{"Team A (ops); #1", true},
	}
	var groups, want []string
	for _, n := range names {
		groups = append(groups, n.group)
		if n.kept {
			want = append(want, n.group)
		}
	}
	u := demo.User{Email: "odd@example.com", Password: "odd-pw", Subject: "odd-sub", EmailVerified: true, Groups: groups}
	// The policy names every usable group (it refuses the others, see
	// policy's TestValidate), so the store keeps all of them but for the
	// rule; /admin/ is for rms-admins, which the dropped names " rms-admins",
	// "ｒｍｓ-admins" and "rms-admins,staff" would read as upstream.
	var named []string
	for _, g := range groups {
		if groupheader.Usable(g) {
			named = append(named, g)
		}
	}
	pol := policy.Options{
		AllowGroups: named,
		Routes: []policy.Route{
			{Path: "/admin/", Groups: []string{"rms-admins"}},
			{Path: "/team/", Groups: []string{"Team A (ops); #1"}},
		},
	}
	for _, store := range []string{"cookie", "redis"} {
		t.Run(store, func(t *testing.T) {
			e, rec := groupsEnv(t, store, pol, []demo.User{u})
			proxied, fwd := upstreamOf(t, e, rec, u, "/team/x")
			header := proxied.Get(proxy.GroupsHeader)
			claim := claimedGroups(t, proxied.Get(assertionHeader))
			if header != strings.Join(want, ",") || !slices.Equal(claim, want) {
				t.Errorf("%s = %q, assertion groups = %q; want both %q", proxy.GroupsHeader, header, claim, want)
			}
			if fa, fc := fwd.Get(authGroupsHeader), claimedGroups(t, fwd.Get(assertionHeader)); fa != header || !slices.Equal(fc, claim) {
				t.Errorf("forward-auth %s = %q, assertion groups = %q; want those of the proxy", authGroupsHeader, fa, fc)
			}
			if lines := strings.Count(e.logs.String(), "group names dropped"); lines != 1 {
				t.Errorf("%d log lines about dropped group names for one sign-in; want 1:\n%s", lines, e.logs)
			}
			line := logLine(e.logs.String(), "group names dropped")
			for _, s := range []string{"request_id=", "dropped=8", "kept=2", "comma=1", "space_around=2", "control_character=1", "not_ascii=3", "too_long=1"} {
				if !strings.Contains(line, s) {
					t.Errorf("log line %q lacks %q", line, s)
				}
			}
			if strings.Contains(line, "\t") || strings.Contains(line, "Équipe") {
				t.Errorf("log line %q holds a raw dropped name", line)
			}
			sc := sessionCookie(e.signIn(newClient(), "/", u.Email, u.Password))
			resp, _ := raw(t, strings.TrimPrefix(e.srv.URL, "http://"), "GET", "/admin/", [][2]string{{"Cookie", sc.Name + "=" + sc.Value}})
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("GET /admin/ for rms-admins, a user only in names read as rms-admins upstream = %d; want 403", resp.StatusCode)
			}
		})
	}
}
