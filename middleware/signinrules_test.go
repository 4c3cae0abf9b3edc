package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/internal/testsupport/redistest"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/sessions"
)

// TestSignInRulesAtCallbackAndRefresh: one table through both paths that
// decide whether someone may have a session. A change at the provider
// (groups, email_verified, the address's domain) refuses the next
// sign-in with that rule's 403 page, and ends an existing session at its
// next refresh: the session is deleted from the store, and a browser is
// sent to sign in again, where the same rule refuses it.
func TestSignInRulesAtCallbackAndRefresh(t *testing.T) {
	tests := []struct {
		name     string
		change   func(p *demo.Provider, login string)
		wantRule policy.SignInRule // "" means still allowed
		wantPage string
	}{
		{"still in an allowed group", func(p *demo.Provider, login string) { p.SetGroups(login, []string{"other", "staff"}) },
			"", ""},
		{"removed from the allowed group", func(p *demo.Provider, login string) { p.SetGroups(login, []string{"other"}) },
			policy.RuleAllowGroups, "ask your administrator for access"},
		{"removed from every group (no groups claim)", func(p *demo.Provider, login string) { p.SetGroups(login, nil) },
			policy.RuleAllowGroups, "ask your administrator for access"},
		{"email no longer verified", func(p *demo.Provider, login string) { p.SetEmailVerified(login, false) },
			policy.RuleEmailVerified, "not verified at the identity provider"},
		{"email moved to a domain not allowed", func(p *demo.Provider, login string) { p.SetEmail(login, "someone@outsider.example") },
			policy.RuleEmailDomains, "sign in again with your company account"},
	}
	users := make([]demo.User, len(tests))
	for i, tc := range tests {
		users[i] = demo.User{Email: "user" + string(rune('a'+i)) + "@example.com", Password: "pw-" + tc.name,
			Subject: "sub-" + string(rune('a'+i)), EmailVerified: true, Groups: []string{"staff"}}
	}
	var offset atomic.Int64
	eo := redisEnvOptions(t, redistest.URL(t), func(o *Options) {
		o.RefreshInterval, o.RefreshGrace = time.Hour, time.Hour
		setPolicy(o, policy.Options{AllowGroups: []string{"staff"}})
	})
	eo.users, eo.scopes = users, []string{"openid", "email", "offline_access"}
	eo.tweak = func(a *Auth) { a.now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) } }
	e := newEnv(t, eo)

	for i, tc := range tests {
		u := users[i]
		t.Run(tc.name, func(t *testing.T) {
			_, v := e.signedInCookie(u.Email, u.Password)
			tc.change(e.provider, u.Email)

			// The refresh path.
			offset.Add(int64(61 * time.Minute))
			before := e.provider.RefreshCount()
			r := e.do(newClient(), "GET", "/headers", withCookie(v, navigate), nil)
			if n := e.provider.RefreshCount() - before; n != 1 {
				t.Fatalf("%d refresh calls; want 1", n)
			}
			_, err := e.auth.opts.Store.Get(context.Background(), v)
			if tc.wantRule == "" {
				if r.StatusCode != http.StatusOK || err != nil {
					t.Errorf("refresh: GET /headers = %d, store Get = %v; want 200 and the session kept", r.StatusCode, err)
				}
			} else {
				if r.StatusCode != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), "/oauth2/start") {
					t.Errorf("refresh refused by %s: GET /headers = %d %q; want 302 to sign-in", tc.wantRule, r.StatusCode, r.Header.Get("Location"))
				}
				if !errors.Is(err, sessions.ErrNotFound) {
					t.Errorf("refresh refused by %s: store Get = %v; want ErrNotFound (session ended)", tc.wantRule, err)
				}
				if ui := e.userinfo(v); ui.StatusCode != http.StatusUnauthorized {
					t.Errorf("refresh refused by %s: userinfo = %d; want 401", tc.wantRule, ui.StatusCode)
				}
				if logs := e.logs.String(); !strings.Contains(logs, "rule="+string(tc.wantRule)) {
					t.Errorf("the log does not name rule %s", tc.wantRule)
				}
			}

			// The callback path, with the provider as it is now.
			cb := e.signIn(newClient(), "/", u.Email, u.Password)
			if tc.wantRule == "" {
				if cb.StatusCode != http.StatusFound || sessionCookie(cb) == nil {
					t.Errorf("sign-in: callback = %d; want 302 with a session", cb.StatusCode)
				}
				return
			}
			if cb.StatusCode != http.StatusForbidden || sessionCookie(cb) != nil || !strings.Contains(cb.body, tc.wantPage) {
				t.Errorf("sign-in refused by %s: callback = %d, page %q; want 403 with %q and no session", tc.wantRule, cb.StatusCode, cb.body, tc.wantPage)
			}
		})
	}
	e.checkNoLeaks()
}

