package policy_test

import (
	"errors"
	"net/url"
	"path"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rezigate/rezigate/policy"
)

// attackSeeds are request paths that upstreams have been tricked with.
var attackSeeds = []string{
	"", "/", "/admin", "/ADMIN", "/%61dmin", "/admin/../public", "/public/../admin",
	"//admin", "/./admin", "/admin%2Fx", "/admin%2fx", "/admin%5C", `/a\b`,
	"/admin?x=/public", "/public#/admin", "/admin#", "/admin%00", "/\x00",
	"/../admin", "/%2e%2e/admin", "/.%2E/", "/%C0%AF", "/%ff", "/\xff", "/a%",
	"/a%zz", "/%%32%65", "/caf%c3%a9", "/a/./b/../../..", "admin", "?", "#",
	"/admin;/", "/x/..;/admin/", "/admin;jsessionid=1/", "/admin%3B/", "/public/.;/../admin",
	"/;x/admin", "/public/file;v=1", "/public/;jsessionid=1", "/ADMIN./", "/admin%20/", "/ADMIN;x",
}

// foldPolicy is strictPolicy with case-insensitive paths.
var foldPolicy = mustNew(policy.Options{CaseInsensitivePaths: true, Routes: []policy.Route{{Path: "/admin/", Groups: []string{"rms-admins"}}}})

func FuzzNormalize(f *testing.F) {
	for _, s := range attackSeeds {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, withRoutes bool) {
		p := laxPolicy
		if withRoutes {
			p = strictPolicy
		}
		got, err := p.Normalize(raw)
		if err != nil {
			if !withRoutes || !errors.Is(err, policy.ErrBadPath) {
				t.Fatalf("Normalize(%q) with routes %v = %v; want ErrBadPath, and only with routes", raw, withRoutes, err)
			}
			return
		}
		if !strings.HasPrefix(got, "/") || strings.Contains(got, "//") || strings.ContainsAny(got, "?#") {
			t.Fatalf("Normalize(%q) = %q; want one leading /, no //, no ? or #", raw, got)
		}
		for _, seg := range strings.Split(got, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("Normalize(%q) = %q; has a dot segment", raw, got)
			}
		}
		again, err := p.Normalize(got)
		if err != nil || again != got {
			t.Fatalf("Normalize(Normalize(%q)) = %q, %v; want %q", raw, again, err, got)
		}
		if !withRoutes {
			return
		}
		// Accepted with routes: an upstream that decodes the path once
		// and cleans it reads exactly the judged path, segment for
		// segment.
		dec, err := url.PathUnescape(got)
		if err != nil || !utf8.ValidString(dec) || strings.ContainsAny(dec, "\\\x00") {
			t.Fatalf("Normalize(%q) = %q, which decodes to %q, %v", raw, got, dec, err)
		}
		if strings.Count(dec, "/") != strings.Count(got, "/") {
			t.Fatalf("Normalize(%q) = %q, which decodes to %q with other slashes", raw, got, dec)
		}
		if c := path.Clean(dec); c != strings.TrimSuffix(dec, "/") && c != dec {
			t.Fatalf("Normalize(%q) = %q, which decodes to %q and cleans to %q", raw, got, dec, c)
		}
		if lax, err := laxPolicy.Normalize(raw); err != nil || lax != got {
			t.Fatalf("Normalize(%q) without routes = %q, %v; want %q as with routes", raw, lax, err, got)
		}
		// Every upstream's reading of the path as sent (what an edge
		// proxy forwards) and as judged (what rezigate forwards) is
		// covered by the route exactly when the judged path is.
		checkReadings(t, strictPolicy, false, raw, got)
		if fgot, err := foldPolicy.Normalize(raw); err == nil {
			checkReadings(t, foldPolicy, true, raw, fgot)
		}
	})
}

// checkReadings fails t unless every reading of raw and of got (the
// plain one of nginx, httpd, Go and Node; a servlet container's; with
// fold, Windows' too) is covered by the route "/admin/" of p exactly when
// got, as p judged it, is.
func checkReadings(t *testing.T, p *policy.Policy, fold bool, raw, got string) {
	t.Helper()
	want := p.Decide("GET", got, policy.User{}).Rule == 0
	for _, s := range []string{raw, got} {
		for _, servlet := range []bool{false, true} {
			for _, windows := range []bool{false, fold} {
				r, ok := reading(s, servlet, windows)
				if ok && covers("/admin/", r, fold) != want {
					t.Fatalf("Normalize(%q) = %q, judged with route %v; but %q (servlet %v, windows %v) reads as %q",
						raw, got, want, s, servlet, windows, r)
				}
			}
		}
	}
}

