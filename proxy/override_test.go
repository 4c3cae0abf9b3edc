package proxy

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// spellings returns the ways a client may write name that a back end
// may read as name: canonical, lower and upper case, "_" for "-", and a
// mix of both.
func spellings(name string) []string {
	under := strings.ReplaceAll(name, "-", "_")
	mixed := []byte(strings.ToLower(name))
	for i := range mixed {
		if i%2 == 0 && 'a' <= mixed[i] && mixed[i] <= 'z' {
			mixed[i] -= 'a' - 'A'
		}
		if mixed[i] == '-' && i%3 == 0 {
			mixed[i] = '_'
		}
	}
	return []string{
		http.CanonicalHeaderKey(name), strings.ToLower(name), strings.ToUpper(name),
		under, strings.ToLower(under), string(mixed),
	}
}

// TestOverrideHeadersNeverReachUpstream sends every spelling of the
// headers that make an upstream run another path or method than the one
// judged, of the identity headers upstream apps trust, and of a header
// Options.StripHeaders adds; an upstream that records what it received
// must see none of them, and still see headers that only look alike.
func TestOverrideHeadersNeverReachUpstream(t *testing.T) {
	var got http.Header
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	p, err := New(Options{
		Upstream: u, StripHeaders: []string{"X-App-Role", "x_tenant_admin"},
		Identity: func(*http.Request) (string, string, bool) { return "alice@example.com", "uid-1", true },
	})
	if err != nil {
		t.Fatal(err)
	}
	px := httptest.NewServer(p)
	defer px.Close()
	tests := []struct {
		name    string
		headers []string
	}{
		{"path overrides", []string{"X-Original-URL", "X-Rewrite-URL", "X-Override-URL"}},
		{"method overrides", []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"}},
		{"trusted identity headers", []string{"Remote-User", "X-Remote-User", "X-Webauth-User", "X-Forwarded-Preferred-Username"}},
		{"configured headers", []string{"X-App-Role", "X-Tenant-Admin"}},
	}
	kept := []string{"X-Original-URLs", "X-HTTP-Methods", "Remote-Users", "X-App-Roles", "X-Original-Uri"}
	for _, tc := range tests {
		for _, h := range tc.headers {
			t.Run(tc.name+"/"+h, func(t *testing.T) {
				req, _ := http.NewRequest("GET", px.URL+"/judged", nil)
				for _, s := range spellings(h) {
					req.Header[s] = append(req.Header[s], "/admin/", "DELETE")
				}
				for _, k := range kept {
					req.Header[k] = []string{"kept"}
				}
				got = nil
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if got == nil {
					t.Fatalf("upstream not reached: %d", resp.StatusCode)
				}
				for k, v := range got {
					if normalize(k) == normalize(h) {
						t.Errorf("upstream received %s: %q; want every spelling of %s removed", k, v, h)
					}
				}
				for _, k := range kept {
					if got.Get(k) != "kept" {
						t.Errorf("upstream lacks %s; only the listed headers are removed", k)
					}
				}
			})
		}
	}
}
