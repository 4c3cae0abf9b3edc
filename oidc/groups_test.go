package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/internal/groupheader"
)

func TestParseGroups(t *testing.T) {
	many := make([]string, 1200)
	for i := range many {
		many[i] = fmt.Sprintf("g%d", i)
	}
	manyJSON, _ := json.Marshal(many)
	exact, _ := json.Marshal(many[:MaxGroups])
	tests := []struct {
		name        string
		raw         string
		want        []string
		wantOK      bool
		wantDropped string // dropped.reasons()
	}{
		{"array", `["rms-admins","staff"]`, []string{"rms-admins", "staff"}, true, ""},
		{"one string", `"staff"`, []string{"staff"}, true, ""},
		{"empty array", `[]`, []string{}, true, ""},
		{"empty string", `""`, []string{}, true, ""},
		{"spaces around", ` ["a"] `, []string{"a"}, true, ""},
		{"repeats and empties dropped", `["a","","a","b"]`, []string{"a", "b"}, true, ""},
		{"control characters dropped", `["ok","bad\r\nX-Evil: 1","tab\there","nul\u0000"]`, []string{"ok"}, true, "control_character=3"},
		{"C1 control dropped", `["a\u0085b","c"]`, []string{"c"}, true, "not_ascii=1"},
		{"non-ASCII dropped", `["Équipe","ａｄｍｉｎ","x"]`, []string{"x"}, true, "not_ascii=2"},
		{"comma dropped", `["admins,staff","staff"]`, []string{"staff"}, true, "comma=1"},
		{"spaces around dropped", `[" admins","admins "," "]`, []string{}, true, "space_around=3"},
		{"too long dropped", `["` + strings.Repeat("x", 257) + `","y"]`, []string{"y"}, true, "too_long=1"},
		{"none kept", `["", "a\nb"]`, []string{}, true, "control_character=1"},
		{"number", `42`, nil, false, ""},
		{"object", `{"a":1}`, nil, false, ""},
		{"null", `null`, nil, false, ""},
		{"bool", `true`, nil, false, ""},
		{"array with a number", `["a",1]`, nil, false, ""},
		{"array of arrays", `[["a"]]`, nil, false, ""},
		{"broken", `["a"`, nil, false, ""},
		{"exactly the limit", string(exact), many[:MaxGroups], true, ""},
		{"over the limit: one more says so", string(manyJSON), many[:MaxGroups+1], true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, dropped, ok := parseGroups(json.RawMessage(tc.raw))
			if ok != tc.wantOK || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseGroups(%.40q) = %q, %t; want %q, %t", tc.raw, got, ok, tc.want, tc.wantOK)
			}
			if r := dropped.reasons(); r != tc.wantDropped {
				t.Errorf("parseGroups(%.40q) dropped %q; want %q", tc.raw, r, tc.wantDropped)
			}
			if over := (Identity{Groups: got}).TooManyGroups(); over != (len(tc.want) > MaxGroups) {
				t.Errorf("TooManyGroups() = %t for %d groups", over, len(got))
			}
		})
	}
}

func FuzzParseGroups(f *testing.F) {
	for _, s := range []string{`["a","b"]`, `"a"`, `null`, `[1]`, `["\u0000"]`, `{}`, ` [ "x" ] `, `["Équipe"," a","a,b"]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, dropped, ok := parseGroups(json.RawMessage(raw))
		if !ok && (got != nil || dropped.count != 0) {
			t.Fatalf("parseGroups(%q) = %q, %d dropped, false; want nothing when not ok", raw, got, dropped.count)
		}
		if len(got) > MaxGroups+1 {
			t.Fatalf("parseGroups kept %d groups; want at most %d", len(got), MaxGroups+1)
		}
		seen := map[string]bool{}
		for _, g := range got {
			if !groupheader.Usable(g) || seen[g] {
				t.Fatalf("parseGroups(%q) kept %q", raw, g)
			}
			seen[g] = true
		}
		if len(dropped.examples) > maxDroppedExamples {
			t.Fatalf("parseGroups(%q) kept %d examples", raw, len(dropped.examples))
		}
		for _, e := range dropped.examples {
			for i := 0; i < len(e); i++ {
				if e[i] < 0x20 || e[i] >= 0x7f {
					t.Fatalf("dropped example %q is not printable ASCII", e)
				}
			}
		}
	})
}

// Exchange fills Identity.Groups from the claim Options.GroupsClaim names.
func TestExchangeGroups(t *testing.T) {
	grouped := demo.User{Email: "gina@example.com", Password: "gina-pw", Subject: "gina", EmailVerified: true, Groups: []string{"rms-admins", "staff"}}
	idp := startProviderWith(t, nil, grouped, alice)
	tests := []struct {
		name  string
		claim string
		user  demo.User
		pw    string
		want  []string
	}{
		{"default claim", "", grouped, "gina-pw", []string{"rms-admins", "staff"}},
		{"named claim", "groups", grouped, "gina-pw", []string{"rms-admins", "staff"}},
		{"another claim", "roles", grouped, "gina-pw", nil},
		{"no groups", "", alice, alicePassword, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p, err := New(ctx, Options{IssuerURL: idp.Issuer(), ClientID: "rezigate", ClientSecret: "s3cret-client", RedirectURL: redirectURL, GroupsClaim: tc.claim})
			if err != nil {
				t.Fatal(err)
			}
			v := oauth2.GenerateVerifier()
			id, err := p.Exchange(ctx, codeFor(t, p, tc.user.Email, tc.pw, "n", v), v, "n")
			if err != nil {
				t.Fatalf("Exchange = %v", err)
			}
			if !reflect.DeepEqual(id.Groups, tc.want) {
				t.Errorf("Exchange groups = %q; want %q", id.Groups, tc.want)
			}
		})
	}
}
