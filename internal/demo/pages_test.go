package demo

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rezigate/rezigate/internal/pages"
)

var styleElement = regexp.MustCompile(`(?s)<style>.*?</style>`)

// TestProviderPagesShareTheStylesheet checks that the provider's pages
// (login form, sign-in error, signed out) look like rezigate's own: the
// same inline stylesheet under the same policy, and nothing loaded from
// elsewhere.
func TestProviderPagesShareTheStylesheet(t *testing.T) {
	rec := httptest.NewRecorder()
	pages.Error(rec, http.StatusForbidden, "x", "id")
	shared := styleElement.FindString(rec.Body.String())
	if shared == "" {
		t.Fatal("rezigate's error page has no stylesheet")
	}

	e := newTestEnv(t, "")
	_, challenge := newVerifier()
	tests := []struct {
		name, target string
		status       int
	}{
		{"login", "/auth?" + e.authParams("s", "n", challenge).Encode(), http.StatusOK},
		{"sign-in error", "/auth?" + url.Values{"client_id": {"nobody"}}.Encode(), http.StatusBadRequest},
		{"signed out", "/logout", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := e.noFollow.Get(e.p.Issuer() + tc.target)
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s = %d; want %d", tc.target, resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != pages.CSP {
				t.Errorf("CSP = %q; want the shared %q", got, pages.CSP)
			}
			if got := styleElement.FindAllString(body, -1); len(got) != 1 || got[0] != shared {
				t.Errorf("page has %d style elements, shared one: %v; want exactly rezigate's", len(got), len(got) == 1 && got[0] == shared)
			}
			if strings.Contains(body, "<script") || strings.Contains(body, "<link") {
				t.Errorf("page loads something besides its inline stylesheet:\n%s", body)
			}
		})
	}
}
