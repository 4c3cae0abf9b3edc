package rezi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/internal/testsupport/freeport"
)

func TestUserTokenSuccess(t *testing.T) {
	tok := tokenExpiringIn(time.Hour)
	s := newStub(t, succeed(tok))
	var obs observations
	c, logs := newTestClient(t, s.url(), Options{Observe: obs.observe})

	got, err := c.UserToken(context.Background(), "ada@example.com", "u1")
	if err != nil || got != tok {
		t.Fatalf("UserToken(%q, %q) = %q, %v; want %q, nil", "ada@example.com", "u1", got, err, tok)
	}
	s.mu.Lock()
	bodies := s.bodies
	s.mu.Unlock()
	if len(bodies) != 1 || bodies[0]["email"] != "ada@example.com" || bodies[0]["uid"] != "u1" {
		t.Errorf("request bodies = %v; want one {email: ada@example.com, uid: u1}", bodies)
	}
	if got, want := obs.list(), []string{"ok"}; !slices.Equal(got, want) {
		t.Errorf("Observe outcomes = %q; want %q", got, want)
	}
	if strings.Contains(logs.String(), tok) {
		t.Errorf("log output contains the token: %s", logs)
	}
}

func TestUserTokenFailures(t *testing.T) {
	// bodyMarker is in every failing body: it must not reach an error.
	const bodyMarker = "BODY-MARKER-echo-" + testKey
	port, err := freeport.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	refusedURL := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/v1"

	status := func(code int) func(http.ResponseWriter, *http.Request, int) {
		return func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"status":"error","message":%q}`, bodyMarker)
		}
	}
	body := func(b string) func(http.ResponseWriter, *http.Request, int) {
		return func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, b)
		}
	}
	tests := []struct {
		name        string
		answer      func(http.ResponseWriter, *http.Request, int) // nil: connection refused
		timeout     time.Duration
		wantStatus  int // APIError.StatusCode, 0 for none
		wantTimeout bool
		wantOutcome string
		wantCalls   int32
	}{
		{name: "400", answer: status(400), wantStatus: 400, wantOutcome: "api_error", wantCalls: 1},
		{name: "401", answer: status(401), wantStatus: 401, wantOutcome: "api_error", wantCalls: 1},
		{name: "403", answer: status(403), wantStatus: 403, wantOutcome: "api_error", wantCalls: 1},
		{name: "429", answer: status(429), wantStatus: 429, wantOutcome: "api_error", wantCalls: 1},
		{name: "500", answer: status(500), wantStatus: 500, wantOutcome: "api_error", wantCalls: 1},
		{name: "503 twice", answer: status(503), wantStatus: 503, wantOutcome: "api_error", wantCalls: 2},
		{name: "redirect not followed", answer: func(w http.ResponseWriter, r *http.Request, _ int) {
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		}, wantStatus: 307, wantOutcome: "api_error", wantCalls: 1},
		{name: "status error with 200", answer: body(`{"status":"error","token":"` + bodyMarker + `"}`), wantStatus: 200, wantOutcome: "api_error", wantCalls: 1},
		{name: "missing status", answer: body(`{"token":"` + bodyMarker + `"}`), wantOutcome: "bad_response", wantCalls: 1},
		{name: "missing token", answer: body(`{"status":"success","userID":"` + bodyMarker + `"}`), wantOutcome: "bad_response", wantCalls: 1},
		{name: "empty token", answer: body(`{"status":"success","token":""}`), wantOutcome: "bad_response", wantCalls: 1},
		{name: "token with newline", answer: body(`{"status":"success","token":"a\nb` + bodyMarker + `"}`), wantOutcome: "bad_response", wantCalls: 1},
		{name: "malformed JSON", answer: body(`{"status":"success","token":"` + bodyMarker), wantOutcome: "bad_response", wantCalls: 1},
		{name: "HTML", answer: body(`<html>` + bodyMarker + `</html>`), wantOutcome: "bad_response", wantCalls: 1},
		{name: "oversize body", answer: body(`{"status":"success","token":"` + bodyMarker + strings.Repeat("a", 70<<10) + `"}`), wantOutcome: "bad_response", wantCalls: 1},
		{name: "oversize chunked body", answer: func(w http.ResponseWriter, _ *http.Request, _ int) {
			fmt.Fprint(w, `{"status":"success","token":"`+bodyMarker)
			for range 80 {
				fmt.Fprint(w, strings.Repeat("a", 1<<10))
				http.NewResponseController(w).Flush()
			}
			fmt.Fprint(w, `"}`)
		}, wantOutcome: "bad_response", wantCalls: 1},
		{name: "timeout", timeout: 150 * time.Millisecond, answer: func(_ http.ResponseWriter, r *http.Request, _ int) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, wantTimeout: true, wantOutcome: "timeout", wantCalls: 1},
		{name: "connection reset twice", answer: func(w http.ResponseWriter, _ *http.Request, _ int) {
			resetConn(t, w)
		}, wantOutcome: "network_error", wantCalls: 2},
		{name: "connection refused", wantOutcome: "network_error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			apiURL := refusedURL
			var s *stub
			if tc.answer != nil {
				s = newStub(t, tc.answer)
				apiURL = s.url()
			}
			var obs observations
			c, logs := newTestClient(t, apiURL, Options{Timeout: tc.timeout, Observe: obs.observe})

			got, err := c.UserToken(context.Background(), "ada@example.com", "u1")
			if err == nil {
				t.Fatalf("UserToken() = %q, nil; want an error", got)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "rezi: request user token: ") {
				t.Errorf("UserToken() error = %q; want prefix %q", msg, "rezi: request user token: ")
			}
			for _, secret := range []string{testKey, bodyMarker, "BODY-MARKER"} {
				if strings.Contains(msg, secret) {
					t.Errorf("UserToken() error = %q; contains %q", msg, secret)
				}
				if strings.Contains(logs.String(), secret) {
					t.Errorf("log output contains %q: %s", secret, logs)
				}
			}
			var apiErr *APIError
			gotStatus := 0
			if errors.As(err, &apiErr) {
				gotStatus = apiErr.StatusCode
			}
			if gotStatus != tc.wantStatus {
				t.Errorf("UserToken() error = %v, APIError.StatusCode %d; want %d", err, gotStatus, tc.wantStatus)
			}
			if got := errors.Is(err, ErrTimeout); got != tc.wantTimeout {
				t.Errorf("errors.Is(%v, ErrTimeout) = %v; want %v", err, got, tc.wantTimeout)
			}
			if got, want := obs.list(), []string{tc.wantOutcome}; !slices.Equal(got, want) {
				t.Errorf("Observe outcomes = %q; want %q", got, want)
			}
			if s != nil {
				if got := s.calls.Load(); got != tc.wantCalls {
					t.Errorf("requests made = %d; want %d", got, tc.wantCalls)
				}
			}
		})
	}
}

