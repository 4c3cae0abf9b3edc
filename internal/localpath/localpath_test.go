package localpath

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestValid(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"/", true},
		{"/rezi?openOnboarding=true", true},
		{"/dashboard/education", true},
		{"/a/b?x=%2F%2F", true},
		{"/a//b", true},
		{"", false},
		{"dashboard", false},
		{"//evil.com", false},
		{"///evil.com", false},
		{"/\\evil.com", false},
		{"\\/evil.com", false},
		{"/a\\b", false},
		{"https://evil.com", false},
		{"javascript:alert(1)", false},
		{"%2F%2Fevil.com", false},
		{"/%2F/evil.com", false},
		{"/%2f/evil.com", false},
		{"/%5Cevil.com", false},
		{"/\t/evil.com", false},
		{"/\n/evil.com", false},
		{"/\r\nSet-Cookie: x=y", false},
		{"/a\x00b", false},
		{"/a\x7fb", false},
		{" /evil", false},
		// Dot segments resolved as the browser resolves them.
		{"/..//evil.example", false},
		{"/.//evil.example", false},
		{"/a/../..//evil.example", false},
		{"/%2e%2e//evil.example", false},
		{"/%2E//evil.example", false},
		{"/.%2e//evil.example", false},
		{"/./%2F/evil.example", false},
		{"/x/../%5cevil.example", false},
		{"/..", true},
		{"//..", false},
		{"//.", false},
		{"/%2F..", false},
		{"/a/../b", true},
		{"/a/..//b", false},
		{"/a/./b?next=//x", true},
		// Not UTF-8, or not printable.
		{"/a\xffb", false},
		{"/\xc0\xaf/evil.example", false},
		{"/a\u0085b", false},
		{"/a\u2028b", false},
		{"/a\u00a0b", false},
		{"/\u200e/x", false},
		{"/caf\u00e9", true},
		{"/\u65e5\u672c", true},
		// Length.
		{"/" + strings.Repeat("a", MaxLen-1), true},
		{"/" + strings.Repeat("a", MaxLen), false},
		{"/" + strings.Repeat("a", 100<<10), false},
	}
	for _, tc := range tests {
		if got := Valid(tc.in); got != tc.want {
			t.Errorf("Valid(%q) = %v; want %v", tc.in, got, tc.want)
		}
	}
}

func TestResolved(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"/a/b?x=1#f", "/a/b"},
		{"/%6fauth2/sign_out", "/oauth2/sign_out"},
		{"/x/../oauth2/start", "/oauth2/start"},
		{"/x/%2e%2e/oauth2/start", "/oauth2/start"},
		{"/./oauth2/", "/oauth2/"},
		{"/a/..", "/"},
		{"/a/.", "/a/"},
		{"/a//b/../c", "/a//c"},
		{"/%zz", "/%zz"},
	}
	for _, tc := range tests {
		if got := Resolved(tc.in); got != tc.want {
			t.Errorf("Resolved(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestOrRoot(t *testing.T) {
	if got := OrRoot("//evil.com"); got != "/" {
		t.Errorf("OrRoot(%q) = %q; want %q", "//evil.com", got, "/")
	}
	if got := OrRoot("/ok?x=1"); got != "/ok?x=1" {
		t.Errorf("OrRoot(%q) = %q; want %q", "/ok?x=1", got, "/ok?x=1")
	}
}

// FuzzValid checks that anything Valid accepts resolves, against an
// https base, to a URL on the same host: the property the validator exists for.
func FuzzValid(f *testing.F) {
	for _, s := range []string{"/", "//evil.com", "/\\evil.com", "/%2F%2Fevil", "/a?b=c#d", "/\t/x", "https://e.com", "/.."} {
		f.Add(s)
	}
	base, _ := url.Parse("https://rms.example.com/start")
	f.Fuzz(func(t *testing.T, p string) {
		if !Valid(p) {
			return
		}
		u, err := url.Parse(p)
		if err != nil {
			return // the browser will not follow it anywhere either
		}
		got := base.ResolveReference(u)
		if got.Host != base.Host || got.Scheme != base.Scheme {
			t.Fatalf("Valid(%q) = true, but it resolves to %q", p, got)
		}
		if !utf8.ValidString(p) || len(p) > MaxLen {
			t.Fatalf("Valid(%q) = true for a path that is not UTF-8 or too long", p)
		}
		for _, r := range p {
			if !unicode.IsPrint(r) {
				t.Fatalf("Valid(%q) = true with the non-printable %U", p, r)
			}
		}
		if r := got.EscapedPath(); strings.HasPrefix(r, "//") {
			t.Fatalf("Valid(%q) = true, but its resolved path %q starts with //", p, r)
		}
		if res := Resolved(p); strings.HasPrefix(res, "//") || strings.HasPrefix(res, "/\\") {
			t.Fatalf("Valid(%q) = true, but Resolved gives %q", p, res)
		}
	})
}