// TestSignInRulesPolicyDomains: the email domains set on the policy
// rather than on Options refuse the same way; setting both is an error.
func TestSignInRulesPolicyDomains(t *testing.T) {
	e := newEnv(t, envOptions{mod: func(o *Options) {
		o.Policy.AllowedEmailDomains = nil
		o.Policy.AllowedEmailDomains = []string{"EXAMPLE.com"}
	}})
	if r := e.signIn(newClient(), "/", "mallory@outsider.example", "mallory-pw"); r.StatusCode != http.StatusForbidden {
		t.Errorf("outsider: callback = %d; want 403", r.StatusCode)
	}
	if r := e.signIn(newClient(), "/", "alice@example.com", alicePassword); r.StatusCode != http.StatusFound {
		t.Errorf("alice: callback = %d; want 302", r.StatusCode)
	}
}

// TestRefreshKeepsGroupLimits: a refreshed identity is held to the same
// group limits as a sign-in. Its groups are cut to the ones the policy
// names, so what the Redis store keeps and sends upstream stays small; a
// provider that now names more groups than are read, or named groups too
// long to send, ends the session rather than keeping it on part of them.
func TestRefreshKeepsGroupLimits(t *testing.T) {
	tooMany := make([]string, 1001)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("g%04d", i)
	}
	tooMany[len(tooMany)-1] = "staff"
	wide := numbered(200)
	var routes []policy.Route
	for i, g := range wide {
		routes = append(routes, policy.Route{Path: fmt.Sprintf("/area-%03d/", i), Groups: []string{g}})
	}
	routes = append(routes, policy.Route{Path: "/", Groups: []string{"staff"}})
	tests := []struct {
		name       string
		groups     []string
		wantGroups []string // nil: the session ends
	}{
		{"unnamed groups added", []string{"staff", "unnamed-1", "unnamed-2"}, []string{"staff"}},
		{"more groups than are read", tooMany, nil},
		{"named groups too long to send", append([]string{"staff"}, wide...), nil},
	}
	users := make([]demo.User, len(tests))
	for i, tc := range tests {
		users[i] = demo.User{Email: fmt.Sprintf("limits%d@example.com", i), Password: "pw-" + tc.name,
			Subject: fmt.Sprintf("limits-sub-%d", i), EmailVerified: true, Groups: []string{"staff"}}
	}
	var offset atomic.Int64
	eo := redisEnvOptions(t, redistest.URL(t), func(o *Options) {
		o.RefreshInterval, o.RefreshGrace = time.Hour, time.Hour
		setPolicy(o, policy.Options{AllowGroups: []string{"staff"}, Routes: routes})
	})
	eo.users, eo.scopes = users, []string{"openid", "email", "offline_access"}
	eo.tweak = func(a *Auth) { a.now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) } }
	e := newEnv(t, eo)

	for i, tc := range tests {
		u := users[i]
		t.Run(tc.name, func(t *testing.T) {
			_, v := e.signedInCookie(u.Email, u.Password)
			e.provider.SetGroups(u.Email, tc.groups)
			offset.Add(int64(61 * time.Minute))
			before := e.provider.RefreshCount()
			r := e.do(newClient(), "GET", "/headers", withCookie(v, navigate), nil)
			if n := e.provider.RefreshCount() - before; n != 1 {
				t.Fatalf("%d refresh calls; want 1", n)
			}
			s, err := e.auth.opts.Store.Get(context.Background(), v)
			if tc.wantGroups == nil {
				if !errors.Is(err, sessions.ErrNotFound) || r.StatusCode != http.StatusFound {
					t.Errorf("GET /headers = %d, store Get = %v; want 302 and the session ended", r.StatusCode, err)
				}
				return
			}
			if err != nil || r.StatusCode != http.StatusOK {
				t.Fatalf("GET /headers = %d, store Get = %v; want 200 and the session kept", r.StatusCode, err)
			}
			if !slices.Equal(s.Groups, tc.wantGroups) {
				t.Errorf("session groups after refresh = %q; want %q", s.Groups, tc.wantGroups)
			}
		})
	}
	e.checkNoLeaks()
}
