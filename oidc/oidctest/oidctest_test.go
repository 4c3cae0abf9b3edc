package oidctest_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/oidc/oidctest"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/sessions"
)

// SetIssuer reports every missing option and a bad issuer; until it
// succeeds the provider serves nothing.
func TestSetIssuer(t *testing.T) {
	good := oidctest.Options{ClientID: "app", ClientSecret: "s", Users: []oidctest.User{{Email: "a@example.com", Password: "pw"}}}
	tests := []struct {
		name    string
		opts    oidctest.Options
		issuer  string
		wantErr []string
	}{
		{"good", good, "http://127.0.0.1:1", nil},
		{"under a path", good, "http://127.0.0.1:1/idp", nil},
		{"no issuer", good, "", []string{"issuer: required"}},
		{"relative issuer", good, "/idp", []string{"issuer: must be an absolute http or https URL"}},
		{"trailing slash", good, "http://127.0.0.1:1/", []string{"issuer: must have no trailing slash"}},
		{"nothing", oidctest.Options{Users: []oidctest.User{{Email: "a@example.com"}}}, "http://127.0.0.1:1", []string{"client_id: required", "client_secret: required", "users[0].password: required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := oidctest.New(tc.opts)
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/openid-configuration", nil))
			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("discovery before SetIssuer = %d; want 503", rec.Code)
			}
			err := p.SetIssuer(tc.issuer)
			if tc.wantErr == nil {
				if err != nil || p.Issuer() != tc.issuer {
					t.Fatalf("SetIssuer(%q) = %v, Issuer() = %q; want nil, %q", tc.issuer, err, p.Issuer(), tc.issuer)
				}
				rec = httptest.NewRecorder()
				p.ServeHTTP(rec, httptest.NewRequest("GET", tc.issuer+"/.well-known/openid-configuration", nil))
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), fmt.Sprintf("%q", tc.issuer)) {
					t.Errorf("discovery = %d %s; want 200 naming the issuer", rec.Code, rec.Body)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "oidctest: ") {
				t.Fatalf("SetIssuer(%q) = %v; want an oidctest error", tc.issuer, err)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("SetIssuer(%q) = %v; want it to say %q", tc.issuer, err, w)
				}
			}
			if p.Issuer() != "" {
				t.Errorf("Issuer() after a failed SetIssuer = %q; want empty", p.Issuer())
			}
		})
	}
}

// The middleware signs the provider's users in, with their groups, and
// refuses what it must: an unverified address and a wrong password.
func TestSignInThroughMiddleware(t *testing.T) {
	idp := oidctest.New(oidctest.Options{
		ClientID: "app", ClientSecret: "client-secret",
		Users: []oidctest.User{
			{Email: "alice@example.com", Password: "alice-pw", Groups: []string{"staff", "admins"}},
			{Email: "uma@example.com", Password: "uma-pw", EmailUnverified: true, Groups: []string{"staff"}},
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	idpSrv := httptest.NewServer(idp)
	t.Cleanup(idpSrv.Close)
	if err := idp.SetIssuer(idpSrv.URL); err != nil {
		t.Fatal(err)
	}
	appSrv := httptest.NewUnstartedServer(nil)
	public := "http://" + appSrv.Listener.Addr().String()
	provider, err := oidc.New(t.Context(), oidc.Options{
		IssuerURL: idp.Issuer(), ClientID: "app", ClientSecret: "client-secret", RedirectURL: public + "/oauth2/callback",
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.New(middleware.Options{
		Provider: provider, PublicURL: public,
		Session:   sessions.Settings{Secrets: [][]byte{[]byte("a-session-secret-of-at-least-32-bytes")}, InsecureCookies: true},
		UIDSecret: []byte("a-uid-secret-of-at-least-32-bytes!!"),
		Policy:    policy.Options{AllowGroups: []string{"staff", "admins"}}, // the groups the middleware keeps
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	appSrv.Config.Handler = auth.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFromContext(r.Context())
		fmt.Fprintf(w, "%s %s", u.Email, strings.Join(u.Groups, ","))
	}))
	appSrv.Start()
	t.Cleanup(appSrv.Close)

	tests := []struct {
		name, login, password string
		wantStatus            int
		wantBody              string
	}{
		{"verified user", "alice@example.com", "alice-pw", http.StatusOK, "alice@example.com staff,admins"},
		{"login in another case", "Alice@Example.com", "alice-pw", http.StatusOK, "alice@example.com staff,admins"},
		{"unverified address", "uma@example.com", "uma-pw", http.StatusForbidden, ""},
		{"wrong password", "alice@example.com", "nope", http.StatusUnauthorized, "Invalid email or password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar}
			resp, err := c.Get(public + "/oauth2/start?rd=%2Fhome")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if !strings.HasPrefix(resp.Request.URL.String(), idp.Issuer()+"/auth?") {
				t.Fatalf("/oauth2/start led to %s; want the provider's login form", resp.Request.URL)
			}
			resp, err = c.PostForm(resp.Request.URL.String(), url.Values{"login": {tc.login}, "password": {tc.password}})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("sign-in of %s = %d %q; want %d with %q", tc.login, resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
		})
	}
}
