package handoff

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/rezi"
)

const testKey = "rezi-private-key-handoff-test"

// stand is the Rezi stand-in and a client of it.
type stand struct {
	rezi   *demo.Rezi
	client *rezi.Client
}

func newStand(t *testing.T, timeout time.Duration) stand {
	t.Helper()
	z, err := demo.NewRezi(demo.ReziOptions{PrivateKey: testKey, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(z)
	t.Cleanup(srv.Close)
	c, err := rezi.New(rezi.Options{APIURL: srv.URL + "/v1", PrivateKey: testKey, Timeout: timeout, CacheSize: -1,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return stand{z, c}
}

// alice is a User that always names alice.
func alice(*http.Request) (email, uid string, ok bool) { return "alice@example.com", "alice-uid", true }

func nobody(*http.Request) (email, uid string, ok bool) { return "", "", false }

var public = &url.URL{Scheme: "https", Host: "rms.example.com"}

// serve sends one request through h with a request id, as the
// middleware does.
func serve(h http.Handler, method, target string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	r = r.WithContext(requestid.NewContext(r.Context(), "req-1"))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestServeHTTP: the hand-off of a user the mount vouched for, with the
// onboarding options from the defaults and the query.
func TestServeHTTP(t *testing.T) {
	st := newStand(t, 0)
	h, err := New(Options{Rezi: st.client, LoginURL: "/login/", CloseOnboardingRedirect: "/home", PublicURL: public, User: alice})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, query string
		wantStatus          int
		wantOpen, wantClose string
	}{
		{"defaults", "GET", "", 302, "", "/home"},
		{"open false", "GET", "?openOnboarding=false", 302, "false", "/home"},
		{"both from the query", "GET", "?openOnboarding=true&closeOnboardingRedirect=/dashboard/education", 302, "true", "/dashboard/education"},
		{"open not a bool", "GET", "?openOnboarding=maybe", 400, "", ""},
		{"open twice", "GET", "?openOnboarding=true&openOnboarding=false", 400, "", ""},
		{"close protocol-relative", "GET", "?closeOnboardingRedirect=//evil.com", 400, "", ""},
		{"close absolute", "GET", "?closeOnboardingRedirect=https://evil.com", 400, "", ""},
		{"close backslash", "GET", "?closeOnboardingRedirect=/%5Cevil.com", 400, "", ""},
		{"close twice", "GET", "?closeOnboardingRedirect=/a&closeOnboardingRedirect=/b", 400, "", ""},
		{"POST", "POST", "", 405, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(h, tc.method, Path+tc.query)
			if w.Code != tc.wantStatus {
				t.Fatalf("%s %s%s = %d %s; want %d", tc.method, Path, tc.query, w.Code, w.Body, tc.wantStatus)
			}
			if w.Code != http.StatusFound {
				if !strings.Contains(w.Body.String(), "req-1") || w.Header().Get("Location") != "" {
					t.Errorf("%s %s%s: page without the request id, or a Location", tc.method, Path, tc.query)
				}
				return
			}
			loc, err := url.Parse(w.Header().Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			q := loc.Query()
			if loc.Scheme+"://"+loc.Host+loc.Path != "https://rms.example.com/login/" || !strings.HasPrefix(loc.RawQuery, "token=") || q.Get("token") == "" {
				t.Errorf("Location = %q; want the login URL resolved against PublicURL, token first", loc)
			}
			if q.Get("openOnboarding") != tc.wantOpen || q.Get("closeOnboardingRedirect") != tc.wantClose {
				t.Errorf("options = %q, %q; want %q, %q", q.Get("openOnboarding"), q.Get("closeOnboardingRedirect"), tc.wantOpen, tc.wantClose)
			}
			if strings.Contains(loc.RawQuery, "%2F") {
				t.Errorf("Location query %q escapes /; want it readable, as the RMS documents", loc.RawQuery)
			}
			for k, v := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"} {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q; want %q", k, got, v)
				}
			}
			if email, uid := st.rezi.LastRequest(); email != "alice@example.com" || uid != "alice-uid" {
				t.Errorf("Rezi got %q, %q; want the user from Options.User", email, uid)
			}
		})
	}
}

// TestNoUser: without a user from Options.User no token is minted.
func TestNoUser(t *testing.T) {
	st := newStand(t, 0)
	h, err := New(Options{Rezi: st.client, LoginURL: "https://rms.example.com/login/", User: nobody})
	if err != nil {
		t.Fatal(err)
	}
	if w := serve(h, "GET", Path); w.Code != http.StatusUnauthorized || st.rezi.Calls() != 0 {
		t.Errorf("GET %s without a user = %d with %d Rezi calls; want 401 and none", Path, w.Code, st.rezi.Calls())
	}
}

// limiterFunc is a Limiter from a function.
type limiterFunc func(ctx context.Context, uid string) (bool, time.Duration, error)

func (f limiterFunc) Allow(ctx context.Context, uid string) (bool, time.Duration, error) {
	return f(ctx, uid)
}

// TestLimiters: the in-process limit and a Limiter given in Options take
// one code path: 429 with Retry-After in whole seconds, at least one.
func TestLimiters(t *testing.T) {
	st := newStand(t, 0)
	tests := []struct {
		name      string
		opts      Options
		calls     int
		wantLast  int
		wantRetry string
	}{
		{"in-process, within", Options{RateLimit: 3}, 3, 302, ""},
		{"in-process, over", Options{RateLimit: 3}, 4, 429, "20"},
		{"in-process, off", Options{RateLimit: -1}, 12, 302, ""},
		{"default limit", Options{}, DefaultRateLimit + 1, 429, "6"},
		{"given limiter, a fraction rounds up", Options{Limiter: limiterFunc(func(context.Context, string) (bool, time.Duration, error) {
			return false, 1500 * time.Millisecond, nil
		})}, 1, 429, "2"},
		{"given limiter, zero wait is a second", Options{Limiter: limiterFunc(func(context.Context, string) (bool, time.Duration, error) {
			return false, 0, nil
		})}, 1, 429, "1"},
		{"given limiter replaces RateLimit", Options{RateLimit: 1, Limiter: limiterFunc(func(context.Context, string) (bool, time.Duration, error) {
			return true, 0, nil
		})}, 5, 302, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.Rezi, o.LoginURL, o.User = st.client, "https://rms.example.com/login/", alice
			h, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			var w *httptest.ResponseRecorder
			for range tc.calls {
				w = serve(h, "GET", Path)
			}
			if w.Code != tc.wantLast || w.Header().Get("Retry-After") != tc.wantRetry {
				t.Errorf("call %d = %d Retry-After %q; want %d %q", tc.calls, w.Code, w.Header().Get("Retry-After"), tc.wantLast, tc.wantRetry)
			}
		})
	}
}

