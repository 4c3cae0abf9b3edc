package assertion

import (
	"slices"
	"strings"
	"testing"

	"github.com/rezigate/rezigate/internal/groupheader"
)

// TestAssertionGroupsFollowHeaderRule signs names that an upstream could
// read as other groups; the groups claim must carry exactly the names
// X-Forwarded-Groups carries, in order, and a cached assertion must not
// change that.
func TestAssertionGroupsFollowHeaderRule(t *testing.T) {
	s := newSigner(t, newClock().Now, newKey(t))
	tests := []struct {
		name   string
		groups []string
		want   []string
	}{
		{"all usable", []string{"staff", "rms-admins"}, []string{"staff", "rms-admins"}},
		{"comma", []string{"admins,staff", "staff"}, []string{"staff"}},
		{"spaces around", []string{" admins", "admins ", "ops"}, []string{"ops"}},
		{"control characters", []string{"a\r\nX-Evil: 1", "b\x00", "c"}, []string{"c"}},
		{"non-ASCII", []string{"Équipe", "ａｄｍｉｎ", "team"}, []string{"team"}},
		{"empty and too long", []string{"", strings.Repeat("x", 257), "y"}, []string{"y"}},
		{"none usable", []string{"a,b"}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.groups)
			for range 2 { // signed, then from the cache
				tok, err := s.Assertion(Claims{Subject: "uid-" + tc.name, Groups: in})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, g := range decodePart(t, tok, 1)["groups"].([]any) {
					got = append(got, g.(string))
				}
				if !slices.Equal(got, tc.want) || strings.Join(got, ",") != groupheader.Value(tc.groups) {
					t.Errorf("Assertion(groups %q) claims %q; want %q, as X-Forwarded-Groups %q", tc.groups, got, tc.want, groupheader.Value(tc.groups))
				}
			}
			if !slices.Equal(in, tc.groups) {
				t.Errorf("Assertion changed the caller's groups to %q", in)
			}
		})
	}
}