// reading is a reference for how an upstream reads request target s:
// the path cut at "?" and "#", each segment cut at ";" (or "%3B", for
// applications that decode before cutting) when servlet, then decoded
// once, then without trailing dots and spaces when windows, and the dot
// segments resolved with empty segments merged (Tomcat's
// normalisation). ok is false when the upstream refuses s (a malformed
// escape, an encoded slash, backslash or NUL, above the root).
func reading(s string, servlet, windows bool) (_ string, ok bool) {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	var out []string
	for _, seg := range strings.Split(s, "/") {
		if servlet {
			if i := strings.Index(seg, ";"); i >= 0 {
				seg = seg[:i]
			}
			if i := strings.Index(strings.ToUpper(seg), "%3B"); i >= 0 {
				seg = seg[:i]
			}
		}
		dec, err := url.PathUnescape(seg)
		if err != nil || strings.ContainsAny(dec, "/\\\x00") {
			return "", false
		}
		if windows && dec != "." && dec != ".." {
			dec = strings.TrimRight(dec, ". ")
		}
		switch dec {
		case "", ".":
		case "..":
			if len(out) == 0 {
				return "", false
			}
			out = out[:len(out)-1]
		default:
			out = append(out, dec)
		}
	}
	return "/" + strings.Join(out, "/"), true
}

func FuzzDecide(f *testing.F) {
	for _, s := range attackSeeds {
		f.Add("/admin/", s, "GET", false, true)
		f.Add("/Admin", s, "post", true, false)
	}
	f.Add("/", "/x", "PROPFIND", false, true)
	f.Add("/a%20b", "/a%20b/c", "", false, true)
	f.Fuzz(func(t *testing.T, routePath, raw, method string, fold, member bool) {
		p, err := policy.New(policy.Options{
			Default:              policy.Deny,
			CaseInsensitivePaths: fold,
			Routes:               []policy.Route{{Path: routePath, Groups: []string{"g"}}},
		})
		if err != nil {
			return
		}
		u := policy.User{Email: method, Groups: []string{"h"}}
		if member {
			u.Groups = append(u.Groups, "g")
		}
		_ = p.Decide(method, raw, u) // whatever raw is, no panic
		n, err := p.Normalize(raw)
		if err != nil {
			return
		}
		res := p.Decide(method, n, u)
		if covers(routePath, n, fold) {
			if res.Rule != 0 || res.Allowed != member || res.Path != routePath {
				t.Fatalf("route %q, Decide(%q, %q) = %+v; want rule 0, allowed %v", routePath, method, n, res, member)
			}
		} else if res.Rule != -1 || res.Allowed {
			t.Fatalf("route %q, Decide(%q, %q) = %+v; want default deny", routePath, method, n, res)
		}
	})
}

// covers is a reference for route matching: the route's segments,
// without a trailing empty one, begin the path's segments.
func covers(route, p string, fold bool) bool {
	if fold {
		route, p = asciiFold(route), asciiFold(p)
	}
	rs := strings.Split(strings.TrimSuffix(route, "/"), "/")
	ps := strings.Split(p, "/")
	if len(rs) > len(ps) {
		return false
	}
	for i := range rs {
		if rs[i] != ps[i] {
			return false
		}
	}
	return true
}

func asciiFold(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// FuzzValidate checks that Validate and New agree and never panic.
func FuzzValidate(f *testing.F) {
	f.Add("/admin/", "GET", "g", "a@example.com", "/admin/x", "allow", false)
	f.Add("/a", "", "", "", "/a", "deny", true)
	f.Add("//a", "fetch", " g", "x", "/A", "block", true)
	f.Fuzz(func(t *testing.T, p1, method, group, email, p2, def string, fold bool) {
		r1 := policy.Route{Path: p1, Groups: []string{group}}
		if method != "" {
			r1.Methods = []string{method}
		}
		r2 := policy.Route{Path: p2, Emails: []string{email}}
		o := policy.Options{Default: policy.Decision(def), CaseInsensitivePaths: fold, AllowGroups: []string{group}, Routes: []policy.Route{r1, r2}}
		verr := o.Validate()
		p, err := policy.New(o)
		if (verr == nil) != (err == nil) || (err == nil) != (p != nil) {
			t.Fatalf("Validate() = %v but New() = %v, %v", verr, p, err)
		}
		if p == nil {
			return
		}
		// Each route decides its own path with its own method.
		m := "GET"
		if method != "" {
			m = strings.ToUpper(method)
		}
		if got := p.Decide(m, p1, policy.User{Groups: []string{group}}); got.Rule != 0 || !got.Allowed {
			t.Fatalf("Decide(%q, %q) = %+v; want allowed by rule 0", m, p1, got)
		}
	})
}
