package forwarded

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestTrusted(t *testing.T) {
	edge := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		remote  string
		trusted []netip.Prefix
		want    bool
	}{
		{"10.1.2.3:5555", edge, true},
		{"[::ffff:10.1.2.3]:5555", edge, true}, // IPv4-mapped
		{"[::1]:5555", edge, true},
		{"192.168.1.1:5555", edge, false},
		{"10.1.2.3:5555", nil, false},
		{"10.1.2.3", edge, false}, // no port: not a RemoteAddr
		{"", edge, false},
	}
	for _, tc := range tests {
		t.Run(tc.remote, func(t *testing.T) {
			if got := Trusted(tc.remote, tc.trusted); got != tc.want {
				t.Errorf("Trusted(%q, %v) = %v; want %v", tc.remote, tc.trusted, got, tc.want)
			}
		})
	}
}

func TestOriginal(t *testing.T) {
	tests := []struct {
		name           string
		h              http.Header
		methodRequired bool
		wantMethod     string
		wantPath       string
		wantOK         bool
	}{
		{"traefik", http.Header{"X-Forwarded-Method": {"POST"}, "X-Forwarded-Uri": {"/a?b=1"}}, false, "POST", "/a?b=1", true},
		{"nginx", http.Header{"X-Original-Method": {"PUT"}, "X-Original-Uri": {"/a"}}, false, "PUT", "/a", true},
		{"both agree", http.Header{"X-Forwarded-Uri": {"/a"}, "X-Original-Uri": {"/a"}}, false, "GET", "/a", true},
		{"both disagree", http.Header{"X-Forwarded-Uri": {"/a"}, "X-Original-Uri": {"/admin"}}, false, "", "", false},
		{"methods disagree", http.Header{"X-Forwarded-Uri": {"/a"}, "X-Forwarded-Method": {"GET"}, "X-Original-Method": {"DELETE"}}, false, "", "", false},
		{"no method is GET", http.Header{"X-Forwarded-Uri": {"/a"}}, false, "GET", "/a", true},
		{"no method when one is required", http.Header{"X-Forwarded-Uri": {"/a"}}, true, "", "", false},
		{"two URIs", http.Header{"X-Forwarded-Uri": {"/a", "/b"}}, false, "", "", false},
		{"two methods", http.Header{"X-Forwarded-Uri": {"/a"}, "X-Forwarded-Method": {"GET", "POST"}}, false, "", "", false},
		{"absolute URI", http.Header{"X-Forwarded-Uri": {"https://evil.example/a"}}, false, "", "", false},
		{"empty URI", http.Header{"X-Forwarded-Uri": {""}}, false, "", "", false},
		{"none", http.Header{}, false, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, p, ok := Original(tc.h, tc.methodRequired)
			if m != tc.wantMethod || p != tc.wantPath || ok != tc.wantOK {
				t.Errorf("Original(%v, %v) = %q, %q, %v; want %q, %q, %v", tc.h, tc.methodRequired, m, p, ok, tc.wantMethod, tc.wantPath, tc.wantOK)
			}
		})
	}
}
