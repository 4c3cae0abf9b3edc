package policy_test

import (
	"strings"
	"testing"

	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/policy"
)

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		o    policy.Options
	}{
		{"zero", policy.Options{}},
		{"the documented example", policy.Options{
			AllowGroups: []string{"staff"},
			Default:     policy.Allow,
			Routes: []policy.Route{
				{Path: "/admin/", Groups: []string{"rms-admins"}},
				{Path: "/rezi", Groups: []string{"rms-users"}},
			},
		}},
		{"default deny with a route", policy.Options{Default: policy.Deny, Routes: []policy.Route{{Path: "/", Emails: []string{"ada@example.com"}}}}},
		{"methods in any case", policy.Options{Routes: []policy.Route{{Path: "/a", Methods: []string{"get", "Post", "DELETE"}, Groups: []string{"g"}}}}},
		{"every standard method", policy.Options{Routes: []policy.Route{{Path: "/a", Methods: []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}, Groups: []string{"g"}}}}},
		{"narrower route first", policy.Options{Routes: []policy.Route{
			{Path: "/admin/reports", Groups: []string{"auditors"}},
			{Path: "/admin/", Groups: []string{"admins"}},
		}}},
		{"method-limited route before a wider one", policy.Options{Routes: []policy.Route{
			{Path: "/api", Methods: []string{"GET"}, Groups: []string{"readers"}},
			{Path: "/api", Groups: []string{"writers"}},
		}}},
		{"disjoint methods on one path", policy.Options{Routes: []policy.Route{
			{Path: "/api", Methods: []string{"GET"}, Groups: []string{"readers"}},
			{Path: "/api", Methods: []string{"POST"}, Groups: []string{"writers"}},
		}}},
		{"prefix that is not a segment", policy.Options{Routes: []policy.Route{
			{Path: "/admin", Groups: []string{"a"}},
			{Path: "/administrator", Groups: []string{"b"}},
		}}},
		{"case differs, case-sensitive", policy.Options{Routes: []policy.Route{
			{Path: "/Admin", Groups: []string{"a"}},
			{Path: "/admin/x", Groups: []string{"b"}},
		}}},
		{"kept escape in path", policy.Options{Routes: []policy.Route{{Path: "/caf%C3%A9", Groups: []string{"g"}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.o.Validate(); err != nil {
				t.Errorf("Validate() = %v; want nil", err)
			}
			if _, err := policy.New(tc.o); err != nil {
				t.Errorf("New() = %v; want nil", err)
			}
		})
	}
}

