package policy

import (
	"strings"
	"testing"
)

// FuzzIsNormal checks the fast path against the full one: isNormal(s)
// holds exactly when normalising s accepts it and gives s back, so that
// skipping the rebuild never skips a refusal.
func FuzzIsNormal(f *testing.F) {
	for _, s := range []string{"/", "/a/", "//", "/./", "/.", "/..", "/a/..", "/...", "/.a", "/%41", "/%4a",
		"/%4A", "/%2F", "/%2f", "/%5C", "/%00", "\\", "/\x00", "/%C3%A9", "/%C3", "/\xc3\xa9", "/\xff", "/%", "/%zz", "/a?b", "/a#",
		"/a;b", "/..;/", "/a/.;x", "/;/a", "/a/;x", "/a%3Bb", "/a%3b/", "/a./", "/a%20", "/a /", "/a.;x/", "/.../"} {
		f.Add(s, true, false)
		f.Add(s, false, false)
		f.Add(s, true, true)
	}
	f.Fuzz(func(t *testing.T, s string, strict, fold bool) {
		cut := s
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			cut = s[:i]
		}
		n, err := rebuild(cut, strict, fold)
		want := err == nil && n == s
		if got, _ := isNormal(s, strict, fold); got != want {
			t.Fatalf("isNormal(%q, %v, %v) = %v; rebuild gives %q, %v", s, strict, fold, got, n, err)
		}
	})
}
