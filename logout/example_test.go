package logout_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/rezigate/rezigate/logout"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/sessions"
)

// The endpoints on their own server, without the middleware: the
// provider ends a provider session's sessions through the browser
// (front-channel), then a user's through a signed logout token
// (back-channel), and a replay of that token is refused. A real program
// passes its *oidc.Provider and a redisstore.Store; here an in-memory
// store and a provider that knows one token stand in for them.
func Example() {
	const issuer = "https://idp.example.com"
	store := newMemStore() // a Revoker and a JTIRecorder
	store.bySID[sessions.HashSID("sid-1")] = 1
	store.byUID["uid-of-alice"] = 2
	provider := &idp{issuer: issuer, tokens: map[string]oidc.Logout{
		"signed-logout-token": {Issuer: issuer, Subject: "alice", JTI: "jti-1", Expiry: time.Now().Add(time.Minute)},
	}}
	h, err := logout.New(logout.Options{
		Provider: provider, Revoker: store, JTIs: store,
		UID:    func(iss, sub string) string { return "uid-of-" + sub },
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	show := func(resp *http.Response, err error) {
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d %q\n", resp.StatusCode, body)
	}

	show(http.Get(srv.URL + logout.FrontchannelPath + "?" + url.Values{"iss": {issuer}, "sid": {"sid-1"}}.Encode()))
	token := url.Values{"logout_token": {"signed-logout-token"}}
	show(http.PostForm(srv.URL+logout.BackchannelPath, token))
	show(http.PostForm(srv.URL+logout.BackchannelPath, token))
	fmt.Println("sessions left:", store.left())
	// Output:
	// 200 "<!doctype html><meta charset=utf-8><title>Signed out</title>\n"
	// 200 ""
	// 400 "{\"error\":\"invalid_request\"}\n"
	// sessions left: 0
}
