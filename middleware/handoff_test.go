package middleware

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/handoff"
	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/rezi"
)

// TestHandoffMount: /rezi is the hand-off (tested on its own in package
// handoff) behind the middleware's sign-in: the query and the signed-in
// user reach it, a method other than GET is refused before anything else,
// and its answers carry the middleware's request id, in the page and the
// log.
func TestHandoffMount(t *testing.T) {
	e := newEnv(t, envOptions{mod: func(o *Options) { o.Handoff.CloseOnboardingRedirect = "/home"; o.Handoff.RateLimit = 2 }})
	e.signIn(e.client, "/rezi", "alice@example.com", alicePassword)
	tests := []struct {
		name, method, query string
		want                int
		wantOpen, wantClose string
	}{
		{"query and defaults reach it", "GET", "?openOnboarding=false", 302, "false", "/home"},
		{"a bad option", "GET", "?openOnboarding=maybe", 400, "", ""},
		{"POST", "POST", "", 405, "", ""},
		{"second hand-off", "GET", "?closeOnboardingRedirect=/dashboard/education", 302, "", "/dashboard/education"},
		{"over the limit", "GET", "", 429, "", ""},
	}
	for _, tc := range tests {
		r := e.do(e.client, tc.method, handoff.Path+tc.query, nil, url.Values{})
		if r.StatusCode != tc.want {
			t.Errorf("%s: %s /rezi%s = %d; want %d", tc.name, tc.method, tc.query, r.StatusCode, tc.want)
			continue
		}
		id := r.Header.Get("X-Request-Id")
		switch r.StatusCode {
		case http.StatusFound:
			q := mustURL(r.Header.Get("Location")).Query()
			if q.Get("openOnboarding") != tc.wantOpen || q.Get("closeOnboardingRedirect") != tc.wantClose {
				t.Errorf("%s: options = %q, %q; want %q, %q", tc.name, q.Get("openOnboarding"), q.Get("closeOnboardingRedirect"), tc.wantOpen, tc.wantClose)
			}
		case http.StatusTooManyRequests:
			if r.Header.Get("Retry-After") == "" || !strings.Contains(r.body, id) {
				t.Errorf("%s: 429 with Retry-After %q, request id in page %v; want both", tc.name, r.Header.Get("Retry-After"), strings.Contains(r.body, id))
			}
		default:
			if id == "" || !strings.Contains(r.body, id) {
				t.Errorf("%s: page without the request id %q", tc.name, id)
			}
		}
	}
	if email, uid := e.rezi.LastRequest(); email != "alice@example.com" || uid != wantUID(e.provider.Issuer(), "alice-sub") {
		t.Errorf("Rezi got %q, %q; want alice and her uid", email, uid)
	}
	e.checkNoLeaks()
}

// TestHandoffMountFailures: Rezi's failures reach the browser as the
// hand-off's pages, with the request id in the page and the log.
func TestHandoffMountFailures(t *testing.T) {
	tests := []struct {
		name  string
		fault demo.ReziFault
		down  bool // Rezi refuses connections
		want  int
	}{
		{"server error", demo.ReziStatus500, false, 502},
		{"timeout", demo.ReziSlow, false, 504},
		{"connection refused", demo.ReziOK, true, 502},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Only the slow fault waits for the timeout; the others must not
			// depend on how fast a loaded machine answers.
			eo := envOptions{reziTimeout: 10 * time.Second}
			if tc.fault == demo.ReziSlow {
				eo.reziTimeout = 500 * time.Millisecond
			}
			if tc.down {
				rc, err := rezi.New(rezi.Options{APIURL: "http://" + freeAddr(t) + "/v1", PrivateKey: testPrivateKey, Timeout: time.Second})
				if err != nil {
					t.Fatal(err)
				}
				eo.mod = func(o *Options) { o.Handoff.Rezi = rc }
			}
			e := newEnv(t, eo)
			e.rezi.SetFault(tc.fault)
			cb := e.signIn(e.client, "/rezi", "alice@example.com", alicePassword)
			r := e.get(cb.Header.Get("Location"))
			id := r.Header.Get("X-Request-Id")
			if r.StatusCode != tc.want || id == "" || !strings.Contains(r.body, id) {
				t.Errorf("/rezi = %d (request id %q in page: %v); want %d with the request id", r.StatusCode, id, strings.Contains(r.body, id), tc.want)
			}
			if !strings.Contains(e.logs.String(), "request_id="+id) {
				t.Errorf("log has no line with request_id=%s:\n%s", id, e.logs.String())
			}
			e.checkNoLeaks()
		})
	}
}

// TestHandoffOff: without a Rezi client /rezi is 404, signed in or not,
// and never reaches the app.
func TestHandoffOff(t *testing.T) {
	e := newEnv(t, envOptions{mod: func(o *Options) { o.Handoff = handoff.Options{} }})
	for _, signedIn := range []bool{false, true} {
		if signedIn {
			e.signIn(e.client, "/", "alice@example.com", alicePassword)
		}
		if r := e.do(e.client, "GET", "/rezi", navigate, nil); r.StatusCode != http.StatusNotFound || r.Header.Get("Location") != "" {
			t.Errorf("/rezi without Rezi, signed in %v = %d Location %q; want 404", signedIn, r.StatusCode, r.Header.Get("Location"))
		}
	}
}
