package assertion

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRequire(t *testing.T) {
	clk := newClock()
	s := newSigner(t, clk.Now, newKey(t))
	var logs bytes.Buffer
	v := newVerifier(t, newJWKSServer(t, s.JWKS()).url(), clk.Now, func(o *VerifierOptions) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	good, _ := s.Assertion(Claims{Subject: "uid-1", Email: "alice@example.com", Groups: []string{"staff"}})
	forged, _ := newSigner(t, clk.Now, newKey(t)).Assertion(Claims{Subject: "uid-1", Email: "alice@example.com"})

	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := FromContext(r.Context())
		fmt.Fprintf(w, "%v %s %s %q", ok, c.Subject, c.Email, c.Groups)
	})
	tests := []struct {
		name     string
		header   string // given to Require
		send     map[string][]string
		wantCode int
		wantBody string
	}{
		{"valid", "X-Assertion", map[string][]string{"X-Assertion": {good}}, 200, `true uid-1 alice@example.com ["staff"]`},
		{"default header", "", map[string][]string{DefaultHeader: {good}}, 200, `true uid-1 alice@example.com ["staff"]`},
		{"header name in any case", "x-assertion", map[string][]string{"X-Assertion": {good}}, 200, `true uid-1 alice@example.com ["staff"]`},
		{"missing", "X-Assertion", nil, 401, unauthorized},
		{"in another header", "X-Assertion", map[string][]string{DefaultHeader: {good}}, 401, unauthorized},
		{"empty", "X-Assertion", map[string][]string{"X-Assertion": {""}}, 401, unauthorized},
		{"twice", "X-Assertion", map[string][]string{"X-Assertion": {good, good}}, 401, unauthorized},
		{"forged", "X-Assertion", map[string][]string{"X-Assertion": {forged}}, 401, unauthorized},
		{"garbage", "X-Assertion", map[string][]string{"X-Assertion": {"Bearer x"}}, 401, unauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			r := httptest.NewRequest(http.MethodGet, "/app", nil)
			for k, vs := range tc.send {
				r.Header[k] = vs
			}
			w := httptest.NewRecorder()
			Require(v, tc.header)(app).ServeHTTP(w, r)
			if w.Code != tc.wantCode || w.Body.String() != tc.wantBody {
				t.Errorf("status, body = %d %q; want %d %q", w.Code, w.Body, tc.wantCode, tc.wantBody)
			}
			if tc.wantCode == 401 {
				for k, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"} {
					if got := w.Header().Get(k); got != want {
						t.Errorf("%s = %q; want %q", k, got, want)
					}
				}
				if !strings.Contains(logs.String(), "assertion: request refused") {
					t.Errorf("refusal not logged; log = %q", logs.String())
				}
			}
			for _, tok := range []string{good, forged} {
				for _, part := range strings.Split(tok, ".") {
					if strings.Contains(logs.String(), part) {
						t.Errorf("log contains a token: %q", logs.String())
					}
				}
			}
		})
	}
}

func TestRequireNilVerifierPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Require(nil, …) did not panic")
		}
	}()
	Require(nil, "")
}

func TestContext(t *testing.T) {
	if c, ok := FromContext(context.Background()); ok {
		t.Errorf("FromContext(empty) = %+v, true; want false", c)
	}
	want := Claims{Subject: "u", Email: "e@example.com", Groups: []string{"g"}}
	c, ok := FromContext(NewContext(context.Background(), want))
	if !ok || c.Subject != want.Subject || c.Email != want.Email || len(c.Groups) != 1 {
		t.Errorf("FromContext(NewContext(%+v)) = %+v, %v", want, c, ok)
	}
}
