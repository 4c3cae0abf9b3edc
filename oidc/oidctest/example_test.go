package oidctest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"

	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/oidc/oidctest"
	"github.com/rezigate/rezigate/sessions"
)

// A test of an embedding program signs a user in through the middleware
// and the test provider, as a browser would, and reaches the application.
func Example() {
	idp := oidctest.New(oidctest.Options{
		ClientID: "my-app", ClientSecret: "test-client-secret",
		Users: []oidctest.User{{Email: "alice@example.com", Password: "alice-pw"}},
	})
	idpSrv := httptest.NewServer(idp)
	defer idpSrv.Close()
	if err := idp.SetIssuer(idpSrv.URL); err != nil {
		panic(err)
	}

	// The application, behind the middleware, on a loopback server whose
	// address the middleware must know before it starts.
	appSrv := httptest.NewUnstartedServer(nil)
	public := "http://" + appSrv.Listener.Addr().String()
	provider, err := oidc.New(context.Background(), oidc.Options{
		IssuerURL: idp.Issuer(), ClientID: "my-app", ClientSecret: "test-client-secret",
		RedirectURL: public + "/oauth2/callback",
	})
	if err != nil {
		panic(err)
	}
	auth, err := middleware.New(middleware.Options{
		Provider:  provider,
		PublicURL: public,
		Session: sessions.Settings{
			Secrets:         [][]byte{[]byte("a-session-secret-of-at-least-32-bytes")},
			InsecureCookies: true, // plain http on loopback, in a test
		},
		UIDSecret: []byte("a-uid-secret-of-at-least-32-bytes!!"),
	})
	if err != nil {
		panic(err)
	}
	appSrv.Config.Handler = auth.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", u.Email)
	}))
	appSrv.Start()
	defer appSrv.Close()

	// The client starts the sign-in, follows the redirect to the
	// provider's login form, posts it, and follows the callback back to
	// the page named in rd.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(public + "/oauth2/start?rd=%2Freports")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	resp, err = browser.PostForm(resp.Request.URL.String(), url.Values{"login": {"alice@example.com"}, "password": {"alice-pw"}})
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Request.URL.Path, string(body))
	// Output: 200 /reports hello alice@example.com
}