func TestUserTokenRetry(t *testing.T) {
	tok := tokenExpiringIn(time.Hour)
	failFirst := func(fail func(http.ResponseWriter)) func(http.ResponseWriter, *http.Request, int) {
		return func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				fail(w)
				return
			}
			succeed(tok)(w, r, n)
		}
	}
	code := func(c int) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) { w.WriteHeader(c) }
	}
	tests := []struct {
		name      string
		fail      func(http.ResponseWriter)
		timeout   time.Duration
		wantOK    bool
		wantCalls int32
	}{
		{name: "502", fail: code(502), wantOK: true, wantCalls: 2},
		{name: "503", fail: code(503), wantOK: true, wantCalls: 2},
		{name: "504", fail: code(504), wantOK: true, wantCalls: 2},
		{name: "connection reset", fail: func(w http.ResponseWriter) { resetConn(t, w) }, wantOK: true, wantCalls: 2},
		{name: "400", fail: code(400), wantCalls: 1},
		{name: "401", fail: code(401), wantCalls: 1},
		{name: "404", fail: code(404), wantCalls: 1},
		{name: "500", fail: code(500), wantCalls: 1},
		{name: "503 without time left", fail: code(503), timeout: 300 * time.Millisecond, wantCalls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStub(t, failFirst(tc.fail))
			c, _ := newTestClient(t, s.url(), Options{Timeout: tc.timeout})
			got, err := c.UserToken(context.Background(), "ada@example.com", "u1")
			if (err == nil) != tc.wantOK || (tc.wantOK && got != tok) {
				t.Errorf("UserToken() = %q, %v; want ok %v", got, err, tc.wantOK)
			}
			if got := s.calls.Load(); got != tc.wantCalls {
				t.Errorf("requests made = %d; want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestUserTokenRetryPause(t *testing.T) {
	c, err := New(Options{PrivateKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if d := c.retryPause(); d < 100*time.Millisecond || d >= 300*time.Millisecond {
			t.Fatalf("retryPause() = %v; want within [100ms, 300ms)", d)
		}
	}
}

func TestUserTokenCache(t *testing.T) {
	tok := tokenExpiringIn(time.Hour)
	s := newStub(t, succeed(tok))
	var obs observations
	c, _ := newTestClient(t, s.url(), Options{Observe: obs.observe})
	ctx := context.Background()

	calls := []struct{ email, uid string }{
		{"ada@example.com", "u1"},
		{"ada@example.com", "u1"}, // hit
		{"ada@example.com", "u2"}, // other uid: miss
		// Keys that a naive "email|uid" join would confuse.
		{"a|b", "c"},
		{"a", "b|c"},
		{"a|b", "c"}, // hit
	}
	for _, call := range calls {
		if got, err := c.UserToken(ctx, call.email, call.uid); err != nil || got != tok {
			t.Fatalf("UserToken(%q, %q) = %q, %v; want the token", call.email, call.uid, got, err)
		}
	}
	if got, want := s.calls.Load(), int32(4); got != want {
		t.Errorf("requests made = %d; want %d", got, want)
	}
	want := []string{"ok", "cache_hit", "ok", "ok", "ok", "cache_hit"}
	if got := obs.list(); !slices.Equal(got, want) {
		t.Errorf("Observe outcomes = %q; want %q", got, want)
	}
}

func TestUserTokenCacheDisabled(t *testing.T) {
	s := newStub(t, succeed(tokenExpiringIn(time.Hour)))
	c, _ := newTestClient(t, s.url(), Options{CacheSize: -1})
	for range 2 {
		if _, err := c.UserToken(context.Background(), "ada@example.com", "u1"); err != nil {
			t.Fatalf("UserToken() = %v", err)
		}
	}
	if got := s.calls.Load(); got != 2 {
		t.Errorf("requests made with CacheSize -1 = %d; want 2", got)
	}
}

func TestUserTokenCacheExpiry(t *testing.T) {
	t.Run("exp inside the margin is not cached", func(t *testing.T) {
		s := newStub(t, succeed(tokenExpiringIn(4*time.Minute)))
		c, _ := newTestClient(t, s.url(), Options{CacheMargin: 5 * time.Minute})
		for range 2 {
			if _, err := c.UserToken(context.Background(), "ada@example.com", "u1"); err != nil {
				t.Fatalf("UserToken() = %v", err)
			}
		}
		if got := s.calls.Load(); got != 2 {
			t.Errorf("requests made for a token expiring within the margin = %d; want 2", got)
		}
	})

	// The rest moves a fake clock across exp - margin.
	base := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name      string
		token     string
		stillHit  time.Duration // a call this long after the fetch is a hit
		refetchAt time.Duration // a call this long after the fetch asks Rezi again
	}{
		{"exp minus margin", makeToken(fmt.Sprintf(`{"exp":%d}`, base.Add(20*time.Minute).Unix())), 14 * time.Minute, 15 * time.Minute},
		{"exp capped at one hour", makeToken(fmt.Sprintf(`{"exp":%d}`, base.Add(5*time.Hour).Unix())), 54 * time.Minute, 55 * time.Minute},
		{"no exp: ten minutes", makeToken(`{"uid":"x"}`), 9 * time.Minute, 10 * time.Minute},
		{"opaque token: ten minutes", "not-a-jwt", 9 * time.Minute, 10 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStub(t, succeed(tc.token))
			c, _ := newTestClient(t, s.url(), Options{})
			now := base
			c.now = func() time.Time { return now }
			ctx := context.Background()
			for _, step := range []struct {
				at        time.Duration
				wantCalls int32
			}{{0, 1}, {tc.stillHit, 1}, {tc.refetchAt, 2}} {
				now = base.Add(step.at)
				if _, err := c.UserToken(ctx, "ada@example.com", "u1"); err != nil {
					t.Fatalf("UserToken() at +%v = %v", step.at, err)
				}
				if got := s.calls.Load(); got != step.wantCalls {
					t.Errorf("requests made by +%v = %d; want %d", step.at, got, step.wantCalls)
				}
			}
		})
	}
}

func TestUserTokenLRU(t *testing.T) {
	s := newStub(t, succeed(tokenExpiringIn(time.Hour)))
	c, _ := newTestClient(t, s.url(), Options{CacheSize: 2})
	ctx := context.Background()
	steps := []struct {
		uid       string
		wantCalls int32
	}{
		{"a", 1}, {"b", 2}, {"a", 2}, // a is now the most recently used
		{"c", 3},                     // evicts b, the least recently used
		{"a", 3}, {"c", 3}, {"b", 4}, // b was evicted; its return evicts a
		{"a", 5},
	}
	for i, st := range steps {
		if _, err := c.UserToken(ctx, "x@example.com", st.uid); err != nil {
			t.Fatalf("step %d: UserToken(%q) = %v", i, st.uid, err)
		}
		if got := s.calls.Load(); got != st.wantCalls {
			t.Errorf("step %d: requests after UserToken(%q) = %d; want %d", i, st.uid, got, st.wantCalls)
		}
	}
	if got := c.cache.len(); got != 2 {
		t.Errorf("cache.len() = %d; want 2 (CacheSize)", got)
	}
}

// TestUserTokenTimeout: a Rezi that never answers costs the caller the
// Client's Timeout, not more. The bubble's clock makes that exact.
func TestUserTokenTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMemStub(t, func(_ http.ResponseWriter, r *http.Request, _ int) {
			<-r.Context().Done()
		})
		var obs observations
		const timeout = 150 * time.Millisecond
		c, _ := newTestClient(t, memAPIURL, Options{Timeout: timeout, HTTPClient: s.memClient(), Observe: obs.observe})
		start := time.Now()
		_, err := c.UserToken(context.Background(), "ada@example.com", "u1")
		if elapsed := time.Since(start); elapsed != timeout {
			t.Errorf("UserToken() returned after %v with Timeout %v; want exactly the timeout", elapsed, timeout)
		}
		if !errors.Is(err, ErrTimeout) {
			t.Errorf("UserToken() = %v; want an error matching ErrTimeout", err)
		}
		if got := obs.list(); !slices.Equal(got, []string{"timeout"}) {
			t.Errorf("Observe outcomes = %q; want one %q", got, "timeout")
		}
	})
}

