package localpath

import (
	"net/url"
	"testing"
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
	}
	for _, tc := range tests {
		if got := Valid(tc.in); got != tc.want {
			t.Errorf("Valid(%q) = %v; want %v", tc.in, got, tc.want)
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
	})
}
