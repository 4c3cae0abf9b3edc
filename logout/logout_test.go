package logout_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/logout"
	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/sessions"
)

const issuer = "https://idp.example.com/realms/staff"

func uid(iss, sub string) string { return "uid(" + iss + "|" + sub + ")" }

// logLines is a JSON log of the handler, one map a line.
type logLines struct{ bytes.Buffer }

func (l *logLines) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

// lines returns every line, parsed.
func (l *logLines) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(l.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// serve sends one request through h with request id req-1, as the
// middleware does; hdr is set on the response before h runs, as the
// middleware's own headers are.
func serve(h http.Handler, method, target string, reqHdr http.Header, body io.Reader, respHdr http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, body)
	maps := func(dst, src http.Header) {
		for k, vs := range src {
			dst[k] = vs
		}
	}
	maps(r.Header, reqHdr)
	r = r.WithContext(requestid.NewContext(r.Context(), "req-1"))
	w := httptest.NewRecorder()
	maps(w.Header(), respHdr)
	h.ServeHTTP(w, r)
	return w
}

var form = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}

func formBody(tokens ...string) io.Reader {
	return strings.NewReader(url.Values{"logout_token": tokens}.Encode())
}

// TestBackchannel: every answer of back-channel logout, its body and
// headers, the order of the store's calls (jti looked up, sessions
// deleted, jti recorded, nothing after a refusal), how long a jti is
// remembered, and the log line each answer leaves, with the request id
// and never the token or the sid.
func TestBackchannel(t *testing.T) {
	const (
		bad         = `{"error":"invalid_request"}` + "\n"
		unavailable = `{"error":"temporarily_unavailable"}` + "\n"
		sid         = "provider-session-1"
	)
	down := fmt.Errorf("test: %w", sessions.ErrUnavailable)
	broken := errors.New("test: broken")
	noOID := fmt.Errorf("%w: %w", oidc.ErrBadLogoutToken, oidc.ErrLogoutNoObjectID)
	sidHash := sessions.HashSID(sid)
	tests := []struct {
		name        string
		method      string
		hdr         http.Header
		body        func() io.Reader
		verifyErr   error
		fail        map[string]error
		seen        bool // the jti is recorded before
		maxAge      time.Duration
		status      int
		respBody    string
		verified    int
		calls       []string
		logMsg      string
		logContains string
	}{
		{name: "GET", method: "GET", status: 405, respBody: bad},
		{name: "not a form", hdr: http.Header{"Content-Type": {"application/json"}}, body: func() io.Reader { return strings.NewReader(`{}`) },
			status: 400, respBody: bad, logMsg: "back-channel logout refused", logContains: "not a form"},
		{name: "no token", body: func() io.Reader { return strings.NewReader("x=1") },
			status: 400, respBody: bad, logMsg: "back-channel logout refused", logContains: "not exactly one logout_token"},
		{name: "two tokens", body: func() io.Reader { return formBody("by-sid", "by-sid") },
			status: 400, respBody: bad, logMsg: "back-channel logout refused", logContains: "not exactly one logout_token"},
		{name: "body over 64 KiB", body: func() io.Reader {
			return strings.NewReader("logout_token=by-sid&pad=" + strings.Repeat("a", 64<<10))
		}, status: 400, respBody: bad, logMsg: "back-channel logout refused", logContains: "form unreadable"},
		{name: "provider not ready", verifyErr: oidc.ErrNotReady, verified: 1,
			status: 503, respBody: unavailable, logMsg: "back-channel logout: provider not ready"},
		{name: "entra token by sub alone", verifyErr: noOID, verified: 1,
			status: 400, respBody: bad, logMsg: "back-channel logout refused", logContains: "register /oauth2/frontchannel_logout"},
		{name: "token does not verify", body: func() io.Reader { return formBody("forged") }, verified: 1,
			status: 400, respBody: bad, logMsg: "back-channel logout refused", logContains: "token does not verify"},
		{name: "exp beyond the session max age", maxAge: time.Minute, verified: 1,
			status: 400, respBody: bad, logMsg: "back-channel logout refused", logContains: "exp further away than the session max age"},
		{name: "lookup unavailable", fail: map[string]error{"LookupJTI": down}, verified: 1,
			calls:  []string{"LookupJTI jti-1"},
			status: 503, respBody: unavailable, logMsg: "back-channel logout: session store unavailable"},
		{name: "lookup broken", fail: map[string]error{"LookupJTI": broken}, verified: 1,
			calls:  []string{"LookupJTI jti-1"},
			status: 400, respBody: bad, logMsg: "back-channel logout refused", logContains: "jti not looked up"},
		{name: "replay", seen: true, verified: 1,
			calls:  []string{"LookupJTI jti-1"},
			status: 400, respBody: bad, logMsg: "back-channel logout refused", logContains: "jti seen before (a replay)"},
		{name: "delete unavailable", fail: map[string]error{"DeleteSID": down}, verified: 1,
			calls:  []string{"LookupJTI jti-1", "DeleteSID " + sidHash},
			status: 503, respBody: unavailable, logMsg: "back-channel logout: sessions not deleted"},
		{name: "delete broken", fail: map[string]error{"DeleteSID": broken}, verified: 1,
			calls:  []string{"LookupJTI jti-1", "DeleteSID " + sidHash},
			status: 503, respBody: unavailable, logMsg: "back-channel logout: sessions not deleted"},
		{name: "record unavailable", fail: map[string]error{"SeenJTI": down}, verified: 1,
			calls:  []string{"LookupJTI jti-1", "DeleteSID " + sidHash, "SeenJTI jti-1 7m0s"},
			status: 503, respBody: unavailable, logMsg: "back-channel logout: jti not recorded"},
		{name: "record broken", fail: map[string]error{"SeenJTI": broken}, verified: 1,
			calls:  []string{"LookupJTI jti-1", "DeleteSID " + sidHash, "SeenJTI jti-1 7m0s"},
			status: 400, respBody: bad, logMsg: "back-channel logout refused", logContains: "jti not recorded"},
		{name: "by sid", verified: 1,
			calls:  []string{"LookupJTI jti-1", "DeleteSID " + sidHash, "SeenJTI jti-1 7m0s"},
			status: 200, logMsg: "back-channel logout", logContains: `"by_sid":true,"uid":"","sessions":2,"concurrent_delivery":false`},
		{name: "by sub", body: func() io.Reader { return formBody("by-sub") }, verified: 1,
			calls:  []string{"LookupJTI jti-2", "DeleteUser " + uid(issuer, "alice-sub"), "SeenJTI jti-2 7m0s"},
			status: 200, logMsg: "back-channel logout", logContains: `"by_sid":false,"uid":"uid(` + issuer + `|alice-sub)","sessions":3`},
		{name: "jti kept no longer than the session max age", maxAge: 3 * time.Minute, verified: 1,
			calls:  []string{"LookupJTI jti-1", "DeleteSID " + sidHash, "SeenJTI jti-1 3m0s"},
			status: 200, logMsg: "back-channel logout"},
		{name: "charset in the content type", hdr: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}, verified: 1,
			calls:  []string{"LookupJTI jti-1", "DeleteSID " + sidHash, "SeenJTI jti-1 7m0s"},
			status: 200, logMsg: "back-channel logout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// In the bubble the clock stands still: exp two minutes
				// from now keeps the jti for 2 + 5 minutes exactly.
				exp := time.Now().Add(2 * time.Minute)
				p := &idp{issuer: issuer, err: tc.verifyErr, tokens: map[string]oidc.Logout{
					"by-sid": {Issuer: issuer, Subject: "alice-sub", SID: sid, JTI: "jti-1", Expiry: exp},
					"by-sub": {Issuer: issuer, Subject: "alice-sub", JTI: "jti-2", Expiry: exp},
				}}
				store := newMemStore()
				store.bySID[sidHash] = 2
				store.byUID[uid(issuer, "alice-sub")] = 3
				store.fail = tc.fail
				if tc.seen {
					store.jtis["jti-1"] = time.Minute
				}
				var logs logLines
				h, err := logout.New(logout.Options{Provider: p, Revoker: store, JTIs: store, UID: uid, MaxAge: tc.maxAge, Logger: logs.logger()})
				if err != nil {
					t.Fatal(err)
				}
				method, hdr, body := "POST", form, formBody("by-sid")
				if tc.method != "" {
					method = tc.method
				}
				if tc.hdr != nil {
					hdr = tc.hdr
				}
				if tc.body != nil {
					body = tc.body()
				}
				w := serve(h, method, logout.BackchannelPath, hdr, body, nil)
				if w.Code != tc.status || w.Body.String() != tc.respBody {
					t.Errorf("%s = %d %q; want %d %q", tc.name, w.Code, w.Body, tc.status, tc.respBody)
				}
				wantHdr := http.Header{"Cache-Control": {"no-store"}}
				if tc.status != 200 {
					wantHdr.Set("Content-Type", "application/json")
				}
				if tc.status == 405 {
					wantHdr.Set("Allow", "POST")
				}
				for k := range w.Header() {
					if wantHdr.Get(k) == "" {
						t.Errorf("header %s = %q; want none", k, w.Header().Get(k))
					}
				}
				for k := range wantHdr {
					if got := w.Header().Get(k); got != wantHdr.Get(k) {
						t.Errorf("header %s = %q; want %q", k, got, wantHdr.Get(k))
					}
				}
				if p.verified != tc.verified {
					t.Errorf("tokens verified = %d; want %d", p.verified, tc.verified)
				}
				if !slices.Equal(store.calls, tc.calls) {
					t.Errorf("store calls = %q; want %q", store.calls, tc.calls)
				}
				checkLog(t, &logs, tc.logMsg, tc.logContains, sid, "by-sid", "by-sub", "forged")
			})
		})
	}
}

