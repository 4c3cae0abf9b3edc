package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/rezigate/rezigate/handoff"
	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/oidc/oidctest"
	"github.com/rezigate/rezigate/sessions"
)

// An application protects its own handlers; inside them, UserFromContext
// names the signed-in user.
func ExampleAuth_Wrap() {
	// A stand-in for the company's OpenID provider (oidctest, for tests
	// only; oidctest's own example signs a user in through it).
	idp := oidctest.New(oidctest.Options{ClientID: "my-app", ClientSecret: "example-client-secret"})
	idpSrv := httptest.NewServer(idp)
	defer idpSrv.Close()
	if err := idp.SetIssuer(idpSrv.URL); err != nil {
		panic(err)
	}

	ctx := context.Background()
	provider, err := oidc.New(ctx, oidc.Options{
		IssuerURL: idp.Issuer(), ClientID: "my-app", ClientSecret: "example-client-secret",
		RedirectURL: "https://app.example.com/oauth2/callback",
	})
	if err != nil {
		panic(err)
	}
	auth, err := middleware.New(middleware.Options{
		Provider:  provider,
		PublicURL: "https://app.example.com",
		// The session settings of the cookie store New builds; with a
		// Store of your own, give them to it instead.
		Session:   sessions.Settings{Secrets: [][]byte{[]byte("a-session-secret-of-at-least-32-bytes")}},
		UIDSecret: []byte("a-uid-secret-of-at-least-32-bytes!!"),
	})
	if err != nil {
		panic(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", u.Email)
	})
	h := auth.Wrap(app)

	// Without a session, a browser is sent to sign in ...
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/reports?year=2026", nil)
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Location"))

	// ... and a script gets 401.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/reports", nil))
	fmt.Println(rec.Code)
	// Output:
	// 302 /oauth2/start?rd=%2Freports%3Fyear%3D2026
	// 401
}

func ExampleUserFromContext() {
	handler := func(w http.ResponseWriter, r *http.Request) {
		u, ok := middleware.UserFromContext(r.Context())
		if !ok {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "uid %s", u.UID)
	}
	rec := httptest.NewRecorder()
	handler(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(rec.Code)
	// Output: 401
}

// Validate names every bad field at once, and never a secret's value.
func ExampleOptions_Validate() {
	err := middleware.Options{
		PublicURL:       "http://rms.example.com/app",
		Session:         sessions.Settings{Secrets: [][]byte{[]byte("too-short")}, MaxAge: -time.Hour},
		MaxStateCookies: -1,
		Handoff:         handoff.Options{LoginURL: "//evil.example/login"},
	}.Validate()
	fmt.Println(err)
	// Output:
	// middleware: Provider: required
	// middleware: PublicURL: must have no path: the middleware serves from the root of its host
	// middleware: Session.Secrets[0]: must be at least 32 bytes, got 9
	// middleware: Session.MaxAge: must not be negative
	// middleware: UIDSecret: required: a secret of 32 bytes or more
	// middleware: MaxStateCookies: must not be negative
	// middleware: Handoff.LoginURL: must be an absolute http or https URL, or a local path starting with a single /
}

// Warnings lists what Validate allows but a production deployment should
// not want, named by field like Validate's problems.
func ExampleOptions_Warnings() {
	o := middleware.Options{
		PublicURL: "http://rms.internal.example",
		Session:   sessions.Settings{InsecureCookies: true},
		Handoff:   handoff.Options{LoginURL: "/login/"},
	}
	for _, w := range o.Warnings() {
		fmt.Println(w)
	}
	// Output:
	// middleware: PublicURL: plain http on a non-loopback host: cookies and Rezi tokens cross the network unencrypted
	// middleware: Session.InsecureCookies: cookies are also sent over plain http, where anyone on the path can take the session
	// policy: AllowedEmailDomains: empty: anyone with a verified email at the provider gets in
}