// TestLimiterUnavailable: a Limiter that cannot answer gets Unavailable's
// answer, or 503 with Retry-After without one; Rezi is not asked.
func TestLimiterUnavailable(t *testing.T) {
	st := newStand(t, 0)
	down := limiterFunc(func(context.Context, string) (bool, time.Duration, error) {
		return false, 0, errors.New("redis: connection refused")
	})
	var gotErr error
	tests := []struct {
		name        string
		unavailable func(http.ResponseWriter, *http.Request, error)
		wantStatus  int
		wantRetry   string
	}{
		{"default answer", nil, 503, "5"},
		{"the mount's answer", func(w http.ResponseWriter, _ *http.Request, err error) {
			gotErr = err
			w.WriteHeader(http.StatusTeapot)
		}, http.StatusTeapot, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			h, err := New(Options{Rezi: st.client, LoginURL: "https://rms.example.com/login/", User: alice, Limiter: down,
				Unavailable: tc.unavailable, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			w := serve(h, "GET", Path)
			if w.Code != tc.wantStatus || w.Header().Get("Retry-After") != tc.wantRetry || st.rezi.Calls() != 0 {
				t.Errorf("GET %s = %d Retry-After %q, %d Rezi calls; want %d %q and none", Path, w.Code, w.Header().Get("Retry-After"), st.rezi.Calls(), tc.wantStatus, tc.wantRetry)
			}
			if strings.Contains(w.Body.String(), "redis") {
				t.Errorf("the page shows the error: %s", w.Body)
			}
			if tc.unavailable == nil && !strings.Contains(logs.String(), "request_id=req-1") {
				t.Errorf("log %q; want the failure with the request id", logs.String())
			}
		})
	}
	if gotErr == nil {
		t.Error("Unavailable was not given the Limiter's error")
	}
}

// TestReziFailures: Rezi's failures are 502, its slowness 504, each a
// page with the request id and a log line, never the error text.
func TestReziFailures(t *testing.T) {
	tests := []struct {
		name    string
		fault   demo.ReziFault
		timeout time.Duration
		want    int
	}{
		{"server error", demo.ReziStatus500, 0, 502},
		{"unauthorized", demo.ReziStatus401, 0, 502},
		{"missing token", demo.ReziMissingToken, 0, 502},
		{"connection reset", demo.ReziReset, 0, 502},
		{"timeout", demo.ReziSlow, 200 * time.Millisecond, 504},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newStand(t, tc.timeout)
			st.rezi.SetFault(tc.fault)
			var logs bytes.Buffer
			h, err := New(Options{Rezi: st.client, LoginURL: "https://rms.example.com/login/", User: alice,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			w := serve(h, "GET", Path)
			if w.Code != tc.want || !strings.Contains(w.Body.String(), "req-1") || w.Header().Get("Location") != "" {
				t.Errorf("GET %s = %d (request id in page: %v); want %d with the request id", Path, w.Code, strings.Contains(w.Body.String(), "req-1"), tc.want)
			}
			if !strings.Contains(logs.String(), "request_id=req-1") {
				t.Errorf("log %q; want a line with the request id", logs.String())
			}
		})
	}
}

// TestNew: New refuses what it cannot serve, naming each field.
func TestNew(t *testing.T) {
	st := newStand(t, 0)
	tests := []struct {
		name string
		opts Options
		want []string // "Field: message start", in order
	}{
		{"valid", Options{Rezi: st.client, LoginURL: "/login/", PublicURL: public, User: alice}, nil},
		{"absolute login URL needs no PublicURL", Options{Rezi: st.client, LoginURL: "https://rms.example.com/login/?tenant=a", User: alice}, nil},
		{"nothing", Options{}, []string{"Rezi: required", "User: required"}},
		{"no login URL", Options{Rezi: st.client, User: alice}, []string{"LoginURL: required when Rezi is set"}},
		{"local login URL without PublicURL", Options{Rezi: st.client, LoginURL: "/login/", User: alice}, []string{"PublicURL: required when LoginURL is a local path"}},
		{"relative PublicURL", Options{Rezi: st.client, LoginURL: "/login/", PublicURL: &url.URL{Path: "/x"}, User: alice}, []string{"PublicURL: must be an absolute"}},
		{"login URL scheme", Options{Rezi: st.client, LoginURL: "javascript:alert(1)", User: alice}, []string{"LoginURL: must be an absolute http or https URL, or a local path"}},
		{"login URL protocol-relative", Options{Rezi: st.client, LoginURL: "//evil.com/login", User: alice}, []string{"LoginURL: must be an absolute"}},
		{"login URL with user", Options{Rezi: st.client, LoginURL: "https://u@rms.example.com/", User: alice}, []string{"LoginURL: must not contain a user name"}},
		{"login URL with fragment", Options{Rezi: st.client, LoginURL: "https://rms.example.com/#x", User: alice}, []string{"LoginURL: must not have a fragment"}},
		{"close redirect", Options{Rezi: st.client, LoginURL: "https://rms.example.com/", CloseOnboardingRedirect: "//evil.com", User: alice}, []string{"CloseOnboardingRedirect: must be a local path"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			fes := optionerr.Fields(err)
			if len(fes) != len(tc.want) {
				t.Fatalf("New = %v; want %d field errors %q", err, len(tc.want), tc.want)
			}
			for i, fe := range fes {
				if fe.Pkg != "handoff" || !strings.HasPrefix(fe.Field+": "+fe.Msg, tc.want[i]) {
					t.Errorf("New error %d = %v; want handoff: %s…", i, fe, tc.want[i])
				}
			}
		})
	}
}

// TestNewLimiter: zero RateLimit is the default in-process limit, a
// negative one none, and a given Limiter is used as it is.
func TestNewLimiter(t *testing.T) {
	st := newStand(t, 0)
	given := limiterFunc(func(context.Context, string) (bool, time.Duration, error) { return true, 0, nil })
	tests := []struct {
		name      string
		rateLimit int
		limiter   Limiter
		wantPer   int // perMin of the in-process limiter; 0 for none
		wantGiven bool
	}{
		{"zero is the default", 0, nil, DefaultRateLimit, false},
		{"a limit", 7, nil, 7, false},
		{"negative is none", -1, nil, 0, false},
		{"given", 7, given, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := New(Options{Rezi: st.client, LoginURL: "https://rms.example.com/", User: alice, RateLimit: tc.rateLimit, Limiter: tc.limiter})
			if err != nil {
				t.Fatal(err)
			}
			l, inProcess := h.limiter.(*limiter)
			_, isGiven := h.limiter.(limiterFunc)
			gotPer := 0
			if inProcess {
				gotPer = l.perMin
			}
			if gotPer != tc.wantPer || isGiven != tc.wantGiven {
				t.Errorf("New(RateLimit %d) = in-process limit %d, given limiter %v; want %d, %v", tc.rateLimit, gotPer, isGiven, tc.wantPer, tc.wantGiven)
			}
		})
	}
}