// TestValidateRules breaks one rule per case and expects exactly one
// problem, naming the field.
func TestValidateRules(t *testing.T) {
	g := []string{"g"}
	route := func(path string) policy.Route { return policy.Route{Path: path, Groups: g} }
	tests := []struct {
		name  string
		o     policy.Options
		field string
		msg   string // a part of the message
	}{
		{"empty path", policy.Options{Routes: []policy.Route{route("")}}, "Routes[0].Path", "must not be empty"},
		{"relative path", policy.Options{Routes: []policy.Route{route("/a"), route("admin")}}, "Routes[1].Path", "must start with /"},
		{"path with query", policy.Options{Routes: []policy.Route{route("/admin?x=1")}}, "Routes[0].Path", "must not contain ? or #"},
		{"path with fragment", policy.Options{Routes: []policy.Route{route("/admin#x")}}, "Routes[0].Path", "must not contain ? or #"},
		{"repeated slash", policy.Options{Routes: []policy.Route{route("//admin")}}, "Routes[0].Path", "normal form"},
		{"dot segment", policy.Options{Routes: []policy.Route{route("/a/../admin")}}, "Routes[0].Path", "normal form"},
		{"escaped letter", policy.Options{Routes: []policy.Route{route("/%61dmin")}}, "Routes[0].Path", "normal form"},
		{"lower-case hex", policy.Options{Routes: []policy.Route{route("/caf%c3%a9")}}, "Routes[0].Path", "normal form"},
		{"encoded slash", policy.Options{Routes: []policy.Route{route("/a%2Fb")}}, "Routes[0].Path", "encoded slashes"},
		{"backslash", policy.Options{Routes: []policy.Route{route(`/a\b`)}}, "Routes[0].Path", "encoded slashes"},
		{"above root", policy.Options{Routes: []policy.Route{route("/../a")}}, "Routes[0].Path", "encoded slashes"},
		{"path parameter", policy.Options{Routes: []policy.Route{route("/admin;x/")}}, "Routes[0].Path", "must not contain ; or %3B"},
		{"escaped path parameter", policy.Options{Routes: []policy.Route{route("/admin%3B/")}}, "Routes[0].Path", "must not contain ; or %3B"},
		{"trailing dot, case-insensitive", policy.Options{CaseInsensitivePaths: true, Routes: []policy.Route{route("/admin./")}}, "Routes[0].Path", "ending in . or a space"},
		{"trailing space, case-insensitive", policy.Options{CaseInsensitivePaths: true, Routes: []policy.Route{route("/a%20")}}, "Routes[0].Path", "ending in . or a space"},
		{"HEAD route behind a GET route", policy.Options{Routes: []policy.Route{
			{Path: "/a", Methods: []string{"GET"}, Groups: g},
			{Path: "/a", Methods: []string{"HEAD"}, Groups: g},
		}}, "Routes[1]", "never matches: Routes[0]"},
		{"unknown method", policy.Options{Routes: []policy.Route{{Path: "/a", Methods: []string{"GET", "FETCH"}, Groups: g}}}, "Routes[0].Methods[1]", "must be one of GET HEAD POST PUT PATCH DELETE OPTIONS CONNECT TRACE"},
		{"empty method", policy.Options{Routes: []policy.Route{{Path: "/a", Methods: []string{""}, Groups: g}}}, "Routes[0].Methods[0]", "must be one of"},
		{"allows nobody", policy.Options{Routes: []policy.Route{{Path: "/a"}}}, "Routes[0]", "lets nobody in"},
		{"empty group", policy.Options{Routes: []policy.Route{{Path: "/a", Groups: []string{"x", ""}}}}, "Routes[0].Groups[1]", "must not be empty"},
		{"spaced group", policy.Options{Routes: []policy.Route{{Path: "/a", Groups: []string{" x"}}}}, "Routes[0].Groups[0]", "leading or trailing spaces"},
		{"empty email", policy.Options{Routes: []policy.Route{{Path: "/a", Emails: []string{""}}}}, "Routes[0].Emails[0]", "must not be empty"},
		{"email without @", policy.Options{Routes: []policy.Route{{Path: "/a", Emails: []string{"ada"}}}}, "Routes[0].Emails[0]", "local@domain"},
		{"email ending in @", policy.Options{Routes: []policy.Route{{Path: "/a", Emails: []string{"ada@"}}}}, "Routes[0].Emails[0]", "local@domain"},
		{"email with space", policy.Options{Routes: []policy.Route{{Path: "/a", Emails: []string{"ada @example.com"}}}}, "Routes[0].Emails[0]", "spaces"},
		{"shadowed by same path", policy.Options{Routes: []policy.Route{route("/a"), route("/b"), route("/a")}}, "Routes[2]", "never matches: Routes[0] covers"},
		{"shadowed by prefix", policy.Options{Routes: []policy.Route{route("/admin"), route("/admin/x")}}, "Routes[1]", "never matches: Routes[0]"},
		{"shadowed by trailing-slash form", policy.Options{Routes: []policy.Route{route("/admin/"), route("/admin")}}, "Routes[1]", "never matches: Routes[0]"},
		{"shadowed by root", policy.Options{Routes: []policy.Route{route("/"), route("/x")}}, "Routes[1]", "never matches: Routes[0]"},
		{"shadowed by method superset", policy.Options{Routes: []policy.Route{
			{Path: "/a", Methods: []string{"GET", "POST"}, Groups: g},
			{Path: "/a/b", Methods: []string{"post"}, Groups: g},
		}}, "Routes[1]", "never matches: Routes[0]"},
		{"shadowed by any method", policy.Options{Routes: []policy.Route{route("/a"), {Path: "/a", Methods: []string{"GET"}, Groups: g}}}, "Routes[1]", "never matches: Routes[0]"},
		{"shadowed, case-insensitive", policy.Options{CaseInsensitivePaths: true, Routes: []policy.Route{route("/Admin"), route("/admin/x")}}, "Routes[1]", "never matches: Routes[0]"},
		{"shadow names the earlier line", policy.Options{Routes: []policy.Route{{Path: "/a", Groups: g, Line: 7}, {Path: "/a", Groups: g, Line: 9}}}, "Routes[1]", "Routes[0] (line 7) covers its path and methods (line 9)"},
		{"line in message", policy.Options{Routes: []policy.Route{{Path: "admin", Groups: g, Line: 14}}}, "Routes[0].Path", "must start with / (line 14)"},
		{"unknown default", policy.Options{Default: "block"}, "Default", `must be "allow" or "deny"`},
		{"default in upper case", policy.Options{Default: "Deny", Routes: []policy.Route{route("/a")}}, "Default", `must be "allow" or "deny"`},
		{"default deny without routes", policy.Options{Default: policy.Deny}, "Default", "lets nobody in"},
		{"empty sign-in group", policy.Options{AllowGroups: []string{"staff", ""}}, "AllowGroups[1]", "must not be empty"},
		{"spaced sign-in group", policy.Options{AllowGroups: []string{"staff "}}, "AllowGroups[0]", "leading or trailing spaces"},
		{"comma in a sign-in group", policy.Options{AllowGroups: []string{"a,b"}}, "AllowGroups[0]", "must not contain a comma"},
		{"non-ASCII group", policy.Options{Routes: []policy.Route{{Path: "/a", Groups: []string{"Équipe"}}}}, "Routes[0].Groups[0]", "printable ASCII"},
		{"control character in a group", policy.Options{Routes: []policy.Route{{Path: "/a", Groups: []string{"a\tb"}}}}, "Routes[0].Groups[0]", "control characters"},
		{"long group", policy.Options{AllowGroups: []string{strings.Repeat("g", 257)}}, "AllowGroups[0]", "at most 256 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			fields := optionerr.Fields(err)
			if len(fields) != 1 {
				t.Fatalf("Validate() = %v; want exactly one problem with %s", err, tc.field)
			}
			fe := fields[0]
			if fe.Pkg != "policy" || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("Validate() = %q; want policy: %s: …%s…", fe.Error(), tc.field, tc.msg)
			}
			if _, nerr := policy.New(tc.o); nerr == nil || nerr.Error() != err.Error() {
				t.Errorf("New() = %v; want Validate's error %v", nerr, err)
			}
		})
	}
}