// TestUserTokenSingleflight: callers that arrive while a request for the
// same user is in flight share it. The stub holds the request until every
// caller waits on it (synctest.Wait), so no caller can come late.
func TestUserTokenSingleflight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tok := tokenExpiringIn(time.Hour)
		release := make(chan struct{})
		s := newMemStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
			<-release
			succeed(tok)(w, r, n)
		})
		var obs observations
		c, _ := newTestClient(t, memAPIURL, Options{HTTPClient: s.memClient(), Observe: obs.observe})

		const n = 10
		errs := make(chan error, n)
		for range n {
			go func() {
				got, err := c.UserToken(context.Background(), "new@example.com", "u1")
				if err == nil && got != tok {
					err = fmt.Errorf("got token %q; want %q", got, tok)
				}
				errs <- err
			}()
		}
		synctest.Wait() // all n callers wait; the one request waits on release
		if got := s.calls.Load(); got != 1 {
			t.Errorf("requests in flight for %d concurrent calls = %d; want 1", n, got)
		}
		close(release)
		for range n {
			if err := <-errs; err != nil {
				t.Errorf("concurrent UserToken() = %v", err)
			}
		}
		if got := s.calls.Load(); got != 1 {
			t.Errorf("requests made by %d concurrent calls = %d; want 1", n, got)
		}
		if got := obs.list(); !slices.Equal(got, []string{"ok"}) {
			t.Errorf("Observe outcomes = %q; want one %q", got, "ok")
		}
	})
}

