package middleware

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/handoff"
	"github.com/rezigate/rezigate/logout"
)

// TestDocListsEveryEndpoint: every path the wrapped handler answers
// itself is listed in the package doc, and is answered by the middleware,
// never passed to the app.
func TestDocListsEveryEndpoint(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	doc := f.Doc.Text()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	o := validOptions(t)
	o.ServeHealth = true
	if o.Assertion, err = assertion.NewSigner(assertion.SignerOptions{Keys: []*ecdsa.PrivateKey{key}, Issuer: o.PublicURL, Audience: "rms"}); err != nil {
		t.Fatal(err)
	}
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	h := a.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("%s reached the app", r.URL.Path)
	}))
	tests := []struct {
		path   string
		served bool // false: served only with a Store this test does not build
	}{
		{"/oauth2/start", true},
		{"/oauth2/callback", true},
		{"/oauth2/sign_out", true},
		{"/oauth2/signed_out", true},
		{"/oauth2/auth", true},
		{"/oauth2/userinfo", true},
		{logout.BackchannelPath, false},
		{logout.FrontchannelPath, false},
		{handoff.Path, true},
		{"/healthz", true},
		{"/readyz", true},
		{assertion.JWKSPath, true},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			if !strings.Contains(doc, "\t"+tc.path+" ") {
				t.Errorf("the package doc does not list %s", tc.path)
			}
			if tc.served {
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://rms.example.com"+tc.path, nil))
			}
		})
	}
}

// TestFilesStaySmall: each non-test file of the package holds one concern
// and stays under 600 lines, as the layout of the package promises.
func TestFilesStaySmall(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "\n"); n > 600 {
			t.Errorf("%s has %d lines; want at most 600: split it by concern", name, n)
		}
	}
}
