package middleware

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/policy"
	"github.com/rezigate/rezigate/proxy"
	"github.com/rezigate/rezigate/sessions"
)

// stubTransport answers every upstream request at once, so a benchmark
// measures rezigate and not the network.
type stubTransport struct{}

func (stubTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: r, ProtoMajor: 1, ProtoMinor: 1}, nil
}

// BenchmarkSignedInRequest is one signed-in request through Wrap and the
// proxy (upstream stubbed): without policy or assertion, with 20 routes,
// and with 20 routes and an assertion, the user in 3 named groups; then
// the same pair shaped as the policy target of go run ./bench (its
// policyConfig): GET / decided by the last of 20 routes, default deny,
// two sign-in groups, the user in both.
func BenchmarkSignedInRequest(b *testing.B) {
	var routes []policy.Route
	for i := 0; i < 20; i++ {
		routes = append(routes, policy.Route{Path: fmt.Sprintf("/area-%02d/", i), Groups: []string{fmt.Sprintf("g%02d", i)}})
	}
	benchGroups := []string{"rms-users", "staff"}
	var benchRoutes []policy.Route
	for i := range 19 {
		r := policy.Route{Path: fmt.Sprintf("/app%d/", i), Groups: []string{fmt.Sprintf("team-%03d", i), "rms-admins"}}
		if i%2 == 1 {
			r.Methods = []string{"GET", "HEAD"}
			r.Emails = []string{fmt.Sprintf("lead%d@example.com", i)}
		}
		benchRoutes = append(benchRoutes, r)
	}
	benchRoutes = append(benchRoutes, policy.Route{Path: "/", Groups: []string{"staff"}})
	benchPolicy := policy.Options{AllowGroups: benchGroups, Default: policy.Deny, Routes: benchRoutes}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := assertion.NewSigner(assertion.SignerOptions{Keys: []*ecdsa.PrivateKey{key}, Issuer: "https://rms.example.com", Audience: "rms"})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		policy policy.Options
		signer *assertion.Signer
		groups []string
		target string
	}{
		{"no policy", policy.Options{}, nil, []string{"g03", "g07", "g19"}, "/area-07/report?x=1"},
		{"20 routes", policy.Options{Routes: routes}, nil, []string{"g03", "g07", "g19"}, "/area-07/report?x=1"},
		{"20 routes and assertion", policy.Options{Routes: routes}, signer, []string{"g03", "g07", "g19"}, "/area-07/report?x=1"},
		{"bench off", policy.Options{}, nil, benchGroups, "/"},
		{"bench policy and assertion", benchPolicy, signer, benchGroups, "/"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			log := slog.New(slog.DiscardHandler)
			p, err := oidc.New(ctx, oidc.Options{IssuerURL: "http://127.0.0.1:1", ClientID: "c", RedirectURL: "https://rms.example.com/oauth2/callback", Logger: log})
			if err != nil {
				b.Fatal(err)
			}
			a, err := New(Options{Provider: p, PublicURL: "https://rms.example.com", Session: sessions.Settings{Secrets: [][]byte{[]byte(testSessionKey)}},
				UIDSecret: []byte(testUIDSecret), Policy: bc.policy, Assertion: bc.signer, NoAccessLog: true, Logger: log})
			if err != nil {
				b.Fatal(err)
			}
			up, _ := url.Parse("http://upstream.invalid")
			pub, _ := url.Parse("https://rms.example.com")
			px, err := proxy.New(proxy.Options{Upstream: up, PublicURL: pub, Transport: stubTransport{}, Logger: log, Assertion: bc.signer, StripCookies: a.OwnCookie,
				Identity: func(r *http.Request) (string, string, bool) {
					u, ok := UserFromContext(r.Context())
					return u.Email, u.UID, ok
				},
				Groups: func(r *http.Request) []string { u, _ := UserFromContext(r.Context()); return u.Groups }})
			if err != nil {
				b.Fatal(err)
			}
			h := a.Wrap(px)
			v, err := a.store.Put(ctx, sessions.Session{UID: strings.Repeat("ab", 32), Email: "alice@example.com", Groups: bc.groups, Expires: time.Now().Add(time.Hour)})
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest("GET", bc.target, nil)
			r.Header.Set("Cookie", a.cookieName+"="+v)
			// What Go's client, the bench's, sends besides.
			r.Header.Set("User-Agent", "Go-http-client/1.1")
			r.Header.Set("Accept-Encoding", "gzip")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
			}
		})
	}
}
