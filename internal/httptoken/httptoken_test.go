package httptoken

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"X-Forwarded-Email", true},
		{"_rezigate", true},
		{"a!#$%&'*+-.^_`|~9", true},
		{"", false},
		{"X Forwarded", false},
		{"X-Email:", false},
		{"name=value", false},
		{"a;b", false},
		{"tab\there", false},
		{"new\nline", false},
		{"del\x7f", false},
		{"ünicode", false},
	}
	for _, tc := range tests {
		t.Run(tc.s, func(t *testing.T) {
			if got := Valid(tc.s); got != tc.want {
				t.Errorf("Valid(%q) = %v; want %v", tc.s, got, tc.want)
			}
		})
	}
}

// TestEveryByte checks the rule byte by byte against the two ways the
// RFCs write it: tchar (RFC 9110) and "any CHAR except CTLs or
// separators" (RFC 2616, which RFC 6265 cites for cookie names).
func TestEveryByte(t *testing.T) {
	const separators = "()<>@,;:\\\"/[]?={} \t"
	for c := 0; c < 256; c++ {
		rfc2616 := c > 0x20 && c < 0x7f && !strings.ContainsRune(separators, rune(c))
		isAlnum := ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
		rfc9110 := isAlnum || strings.ContainsRune(Chars[len("letters, digits and "):], rune(c))
		if rfc2616 != rfc9110 {
			t.Fatalf("the RFCs disagree on %q", rune(c))
		}
		if got := Valid(string([]byte{byte(c)})); got != rfc9110 {
			t.Errorf("Valid(%q) = %v; want %v", rune(c), got, rfc9110)
		}
	}
}
