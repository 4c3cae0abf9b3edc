package middleware

import (
	"encoding/json"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/metrics"
)

// newMetricsEnv is newEnv with the given provider users and a metrics
// registry to read the sign-in outcomes from.
func newMetricsEnv(t *testing.T, users []demo.User) (*env, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, envOptions{users: users, mod: func(o *Options) { o.Metrics = m }}), reg
}

// signInCount returns rezigate_sign_ins_total{outcome}.
func signInCount(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "rezigate_sign_ins_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

const badEmailPage = "Your account's email address cannot be used here."

// An email claim that is not one plain address is refused with 403, even
// when the text after its last '@' is an allowed domain, and the log names
// the user by uid, never by the claim.
func TestBadEmailRefused(t *testing.T) {
	emails := []string{
		"mallory@evil.com@example.com",
		"a@evil.com,b@example.com",
		"Name <x@evil.com>@example.com",
		" lead@example.com",
		`"q@evil.com"@example.com`,
		"c@example.com (evil.com)",
		"zw\u200b@example.com",
	}
	var users []demo.User
	for i, email := range emails {
		users = append(users, demo.User{Email: email, Password: "pw", Subject: "bad-sub-" + string(rune('a'+i)), EmailVerified: true})
	}
	e, reg := newMetricsEnv(t, users)
	for i, u := range users {
		t.Run(u.Email, func(t *testing.T) {
			r := e.signIn(newClient(), "/rezi", strings.TrimSpace(u.Email), u.Password)
			if r.StatusCode != http.StatusForbidden {
				t.Fatalf("callback for email %q = %d; want 403", u.Email, r.StatusCode)
			}
			if !strings.Contains(html.UnescapeString(r.body), badEmailPage) {
				t.Errorf("callback page = %q; want %q", r.body, badEmailPage)
			}
			if sessionCookie(r) != nil || r.Header.Get("Location") != "" {
				t.Errorf("refused callback set a session or redirected")
			}
			if got := signInCount(t, reg, "bad_email"); got != float64(i+1) {
				t.Errorf("sign_ins_total{outcome=bad_email} = %v; want %d", got, i+1)
			}
			if uid := wantUID(e.provider.Issuer(), u.Subject); !strings.Contains(e.logs.String(), uid) {
				t.Errorf("log does not name the refused user by uid %s", uid)
			}
		})
	}
	logs := e.logs.String()
	for _, part := range []string{"evil.com", "lead@example.com", "c@example.com"} {
		if strings.Contains(logs, part) {
			t.Errorf("log contains %q from a raw email claim", part)
		}
	}
	if got := signInCount(t, reg, "ok"); got != 0 {
		t.Errorf("sign_ins_total{outcome=ok} = %v; want 0", got)
	}
	e.checkNoLeaks()
}

// When the ID token carries no email, the email and email_verified of the
// userinfo response are used, under the same rules, and only when
// userinfo is about the same subject.
func TestEmailFromUserinfo(t *testing.T) {
	mallory := demo.User{Email: "mallory@evil.com@example.com", Password: "mallory-pw", Subject: "mallory-bad", EmailVerified: true}
	users := append(append([]demo.User{}, testUsers...), mallory)
	tests := []struct {
		name       string
		fault      demo.Fault
		user       demo.User
		wantStatus int
		outcome    string
	}{
		{"email only in userinfo", demo.FaultEmailOnlyInUserinfo, testUsers[0], http.StatusFound, "ok"},
		{"email_verified as a string", demo.FaultUserinfoVerifiedString, testUsers[0], http.StatusFound, "ok"},
		{"userinfo names another subject", demo.FaultUserinfoOtherSubject, testUsers[0], http.StatusBadRequest, "userinfo_mismatch"},
		{"userinfo says unverified", demo.FaultUserinfoUnverified, testUsers[0], http.StatusForbidden, "unverified_email"},
		{"unverified user, email only in userinfo", demo.FaultEmailOnlyInUserinfo, testUsers[1], http.StatusForbidden, "unverified_email"},
		{"userinfo domain not allowed", demo.FaultEmailOnlyInUserinfo, testUsers[2], http.StatusForbidden, "denied_domain"},
		{"bad email in userinfo", demo.FaultEmailOnlyInUserinfo, mallory, http.StatusForbidden, "bad_email"},
		{"no email anywhere", demo.FaultNoEmail, testUsers[0], http.StatusForbidden, "no_email"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, reg := newMetricsEnv(t, users)
			e.provider.SetFault(tc.fault)
			r := e.signIn(e.client, "/x", tc.user.Email, tc.user.Password)
			if r.StatusCode != tc.wantStatus {
				t.Fatalf("callback = %d; want %d", r.StatusCode, tc.wantStatus)
			}
			if got := signInCount(t, reg, tc.outcome); got != 1 {
				t.Errorf("sign_ins_total{outcome=%s} = %v; want 1", tc.outcome, got)
			}
			uid := wantUID(e.provider.Issuer(), tc.user.Subject)
			if tc.outcome != "ok" {
				if sessionCookie(r) != nil {
					t.Errorf("refused callback set a session cookie")
				}
				if tc.outcome != "no_email" && !strings.Contains(e.logs.String(), uid) {
					t.Errorf("log does not name the refused user by uid %s", uid)
				}
				e.checkNoLeaks()
				return
			}
			if sessionCookie(r) == nil || r.Header.Get("Location") != "/x" {
				t.Fatalf("callback set no session or redirects to %q; want /x", r.Header.Get("Location"))
			}
			ui := e.do(e.client, "GET", "/oauth2/userinfo", nil, nil)
			var got struct{ Email, UID string }
			if err := json.Unmarshal([]byte(ui.body), &got); err != nil || got.Email != tc.user.Email || got.UID != uid {
				t.Errorf("/oauth2/userinfo = %d %s (%v); want email %s and uid %s", ui.StatusCode, ui.body, err, tc.user.Email, uid)
			}
			e.checkNoLeaks()
		})
	}
}