// checkLog checks that the handler left exactly one line, msg (none when
// msg is empty), with request_id req-1 and text contains, and that no
// secret appears anywhere in the log.
func checkLog(t *testing.T, logs *logLines, msg, contains string, secrets ...string) {
	t.Helper()
	lines := logs.lines(t)
	if msg == "" {
		if len(lines) != 0 {
			t.Errorf("log = %s; want nothing", logs)
		}
		return
	}
	if len(lines) != 1 || lines[0]["msg"] != msg || lines[0]["request_id"] != "req-1" || !strings.Contains(logs.String(), contains) {
		t.Errorf("log = %s; want one line %q with request_id req-1 and %q", logs, msg, contains)
	}
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("log names %q:\n%s", s, logs)
		}
	}
}

// TestBackchannelRetry: a delivery whose deletion fails gets 503 and does
// not use up its token; the provider's retry of it ends the sessions, and
// the same token once more is then a replay.
func TestBackchannelRetry(t *testing.T) {
	p := &idp{issuer: issuer, tokens: map[string]oidc.Logout{
		"t": {Issuer: issuer, Subject: "alice-sub", JTI: "jti-r", Expiry: time.Now().Add(time.Minute)},
	}}
	store := newMemStore()
	store.byUID[uid(issuer, "alice-sub")] = 1
	store.fail["DeleteUser"] = fmt.Errorf("test: %w", sessions.ErrUnavailable)
	h, err := logout.New(logout.Options{Provider: p, Revoker: store, JTIs: store, UID: uid, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{503, 200, 400} {
		if w := serve(h, "POST", logout.BackchannelPath, form, formBody("t"), nil); w.Code != want {
			t.Errorf("delivery %d = %d; want %d", i+1, w.Code, want)
		}
	}
	if n := store.left(); n != 0 {
		t.Errorf("sessions left = %d; want 0", n)
	}
}

// TestFrontchannel: every answer of front-channel logout: the page, its
// headers (framed by the provider's origin alone, an X-Frame-Options set
// before removed), the store's call and the log line.
func TestFrontchannel(t *testing.T) {
	const (
		page = "<!doctype html><meta charset=utf-8><title>Signed out</title>\n"
		sid  = "provider-session-1"
	)
	valid := url.Values{"iss": {issuer}, "sid": {sid}}
	tests := []struct {
		name        string
		method      string
		q           url.Values
		fail        error
		status      int
		body        string
		calls       []string
		logMsg      string
		logContains string
	}{
		{"ended", "GET", valid, nil, 200, page, []string{"DeleteSID " + sessions.HashSID(sid)}, "front-channel logout", `"by_sid":true,"sessions":2`},
		{"HEAD", "HEAD", valid, nil, 200, "", []string{"DeleteSID " + sessions.HashSID(sid)}, "front-channel logout", ""},
		{"POST", "POST", valid, nil, 405, page, nil, "", ""},
		{"another issuer", "GET", url.Values{"iss": {"https://idp.attacker.example"}, "sid": {sid}}, nil, 400, page, nil, "front-channel logout refused", "iss not the provider's issuer"},
		{"no iss", "GET", url.Values{"sid": {sid}}, nil, 400, page, nil, "front-channel logout refused", ""},
		{"two iss", "GET", url.Values{"iss": {issuer, issuer}, "sid": {sid}}, nil, 400, page, nil, "front-channel logout refused", ""},
		{"no sid", "GET", url.Values{"iss": {issuer}}, nil, 400, page, nil, "front-channel logout refused", ""},
		{"empty sid", "GET", url.Values{"iss": {issuer}, "sid": {""}}, nil, 400, page, nil, "front-channel logout refused", ""},
		{"two sids", "GET", url.Values{"iss": {issuer}, "sid": {"x", sid}}, nil, 400, page, nil, "front-channel logout refused", ""},
		{"store unavailable", "GET", valid, fmt.Errorf("test: %w", sessions.ErrUnavailable), 503, page, []string{"DeleteSID " + sessions.HashSID(sid)}, "front-channel logout: sessions not deleted", `"unavailable":true`},
		{"store broken", "GET", valid, errors.New("test: broken"), 503, page, []string{"DeleteSID " + sessions.HashSID(sid)}, "front-channel logout: sessions not deleted", `"unavailable":false`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newMemStore()
			store.bySID[sessions.HashSID(sid)] = 2
			if tc.fail != nil {
				store.fail["DeleteSID"] = tc.fail
			}
			var logs logLines
			// No JTIs: front-channel logout needs none.
			h, err := logout.New(logout.Options{Provider: &idp{issuer: issuer}, Revoker: store, Logger: logs.logger()})
			if err != nil {
				t.Fatal(err)
			}
			w := serve(h, tc.method, logout.FrontchannelPath+"?"+tc.q.Encode(), nil, nil, http.Header{"X-Frame-Options": {"DENY"}})
			if w.Code != tc.status || w.Body.String() != tc.body {
				t.Errorf("%s = %d %q; want %d %q", tc.name, w.Code, w.Body, tc.status, tc.body)
			}
			want := http.Header{
				"Cache-Control":           {"no-store"},
				"Content-Type":            {"text/html; charset=utf-8"},
				"X-Content-Type-Options":  {"nosniff"},
				"Referrer-Policy":         {"no-referrer"},
				"Content-Security-Policy": {"default-src 'none'; frame-ancestors https://idp.example.com"},
			}
			if tc.status == 405 {
				want.Set("Allow", "GET, HEAD")
			}
			if len(w.Header()) != len(want) {
				t.Errorf("headers = %q; want %q", w.Header(), want)
			}
			for k := range want {
				if got := w.Header().Get(k); got != want.Get(k) {
					t.Errorf("header %s = %q; want %q", k, got, want.Get(k))
				}
			}
			if !slices.Equal(store.calls, tc.calls) {
				t.Errorf("store calls = %q; want %q", store.calls, tc.calls)
			}
			checkLog(t, &logs, tc.logMsg, tc.logContains, sid)
		})
	}
}

// TestServeHTTPPaths: the handler serves its two paths only, and
// back-channel logout only with JTIs.
func TestServeHTTPPaths(t *testing.T) {
	store := newMemStore()
	with, err := logout.New(logout.Options{Provider: &idp{issuer: issuer}, Revoker: store, JTIs: store, UID: uid})
	if err != nil {
		t.Fatal(err)
	}
	without, err := logout.New(logout.Options{Provider: &idp{issuer: issuer}, Revoker: store})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		h      http.Handler
		method string
		path   string
		status int
	}{
		{"back-channel", with, "GET", logout.BackchannelPath, 405},
		{"back-channel without JTIs", without, "GET", logout.BackchannelPath, 404},
		{"front-channel without JTIs", without, "POST", logout.FrontchannelPath, 405},
		{"another path", with, "GET", "/oauth2/logout", 404},
		{"a path below", with, "GET", logout.FrontchannelPath + "/x", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if w := serve(tc.h, tc.method, tc.path, nil, nil, nil); w.Code != tc.status {
				t.Errorf("%s %s = %d; want %d", tc.method, tc.path, w.Code, tc.status)
			}
		})
	}
}

