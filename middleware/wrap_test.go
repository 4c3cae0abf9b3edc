package middleware

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rezigate/rezigate/metrics"
)

// TestRequestID checks that an id from Options.RequestID is used in the
// header, the page and the log only when it is safe there, and that a
// fresh random id takes its place otherwise.
func TestRequestID(t *testing.T) {
	tests := []struct {
		name string
		id   string // what Options.RequestID returns
		keep bool   // whether it is used
	}{
		{"plain", "edge-4f2a.9_Z", true},
		{"128 bytes", strings.Repeat("a", 128), true},
		{"empty", "", false},
		{"129 bytes", strings.Repeat("a", 129), false},
		{"header injection", "abc\r\nSet-Cookie: x=1", false},
		{"markup", "<script>alert(1)</script>", false},
		{"space", "a b", false},
		{"quote", `a"b`, false},
		{"slash", "a/b", false},
		{"not ASCII", "idé", false},
		{"NUL", "a\x00b", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			o := validOptions(t)
			o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			o.RequestID = func(r *http.Request) string {
				if r.URL.Path != "/oauth2/nope" {
					t.Errorf("RequestID got %s; want the request being served", r.URL.Path)
				}
				return tc.id
			}
			a, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			a.Wrap(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/oauth2/nope", nil))
			got := rec.Header().Get("X-Request-Id")
			if tc.keep {
				if got != tc.id {
					t.Errorf("X-Request-Id = %q; want the embedder's %q", got, tc.id)
				}
			} else if !validRequestID(got) || got == tc.id || len(got) != 16 {
				t.Errorf("X-Request-Id = %q for an embedder id %q; want a fresh 16-character id", got, tc.id)
			}
			if !strings.Contains(rec.Body.String(), got) || !strings.Contains(logs.String(), "request_id="+got) {
				t.Errorf("request id %q missing from the page or the access log:\n%s\n%s", got, rec.Body, logs.String())
			}
			if !tc.keep && tc.id != "" && (strings.Contains(rec.Body.String(), tc.id) || strings.Contains(logs.String(), tc.id)) {
				t.Errorf("the refused id %q reached the page or the log", tc.id)
			}
		})
	}
	t.Run("nil means fresh ids", func(t *testing.T) {
		o := validOptions(t)
		o.Logger = slog.New(slog.DiscardHandler)
		a, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for range 3 {
			rec := httptest.NewRecorder()
			a.Wrap(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/api/x", nil))
			id := rec.Header().Get("X-Request-Id")
			if len(id) != 16 || !validRequestID(id) || seen[id] {
				t.Errorf("X-Request-Id = %q (seen before: %v); want a fresh 16-character id", id, seen[id])
			}
			seen[id] = true
		}
	})
}

// TestNoAccessLog checks that NoAccessLog drops the per-request line but
// not failures or request metrics.
func TestNoAccessLog(t *testing.T) {
	for _, off := range []bool{false, true} {
		var logs bytes.Buffer
		reg := prometheus.NewRegistry()
		m, err := metrics.New(reg)
		if err != nil {
			t.Fatal(err)
		}
		o := validOptions(t)
		o.Logger, o.Metrics, o.NoAccessLog = slog.New(slog.NewTextHandler(&logs, nil)), m, off
		a, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		h := a.Wrap(http.NotFoundHandler())
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/x", nil))
		// A provider's refusal is logged whatever NoAccessLog says.
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/oauth2/callback?error=access_denied", nil))
		lines := logs.String()
		if got := strings.Contains(lines, "msg=request "); got == off {
			t.Errorf("NoAccessLog %v: access log line written = %v; want %v\n%s", off, got, !off, lines)
		}
		if !strings.Contains(lines, `msg="sign-in refused by the identity provider"`) {
			t.Errorf("NoAccessLog %v: the refused sign-in was not logged:\n%s", off, lines)
		}
		if n := requestCount(t, reg); n != 2 {
			t.Errorf("NoAccessLog %v: rezigate_requests_total = %v; want 2", off, n)
		}
	}
}

// requestCount returns the sum of rezigate_requests_total.
func requestCount(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "rezigate_requests_total" {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}
