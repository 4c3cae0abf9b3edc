package groupheader

import (
	"slices"
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
		{"non-ASCII left out", []string{"Équipe", "b", "ａｄｍｉｎ"}, "b"},
		{"too long left out", []string{strings.Repeat("x", MaxNameLen+1), strings.Repeat("y", MaxNameLen)}, strings.Repeat("y", MaxNameLen)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Value(tc.groups); got != tc.want {
				t.Errorf("Value(%q) = %q; want %q", tc.groups, got, tc.want)
			}
			if got := strings.Join(Keep(tc.groups), ","); got != tc.want {
				t.Errorf("Keep(%q) joined = %q; want %q, as Value", tc.groups, got, tc.want)
			}
		})
	}
}

func TestProblem(t *testing.T) {
	tests := []struct {
		name string
		want string
	}{
		{"rms-admins", ""},
		{"Team A (ops); #1 = \"x\"", ""},
		{"/org/team", ""},
		{"", Empty},
		{strings.Repeat("g", MaxNameLen+1), TooLong},
		{"a,b", Comma},
		{"a\x00", Control},
		{"a\x7f", Control},
		{"a\tb", Control},
		{"line\r\nX-Evil: 1", Control},
		{" admin", SpaceAround},
		{"admin ", SpaceAround},
		{" ", SpaceAround},
		{"Équipe", NotASCII},
		{"admin\u200b", NotASCII},
		{"\xff", NotASCII},
		{"a\u0085", NotASCII}, // a C1 control
	}
	for _, tc := range tests {
		if got := Problem(tc.name); got != tc.want {
			t.Errorf("Problem(%q) = %q; want %q", tc.name, got, tc.want)
		}
		if got := Usable(tc.name); got != (tc.want == "") {
			t.Errorf("Usable(%q) = %t; want %t", tc.name, got, tc.want == "")
		}
	}
}

func TestKeepSharesAUsableList(t *testing.T) {
	in := []string{"a", "b"}
	if out := Keep(in); &out[0] != &in[0] {
		t.Error("Keep(all usable) copied the list; want it returned as it is")
	}
	in = []string{"a", "b,c", "d"}
	out := Keep(in)
	if !slices.Equal(out, []string{"a", "d"}) || !slices.Equal(in, []string{"a", "b,c", "d"}) {
		t.Errorf("Keep = %q, input now %q; want [a d] and the input unchanged", out, in)
	}
}

func FuzzValue(f *testing.F) {
	f.Add("a", "b")
	f.Add("a,b", "")
	f.Add(" x", "y\n")
	f.Add("Équipe", "ok")
	f.Fuzz(func(t *testing.T, a, b string) {
		in := []string{a, b}
		v := Value(in)
		if kept := strings.Join(Keep(in), ","); kept != v {
			t.Fatalf("Value(%q) = %q but Keep gives %q", in, v, kept)
		}
		if v == "" {
			return
		}
		for _, item := range strings.Split(v, ",") {
			if item != a && item != b {
				t.Fatalf("Value(%q, %q) = %q: item %q is neither", a, b, v, item)
			}
			if item != strings.TrimSpace(item) || !Usable(item) {
				t.Fatalf("Value(%q, %q) = %q holds an unusable item %q", a, b, v, item)
			}
			for i := 0; i < len(item); i++ {
				if item[i] < 0x20 || item[i] >= 0x7f {
					t.Fatalf("Value(%q, %q) = %q holds a byte %#x", a, b, v, item[i])
				}
			}
		}
	})
}
