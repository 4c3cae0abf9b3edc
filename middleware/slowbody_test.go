package middleware

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/session"
)

// TestUnreadBodyClosesConnection: a response the middleware writes itself
// while the request body is unread tells net/http to close the connection
// instead of draining the body; requests without a body, bodies the
// middleware read to the end, HTTP/2 and the app keep their connection.
func TestUnreadBodyClosesConnection(t *testing.T) {
	e := newEnv(t, envOptions{})
	cookie, err := testCodec(e.auth).Encode(e.auth.cookieName, &session.Session{
		Email: "alice@example.com", UID: strings.Repeat("ab", 32), Expires: time.Now().Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent) // leaves the body unread
	})
	h := e.auth.Wrap(app)
	body := func() io.Reader { return strings.NewReader(strings.Repeat("b", 1000)) }
	chunked := func() io.Reader { return io.MultiReader(body()) } // unknown length

	tests := []struct {
		name      string
		method    string
		target    string
		body      func() io.Reader
		hdr       http.Header
		proto2    bool
		signedIn  bool
		wantCode  int
		wantClose bool
	}{
		{"401 with body", "POST", "/anything", body, http.Header{"Accept": {"application/json"}}, false, false, http.StatusUnauthorized, true},
		{"401 with chunked body", "POST", "/anything", chunked, http.Header{"Accept": {"application/json"}}, false, false, http.StatusUnauthorized, true},
		{"302 with body", "POST", "/anything", body, navigate, false, false, http.StatusFound, true},
		{"405 with body", "POST", "/oauth2/callback", body, navigate, false, false, http.StatusMethodNotAllowed, true},
		{"404 under oauth2 with body", "PUT", "/oauth2/nothing", body, navigate, false, false, http.StatusNotFound, true},
		{"health with body", "POST", "/healthz", body, nil, false, false, http.StatusMethodNotAllowed, true},
		{"401 without body", "GET", "/anything", nil, http.Header{"Accept": {"application/json"}}, false, false, http.StatusUnauthorized, false},
		{"302 without body", "GET", "/anything", nil, navigate, false, false, http.StatusFound, false},
		{"405 without body", "DELETE", "/oauth2/callback", nil, navigate, false, false, http.StatusMethodNotAllowed, false},
		{"HTTP/2 401 with body", "POST", "/anything", body, http.Header{"Accept": {"application/json"}}, true, false, http.StatusUnauthorized, false},
		{"app with unread body", "POST", "/upload", body, nil, false, true, http.StatusNoContent, false},
		{"app with chunked body", "POST", "/upload", chunked, nil, false, true, http.StatusNoContent, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b io.Reader
			if tc.body != nil {
				b = tc.body()
			}
			r := httptest.NewRequest(tc.method, tc.target, b)
			for k, v := range tc.hdr {
				r.Header[k] = v
			}
			if tc.proto2 {
				r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
			}
			if tc.signedIn {
				r.AddCookie(&http.Cookie{Name: e.auth.cookieName, Value: cookie})
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.wantCode {
				t.Fatalf("%s %s = %d; want %d", tc.method, tc.target, w.Code, tc.wantCode)
			}
			if got := w.Header().Get("Connection") == "close"; got != tc.wantClose {
				t.Errorf("%s %s: Connection: close = %v; want %v (header %q)", tc.method, tc.target, got, tc.wantClose, w.Header().Get("Connection"))
			}
		})
	}
}

// TestKeepAliveWithoutBody: over a real connection, requests without a
// body reuse it, and one whose body the middleware leaves unread ends it.
func TestKeepAliveWithoutBody(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	send := func(method string, body io.Reader) (reused, closed bool) {
		t.Helper()
		req, err := http.NewRequest(method, e.srv.URL+"/anything", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		}))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s /anything = %d; want 401", method, resp.StatusCode)
		}
		return reused, resp.Close
	}
	if _, closed := send("GET", nil); closed {
		t.Error("first GET: response closes the connection; want keep-alive")
	}
	if reused, closed := send("GET", nil); !reused || closed {
		t.Errorf("second GET: reused %v, closes %v; want the same connection kept alive", reused, closed)
	}
	if _, closed := send("POST", strings.NewReader("unread")); !closed {
		t.Error("POST with an unread body: response keeps the connection; want Connection: close")
	}
}
