package groupheader

import (
	"strings"
	"testing"
)

func TestValue(t *testing.T) {
	tests := []struct {
		name   string
		groups []string
		want   string
	}{
		{"none", nil, ""},
		{"one", []string{"rms-admins"}, "rms-admins"},
		{"two in order", []string{"b", "a"}, "b,a"},
		{"comma left out", []string{"a,b", "c"}, "c"},
		{"only bad", []string{"a,b"}, ""},
		{"control characters left out", []string{"x\r\nEvil: 1", "ok", "t\tab"}, "ok"},
		{"spaces around left out", []string{" a", "b ", "c d"}, "c d"},
		{"empty left out", []string{"", "a", ""}, "a"},
		{"unicode kept", []string{"Équipe", "b"}, "Équipe,b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Value(tc.groups); got != tc.want {
				t.Errorf("Value(%q) = %q; want %q", tc.groups, got, tc.want)
			}
		})
	}
}

func FuzzValue(f *testing.F) {
	f.Add("a", "b")
	f.Add("a,b", "")
	f.Add(" x", "y\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		v := Value([]string{a, b})
		if v == "" {
			return
		}
		for _, item := range strings.Split(v, ",") {
			if item != a && item != b {
				t.Fatalf("Value(%q, %q) = %q: item %q is neither", a, b, v, item)
			}
			if strings.ContainsAny(item, "\r\n\x00") {
				t.Fatalf("Value(%q, %q) = %q holds a control character", a, b, v)
			}
		}
	})
}