// TestNew: New and Validate name every field that is wrong, as
// *optionerr.Error values.
func TestNew(t *testing.T) {
	store := newMemStore()
	tests := []struct {
		name     string
		opts     logout.Options
		validate []string // fields Validate names
		fields   []string // fields New names
	}{
		{"complete", logout.Options{Provider: &idp{issuer: issuer}, Revoker: store, JTIs: store, UID: uid}, nil, nil},
		{"front-channel only", logout.Options{Provider: &idp{issuer: issuer}, Revoker: store}, nil, nil},
		{"empty", logout.Options{}, nil, []string{"Provider", "Revoker"}},
		{"JTIs without UID", logout.Options{Provider: &idp{issuer: issuer}, Revoker: store, JTIs: store}, nil, []string{"UID"}},
		{"negative MaxAge", logout.Options{Provider: &idp{issuer: issuer}, Revoker: store, MaxAge: -1}, []string{"MaxAge"}, []string{"MaxAge"}},
		{"empty issuer", logout.Options{Provider: &idp{}, Revoker: store}, nil, []string{"Provider"}},
		{"relative issuer", logout.Options{Provider: &idp{issuer: "idp.example.com"}, Revoker: store}, nil, []string{"Provider"}},
	}
	names := func(err error) []string {
		var out []string
		for _, fe := range optionerr.Fields(err) {
			if fe.Pkg != "logout" {
				t.Errorf("field error of package %q; want logout", fe.Pkg)
			}
			out = append(out, fe.Field)
		}
		return out
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(tc.opts.Validate()); !slices.Equal(got, tc.validate) {
				t.Errorf("Validate names %q; want %q", got, tc.validate)
			}
			h, err := logout.New(tc.opts)
			if got := names(err); !slices.Equal(got, tc.fields) {
				t.Errorf("New names %q; want %q (err %v)", got, tc.fields, err)
			}
			if (h == nil) != (err != nil) {
				t.Errorf("New = %v, %v; want a handler or an error", h, err)
			}
		})
	}
}