// TestUserTokenCallerGivesUp: the caller that started the shared request
// returns when its own context ends, at its own deadline, and the request
// goes on for a caller that waits.
func TestUserTokenCallerGivesUp(t *testing.T) {
	const patience = 30 * time.Millisecond
	tests := []struct {
		name        string
		ctx         func() (context.Context, context.CancelFunc)
		wantTimeout bool
	}{
		{"cancelled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(patience, cancel)
			return ctx, cancel
		}, false},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), patience)
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tok := tokenExpiringIn(time.Hour)
				release := make(chan struct{})
				s := newMemStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
					<-release
					succeed(tok)(w, r, n)
				})
				c, _ := newTestClient(t, memAPIURL, Options{Timeout: 5 * time.Second, HTTPClient: s.memClient()})

				ctx, cancel := tc.ctx()
				defer cancel()
				start := time.Now()
				impatient := make(chan error, 1)
				go func() {
					_, err := c.UserToken(ctx, "ada@example.com", "u1")
					impatient <- err
				}()
				synctest.Wait() // the impatient caller has started the request
				patient := make(chan error, 1)
				go func() {
					got, err := c.UserToken(context.Background(), "ada@example.com", "u1")
					if err == nil && got != tok {
						err = fmt.Errorf("got token %q; want %q", got, tok)
					}
					patient <- err
				}()
				synctest.Wait() // and the patient one has joined it

				err := <-impatient
				if elapsed := time.Since(start); err == nil || elapsed != patience {
					t.Errorf("UserToken() = %v after %v; want an error after exactly %v", err, elapsed, patience)
				}
				if got := errors.Is(err, ErrTimeout); got != tc.wantTimeout {
					t.Errorf("errors.Is(%v, ErrTimeout) = %v; want %v", err, got, tc.wantTimeout)
				}
				synctest.Wait()
				select {
				case err := <-patient:
					t.Fatalf("patient UserToken() = %v before Rezi answered; want it still waiting", err)
				default:
				}
				close(release)
				if err := <-patient; err != nil {
					t.Errorf("patient UserToken() = %v; want the token despite the first caller giving up", err)
				}
				if got := s.calls.Load(); got != 1 {
					t.Errorf("requests made = %d; want 1 shared request", got)
				}
			})
		})
	}
}