func TestValidateErrorFormat(t *testing.T) {
	err := policy.Options{Routes: []policy.Route{{Path: "/a", Groups: []string{"g"}}, {Path: "x", Groups: []string{"g"}}, {Path: "/b", Groups: []string{"g"}}}}.Validate()
	if want := "policy: Routes[1].Path: must start with /"; err == nil || err.Error() != want {
		t.Errorf("Validate() = %v; want %q", err, want)
	}
}

func TestValidateCollectsEveryProblem(t *testing.T) {
	o := policy.Options{
		Default:     "maybe",
		AllowGroups: []string{""},
		Routes: []policy.Route{
			{Path: "", Groups: []string{"g"}},
			{Path: "/a", Methods: []string{"FETCH"}},
		},
	}
	got := optionerr.Fields(o.Validate())
	want := []string{"AllowGroups[0]", "Default", "Routes[0].Path", "Routes[1].Methods[0]", "Routes[1]"}
	if len(got) != len(want) {
		t.Fatalf("Validate() gave %d problems %v; want %d for %v", len(got), got, len(want), want)
	}
	for i, fe := range got {
		if fe.Field != want[i] {
			t.Errorf("problem %d is %q; want field %s", i, fe.Error(), want[i])
		}
	}
}

// TestValidateHidesValues checks that messages name fields, not values.
func TestValidateHidesValues(t *testing.T) {
	o := policy.Options{
		Default: "value-in-default",
		Routes: []policy.Route{
			{Path: "//value-in-path", Methods: []string{"VALUEINMETHOD"}, Groups: []string{" value-in-group"}, Emails: []string{"value-in-email"}},
		},
	}
	err := o.Validate()
	if err == nil {
		t.Fatal("Validate() = nil; want errors")
	}
	for _, v := range []string{"value-in-default", "value-in-path", "VALUEINMETHOD", "value-in-group", "value-in-email"} {
		if strings.Contains(err.Error(), v) {
			t.Errorf("Validate() = %q; contains the value %q", err, v)
		}
	}
}

func TestWarnings(t *testing.T) {
	route := []policy.Route{{Path: "/admin", Groups: []string{"a"}}}
	domains := []string{"example.com"}
	tests := []struct {
		name string
		o    policy.Options
		want []string // each warning's start, in order
	}{
		{"no routes", policy.Options{AllowedEmailDomains: domains}, nil},
		{"no domains", policy.Options{}, []string{"policy: AllowedEmailDomains: empty: anyone with a verified email"}},
		{"unverified email", policy.Options{AllowedEmailDomains: domains, AllowUnverifiedEmail: true}, []string{"policy: AllowUnverifiedEmail: an email address nobody has verified"}},
		{"routes, default allow", policy.Options{AllowedEmailDomains: domains, Routes: route}, []string{"policy: Default: allow: every path no route names is open"}},
		{"routes, explicit allow", policy.Options{AllowedEmailDomains: domains, Routes: route, Default: policy.Allow}, []string{"policy: Default: allow:"}},
		{"routes, deny", policy.Options{AllowedEmailDomains: domains, Routes: route, Default: policy.Deny}, nil},
		{"all three", policy.Options{AllowUnverifiedEmail: true, Routes: route}, []string{"policy: AllowedEmailDomains:", "policy: AllowUnverifiedEmail:", "policy: Default:"}},
	}
	for _, tc := range tests {
		w := tc.o.Warnings()
		if len(w) != len(tc.want) {
			t.Errorf("%s: Warnings() = %v; want %d: %q", tc.name, w, len(tc.want), tc.want)
			continue
		}
		for i, want := range tc.want {
			if !strings.HasPrefix(w[i].Error(), want) {
				t.Errorf("%s: Warnings()[%d] = %v; want it to start %q", tc.name, i, w[i], want)
			}
		}
	}
}
