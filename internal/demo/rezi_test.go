package demo

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/testsupport/lockedbuf"
)

const testReziKey = "rezi-test-private-key-0123456789"

type reziEnv struct {
	z      *Rezi
	url    string // token endpoint
	client *http.Client
	logs   *lockedbuf.Buffer
}

func newReziEnv(t *testing.T, opts ReziOptions) *reziEnv {
	t.Helper()
	logs := &lockedbuf.Buffer{}
	opts.PrivateKey = testReziKey
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	z, err := NewRezi(opts)
	if err != nil {
		t.Fatalf("NewRezi() = %v; want nil error", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/user/token", z)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &reziEnv{z: z, url: srv.URL + "/v1/user/token", client: &http.Client{Transport: tr}, logs: logs}
}

// call posts body with the given headers; nil headers mean correct ones.
func (e *reziEnv) call(t *testing.T, method, body string, header http.Header) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequest(method, e.url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if header == nil {
		header = http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + testReziKey}}
	}
	req.Header = header
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	return resp, readBody(t, resp), nil
}

const goodBody = `{"email":"alice@example.com","uid":"0123abcd"}`

func TestNewReziValidation(t *testing.T) {
	tests := []struct {
		name string
		opts ReziOptions
		ok   bool
	}{
		{"valid", ReziOptions{PrivateKey: "k"}, true},
		{"no key", ReziOptions{}, false},
		{"negative delay", ReziOptions{PrivateKey: "k", FirstCallDelay: -1}, false},
		{"negative ttl", ReziOptions{PrivateKey: "k", TokenTTL: -1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRezi(tc.opts)
			if (err == nil) != tc.ok {
				t.Errorf("NewRezi(%v) = %v; want ok %v", tc.opts, err, tc.ok)
			}
		})
	}
}

func TestReziChecks(t *testing.T) {
	e := newReziEnv(t, ReziOptions{})
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	ct, auth := "Content-Type", "Authorization"
	bearer := "Bearer " + testReziKey
	tests := []struct {
		name       string
		method     string
		body       string
		header     http.Header
		wantStatus int
		wantBody   string // exact body; "" skips the check
	}{
		{"ok", "POST", goodBody, nil, 200, ""},
		{"json with charset", "POST", goodBody, hdr(ct, "application/json; charset=utf-8", auth, bearer), 200, ""},
		{"GET", "GET", "", nil, 405, ""},
		{"PUT", "PUT", goodBody, nil, 405, ""},
		{"no content type", "POST", goodBody, hdr(auth, bearer), 415, ""},
		{"form content type", "POST", goodBody, hdr(ct, "application/x-www-form-urlencoded", auth, bearer), 415, ""},
		{"no authorization", "POST", goodBody, hdr(ct, "application/json"), 401, `{"status":"error","message":"unauthorized"}`},
		{"wrong key", "POST", goodBody, hdr(ct, "application/json", auth, "Bearer wrong"), 401, `{"status":"error","message":"unauthorized"}`},
		{"key without Bearer", "POST", goodBody, hdr(ct, "application/json", auth, testReziKey), 401, ""},
		{"lower-case bearer", "POST", goodBody, hdr(ct, "application/json", auth, "bearer "+testReziKey), 401, ""},
		{"key with suffix", "POST", goodBody, hdr(ct, "application/json", auth, bearer+"x"), 401, ""},
		{"vendor's Authentication header", "POST", goodBody, hdr(ct, "application/json", "Authentication", bearer), 401, ""},
		{"empty body", "POST", "", nil, 400, ""},
		{"not json", "POST", "email=a&uid=b", nil, 400, ""},
		{"missing uid", "POST", `{"email":"a@example.com"}`, nil, 400, ""},
		{"missing email", "POST", `{"uid":"u"}`, nil, 400, ""},
		{"empty uid", "POST", `{"email":"a@example.com","uid":""}`, nil, 400, ""},
		{"numeric uid", "POST", `{"email":"a@example.com","uid":12}`, nil, 400, ""},
		{"null email", "POST", `{"email":null,"uid":"u"}`, nil, 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.z.Calls()
			resp, body, err := e.call(t, tc.method, tc.body, tc.header)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("%s %s (%s) = %d %s; want %d", tc.method, e.url, tc.name, resp.StatusCode, body, tc.wantStatus)
			}
			if tc.wantBody != "" && body != tc.wantBody {
				t.Errorf("%s (%s) body = %q; want %q", e.url, tc.name, body, tc.wantBody)
			}
			if got := e.z.Calls(); got != before+1 {
				t.Errorf("Calls() after %s = %d; want %d", tc.name, got, before+1)
			}
			if strings.Contains(body, testReziKey) {
				t.Errorf("response (%s) contains the private key", tc.name)
			}
		})
	}
	if strings.Contains(e.logs.String(), testReziKey) {
		t.Errorf("Rezi log contains the private key")
	}
}

