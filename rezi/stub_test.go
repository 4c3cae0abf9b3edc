package rezi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rezigate/rezigate/internal/testsupport/lockedbuf"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testKey is recognisable in any output it leaks into.
const testKey = "sk_test_PRIVATE_KEY_must_not_leak_7f3a"

// makeToken returns a JWT-shaped token whose payload holds claims.
func makeToken(claims string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." +
		enc.EncodeToString([]byte(claims)) + "." + enc.EncodeToString([]byte("signature-bytes"))
}

// tokenExpiringIn returns a token whose exp is d from now.
func tokenExpiringIn(d time.Duration) string {
	return makeToken(fmt.Sprintf(`{"uid":"x","exp":%d}`, time.Now().Add(d).Unix()))
}

// stub is a Rezi stand-in that checks every request the way the real API
// expects it and answers with the handler a test gives it.
type stub struct {
	t      *testing.T
	srv    *httptest.Server
	calls  atomic.Int32
	mu     sync.Mutex
	bodies []map[string]string
	// answer serves the n-th (1-based) request once it has been checked.
	answer func(w http.ResponseWriter, r *http.Request, n int)
}

func newStub(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int)) *stub {
	t.Helper()
	s := &stub{t: t, answer: answer}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stub) serve(w http.ResponseWriter, r *http.Request) {
	n := int(s.calls.Add(1))
	if r.Method != http.MethodPost || r.URL.Path != "/v1/user/token" {
		s.t.Errorf("request %s %s; want POST /v1/user/token", r.Method, r.URL.Path)
	}
	if got, want := r.Header.Get("Authorization"), "Bearer "+testKey; got != want {
		s.t.Errorf("Authorization header = %q; want %q", got, want)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		s.t.Errorf("Content-Type = %q; want %q", got, "application/json")
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	var body struct {
		Email *string `json:"email"`
		UID   *string `json:"uid"`
	}
	if err := dec.Decode(&body); err != nil || body.Email == nil || body.UID == nil || *body.Email == "" || *body.UID == "" {
		s.t.Errorf("request body does not decode to {email, uid}: err=%v", err)
	} else {
		s.mu.Lock()
		s.bodies = append(s.bodies, map[string]string{"email": *body.Email, "uid": *body.UID})
		s.mu.Unlock()
	}
	s.answer(w, r, n)
}

func (s *stub) url() string { return s.srv.URL + "/v1" }

// memAPIURL is the APIURL of a client that reaches a stub in memory
// (memClient); nothing listens there.
const memAPIURL = "http://127.0.0.1:1/v1"

// newMemStub returns a stub without a server, for tests inside a
// testing/synctest bubble, where a goroutine waiting on a real connection
// never counts as blocked. Reach it with memClient.
func newMemStub(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int)) *stub {
	return &stub{t: t, answer: answer}
}

// memClient serves each request with s in the calling goroutine. Like a
// real transport, it fails a request whose context ended meanwhile.
func (s *stub) memClient() *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		s.serve(rec, r)
		if err := r.Context().Err(); err != nil {
			return nil, err
		}
		return rec.Result(), nil
	})}
}

// succeed answers every request with token.
func succeed(token string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","userID":"abcdefg","token":%q}`, token)
	}
}

// resetConn drops the connection with a TCP RST, as a crashing load
// balancer would.
func resetConn(t *testing.T, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// observations records Observe calls.
type observations struct {
	mu       sync.Mutex
	outcomes []string
}

func (o *observations) observe(outcome string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outcomes = append(o.outcomes, outcome)
}

func (o *observations) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.outcomes...)
}

// newTestClient builds a client for apiURL with a debug logger writing to
// the returned buffer; opts fills in anything else.
func newTestClient(t *testing.T, apiURL string, opts Options) (*Client, *lockedbuf.Buffer) {
	t.Helper()
	logs := &lockedbuf.Buffer{}
	opts.APIURL = apiURL
	opts.PrivateKey = testKey
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New(%v) = %v", opts, err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c, logs
}
