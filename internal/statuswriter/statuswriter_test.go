package statuswriter

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReadBodyKeepsConnection: a handler that reads the request body to
// its end answers without closing the connection.
func TestReadBodyKeepsConnection(t *testing.T) {
	tests := []struct {
		name      string
		read      int64 // bytes the handler reads; -1 reads to the end
		wantClose bool
	}{
		{"read to the end", -1, false},
		{"read in part", 10, true},
		{"not read", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/oauth2/sign_out", strings.NewReader(strings.Repeat("f", 100)))
			w := httptest.NewRecorder()
			sw := &Writer{ResponseWriter: w}
			sw.Watch(r)
			own := sw.Own(r.WithContext(r.Context()))
			var err error
			if tc.read < 0 {
				_, err = io.ReadAll(own.Body)
			} else {
				_, err = io.CopyN(io.Discard, own.Body, tc.read)
			}
			if err != nil {
				t.Fatal(err)
			}
			sw.WriteHeader(http.StatusFound)
			sw.Finish()
			if got := w.Header().Get("Connection") == "close"; got != tc.wantClose {
				t.Errorf("Connection: close = %v; want %v", got, tc.wantClose)
			}
		})
	}
}