func TestReziOtherPath(t *testing.T) {
	z, err := NewRezi(ReziOptions{PrivateKey: testReziKey})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/user/tokens", strings.NewReader(goodBody))
	w := httptest.NewRecorder()
	z.ServeHTTP(w, req)
	if w.Code != http.StatusNotFound || z.Calls() != 0 {
		t.Errorf("POST /v1/user/tokens = %d, Calls() = %d; want 404 and 0", w.Code, z.Calls())
	}
}

type reziReply struct {
	Status  string `json:"status"`
	UserID  string `json:"userID"`
	Token   string `json:"token"`
	Message string `json:"message"`
}

func TestReziToken(t *testing.T) {
	e := newReziEnv(t, ReziOptions{TokenTTL: 10 * time.Minute})
	start := time.Now().Add(-time.Second)
	resp, body, err := e.call(t, "POST", goodBody, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("POST = %d %q; want 200 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var r reziReply
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if r.Status != "success" || r.UserID == "" || r.Token == "" {
		t.Fatalf("reply = %+v; want success, a userID and a token", r)
	}
	parts := strings.Split(r.Token, ".")
	if len(parts) != 3 || parts[2] != "demo-token-not-valid-anywhere" {
		t.Fatalf("token = %q; want three parts ending in demo-token-not-valid-anywhere", r.Token)
	}
	hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || string(hdr) != `{"alg":"none","typ":"JWT"}` {
		t.Errorf("token header = %q, %v; want {\"alg\":\"none\",\"typ\":\"JWT\"}", hdr, err)
	}
	claims := unverifiedClaims(t, r.Token)
	for k, want := range map[string]any{"iss": "rezi-demo", "uid": "0123abcd", "email": "alice@example.com", "demo": true} {
		if claims[k] != want {
			t.Errorf("token claim %s = %v; want %v", k, claims[k], want)
		}
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	if iat < float64(start.Unix()) || exp-iat != (10*time.Minute).Seconds() {
		t.Errorf("token iat, exp = %v, %v; want now and now+600", iat, exp)
	}
	if email, uid := e.z.LastRequest(); email != "alice@example.com" || uid != "0123abcd" {
		t.Errorf("LastRequest() = %q, %q; want alice@example.com, 0123abcd", email, uid)
	}

	// The same uid is the same vendor user; another uid is another.
	_, body2, _ := e.call(t, "POST", goodBody, nil)
	_, body3, _ := e.call(t, "POST", `{"email":"bob@example.com","uid":"ffff"}`, nil)
	var r2, r3 reziReply
	_ = json.Unmarshal([]byte(body2), &r2)
	_ = json.Unmarshal([]byte(body3), &r3)
	if r2.UserID != r.UserID || r3.UserID == r.UserID {
		t.Errorf("userIDs = %q, %q, %q; want the first two equal and the third different", r.UserID, r2.UserID, r3.UserID)
	}
}

func TestReziDefaultTTL(t *testing.T) {
	e := newReziEnv(t, ReziOptions{})
	_, body, err := e.call(t, "POST", goodBody, nil)
	if err != nil {
		t.Fatal(err)
	}
	var r reziReply
	_ = json.Unmarshal([]byte(body), &r)
	c := unverifiedClaims(t, r.Token)
	if got := c["exp"].(float64) - c["iat"].(float64); got != (55 * time.Minute).Seconds() {
		t.Errorf("default token lifetime = %vs; want %vs", got, (55 * time.Minute).Seconds())
	}
}

func TestReziFaults(t *testing.T) {
	e := newReziEnv(t, ReziOptions{})
	tests := []struct {
		fault      ReziFault
		wantStatus int    // 0: no response at all
		wantBody   string // exact; "*" means any
		wantErr    func(error) bool
	}{
		{ReziOK, 200, "*", nil},
		{ReziStatus500, 500, `{"status":"error"}`, nil},
		{ReziStatus503, 503, "", nil},
		{ReziStatus401, 401, `{"status":"error","message":"unauthorized"}`, nil},
		{ReziStatusError, 200, `{"status":"error","message":"the user token could not be created"}`, nil},
		{ReziMissingToken, 200, `{"status":"success"}`, nil},
		{ReziMalformedJSON, 200, "*", nil},
		{ReziSlow, 0, "", isTimeout},
		{ReziReset, 0, "", func(err error) bool { return err != nil && !isTimeout(err) }},
	}
	for _, tc := range tests {
		t.Run(tc.fault.String(), func(t *testing.T) {
			e.z.SetFault(tc.fault)
			defer e.z.SetFault(ReziOK)
			// Only the slow fault needs a short client timeout; the others
			// get a generous one, so a loaded machine cannot fail them.
			e.client.Timeout = 10 * time.Second
			if tc.fault == ReziSlow {
				e.client.Timeout = 300 * time.Millisecond
			}
			before := e.z.Calls()
			resp, body, err := e.call(t, "POST", goodBody, nil)
			if got := e.z.Calls(); got != before+1 {
				t.Errorf("%v: Calls() = %d; want %d", tc.fault, got, before+1)
			}
			if tc.wantErr != nil {
				if !tc.wantErr(err) {
					t.Errorf("%v: POST error = %v; want the intended failure", tc.fault, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v: POST = %v; want a response", tc.fault, err)
			}
			if resp.StatusCode != tc.wantStatus || (tc.wantBody != "*" && body != tc.wantBody) {
				t.Errorf("%v: POST = %d %q; want %d %q", tc.fault, resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			if tc.fault == ReziMalformedJSON {
				var v any
				if json.Unmarshal([]byte(body), &v) == nil {
					t.Errorf("ReziMalformedJSON: body %q parses as JSON", body)
				}
			}
			if email, _ := e.z.LastRequest(); email != "alice@example.com" {
				t.Errorf("%v: LastRequest() email = %q; want it recorded", tc.fault, email)
			}
		})
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestReziFailOnce(t *testing.T) {
	e := newReziEnv(t, ReziOptions{})
	e.z.SetFault(ReziFailOnce)
	for i, want := range []int{503, 200, 200} {
		resp, body, err := e.call(t, "POST", goodBody, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != want {
			t.Errorf("call %d with ReziFailOnce = %d %q; want %d", i+1, resp.StatusCode, body, want)
		}
	}
}

// Faults apply only to requests that pass the checks: a wrong key is still
// a 401, not the injected failure.
func TestReziFaultAfterChecks(t *testing.T) {
	e := newReziEnv(t, ReziOptions{})
	e.z.SetFault(ReziStatus500)
	resp, _, err := e.call(t, "POST", goodBody, http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong key with ReziStatus500 = %d; want 401", resp.StatusCode)
	}
}

func TestReziFirstCallDelay(t *testing.T) {
	// Long enough that a repeated call on loopback never takes as long,
	// however loaded the machine.
	const delay = time.Second
	e := newReziEnv(t, ReziOptions{FirstCallDelay: delay})
	timed := func(body string) time.Duration {
		t.Helper()
		start := time.Now()
		resp, _, err := e.call(t, "POST", body, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("POST %s = %v; want 200", body, err)
		}
		return time.Since(start)
	}
	alice, bob := goodBody, `{"email":"bob@example.com","uid":"b0b"}`
	if d := timed(alice); d < delay {
		t.Errorf("first call for a new uid took %v; want at least %v", d, delay)
	}
	if d := timed(alice); d >= delay {
		t.Errorf("second call for the same uid took %v; want less than %v", d, delay)
	}
	if d := timed(bob); d < delay {
		t.Errorf("first call for another new uid took %v; want at least %v", d, delay)
	}
}

// A client that gives up during the first-call delay has not created the
// user: its next call is delayed again.
func TestReziFirstCallDelayAbandoned(t *testing.T) {
	const delay = 200 * time.Millisecond
	e := newReziEnv(t, ReziOptions{FirstCallDelay: delay})
	e.client.Timeout = 50 * time.Millisecond
	if _, _, err := e.call(t, "POST", goodBody, nil); !isTimeout(err) {
		t.Fatalf("POST with short timeout = %v; want a timeout", err)
	}
	e.client.Timeout = 0
	start := time.Now()
	if resp, _, err := e.call(t, "POST", goodBody, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST = %v; want 200", err)
	}
	if d := time.Since(start); d < delay {
		t.Errorf("call after an abandoned first call took %v; want at least %v", d, delay)
	}
}

func FuzzReziBody(f *testing.F) {
	z, err := NewRezi(ReziOptions{PrivateKey: testReziKey, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{goodBody, "", "{}", `{"email":1}`, `{"email":"a","uid":"b"} trailing`, `[`, `{"uid":"\u0000"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/user/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testReziKey)
		w := httptest.NewRecorder()
		z.ServeHTTP(w, req)
		var in struct{ Email, UID any }
		_ = json.NewDecoder(strings.NewReader(body)).Decode(&in)
		switch w.Code {
		case http.StatusOK:
			var r reziReply
			if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || r.Token == "" {
				t.Errorf("body %q: 200 with %q; want a token", body, w.Body.String())
			}
			if s, _ := in.Email.(string); s == "" {
				t.Errorf("body %q accepted without an email", body)
			}
		case http.StatusBadRequest:
		default:
			t.Errorf("body %q: status %d; want 200 or 400", body, w.Code)
		}
		_, _ = io.Copy(io.Discard, w.Body)
	})
}
