package middleware

import (
	"net/http"
	"strings"
	"testing"
)

// TestPagesLeadBackIntoRMS: the pages an employee meets speak to them and
// lead on: "Sign in again" returns to rd, or into the RMS without one; a
// sign-in refused for the account offers signing out to use another
// account, not a start page that would refuse them again.
func TestPagesLeadBackIntoRMS(t *testing.T) {
	e := newEnv(t, envOptions{mod: func(o *Options) { o.SkipProviderSignOut = true }})
	tests := []struct {
		name       string
		page       func() response
		wantStatus int
		want       []string
	}{
		{"signed out without rd", func() response { return e.get("/oauth2/signed_out") }, http.StatusOK,
			[]string{"You are signed out", `<a id="sign-in" href="/rezi">Sign in again</a>`}},
		{"signed out with rd", func() response { return e.get("/oauth2/signed_out?rd=%2Fdocs%3Fa%3D1") }, http.StatusOK,
			[]string{`<a id="sign-in" href="/oauth2/start?rd=%2Fdocs%3Fa%3D1">Sign in again</a>`}},
		{"domain refused", func() response { return e.signIn(newClient(), "/rezi", "mallory@outsider.example", "mallory-pw") }, http.StatusForbidden,
			[]string{"<h1>You can&#39;t open this page</h1>", "company account",
				`<a id="next" href="/oauth2/sign_out">Sign out and sign in with another account</a>`}},
		{"unverified email refused", func() response { return e.signIn(newClient(), "/rezi", "bob@example.com", "bob-pw") }, http.StatusForbidden,
			[]string{"<h1>You can&#39;t open this page</h1>", `href="/oauth2/sign_out"`}},
		{"nothing here", func() response { return e.get("/oauth2/nothing") }, http.StatusNotFound,
			[]string{"<h1>There is nothing here</h1>", `<a id="next" href="/rezi">Open the RMS</a>`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.page()
			if r.StatusCode != tc.wantStatus {
				t.Errorf("status = %d; want %d:\n%s", r.StatusCode, tc.wantStatus, r.body)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("page lacks %q:\n%s", w, r.body)
				}
			}
			for _, j := range []string{"Forbidden", "start page", "replica", "cookie"} {
				if strings.Contains(r.body, j) {
					t.Errorf("page says %q:\n%s", j, r.body)
				}
			}
		})
	}
}