func TestUserTokenBadInput(t *testing.T) {
	s := newStub(t, succeed("tok"))
	c, _ := newTestClient(t, s.url(), Options{})
	long := strings.Repeat("x", 1025)
	for _, in := range []struct{ email, uid string }{{"", "u"}, {"a@b", ""}, {long, "u"}, {"a@b", long}} {
		if _, err := c.UserToken(context.Background(), in.email, in.uid); err == nil {
			t.Errorf("UserToken(%.10q, %.10q) = nil error; want an error", in.email, in.uid)
		}
	}
	if got := s.calls.Load(); got != 0 {
		t.Errorf("requests made for bad input = %d; want 0", got)
	}
}

func TestUserTokenLogsNoSecrets(t *testing.T) {
	tok := tokenExpiringIn(time.Hour)
	s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // forces a retry log line
			return
		}
		succeed(tok)(w, r, n)
	})
	c, logs := newTestClient(t, s.url(), Options{})
	ctx := requestid.NewContext(context.Background(), "REQ123")
	if _, err := c.UserToken(ctx, "ada@example.com", "u1"); err != nil {
		t.Fatalf("UserToken() = %v", err)
	}
	out := logs.String()
	for _, want := range []string{"retrying", "request_id=REQ123", "user token issued"} {
		if !strings.Contains(out, want) {
			t.Errorf("log output = %q; want it to contain %q", out, want)
		}
	}
	for _, secret := range []string{testKey, tok, "ada@example.com"} {
		if strings.Contains(out, secret) {
			t.Errorf("log output contains %q: %s", secret, out)
		}
	}
	for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v", c, c, c)} {
		if strings.Contains(s, testKey) {
			t.Errorf("formatted Client = %q; contains the private key", s)
		}
	}
}

func TestAPIErrorText(t *testing.T) {
	e := newAPIError(401, statusReason(401))
	if got, want := e.Error(), "api answered 401 Unauthorized: private key rejected"; got != want {
		t.Errorf("APIError.Error() = %q; want %q", got, want)
	}
	if e.StatusCode != 401 || e.Status != "401 Unauthorized" {
		t.Errorf("newAPIError(401) = %+v; want StatusCode 401, Status %q", e, "401 Unauthorized")
	}
}

func BenchmarkUserTokenCacheHit(b *testing.B) {
	tok := tokenExpiringIn(time.Hour)
	c, err := New(Options{PrivateKey: testKey, HTTPClient: &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("no request expected on a cache hit")
	})}, Observe: func(string, time.Duration) {}})
	if err != nil {
		b.Fatal(err)
	}
	c.cache.put(userKey{"ada@example.com", "u1"}, tok, time.Now().Add(time.Hour))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if got, err := c.UserToken(ctx, "ada@example.com", "u1"); err != nil || got != tok {
			b.Fatalf("UserToken() = %q, %v", got, err)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
