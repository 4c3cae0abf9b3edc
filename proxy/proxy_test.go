package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// echo answers with the request headers it received.
func echo() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		h.Set("X-Seen-Host", r.Host)
		h.Set("X-Seen-Path", r.URL.RequestURI())
		_ = json.NewEncoder(w).Encode(h)
	}))
}

func newProxy(t *testing.T, upstream string, identity bool) *httptest.Server {
	t.Helper()
	u, _ := url.Parse(upstream)
	opts := Options{Upstream: u, StripHeaders: []string{"X-Auth-Request-Email"}}
	if identity {
		opts.Identity = func(*http.Request) (string, string, bool) { return "alice@example.com", "uid-1", true }
	}
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(p)
	t.Cleanup(s.Close)
	return s
}

func TestIdentityHeaders(t *testing.T) {
	up := echo()
	defer up.Close()
	tests := []struct {
		name      string
		identity  bool
		spoof     map[string]string
		wantEmail []string
	}{
		{"signed in, nothing spoofed", true, nil, []string{"alice@example.com"}},
		{"canonical spoof", true, map[string]string{"X-Forwarded-Email": "evil@x"}, []string{"alice@example.com"}},
		{"lower-case spoof", true, map[string]string{"x-forwarded-email": "evil@x"}, []string{"alice@example.com"}},
		{"underscore spoof", true, map[string]string{"X_Forwarded_Email": "evil@x", "x_forwarded_user": "evil"}, []string{"alice@example.com"}},
		{"named in Connection", true, map[string]string{"Connection": "X-Forwarded-Email", "X-Forwarded-Email": "evil@x"}, []string{"alice@example.com"}},
		{"no identity: spoof removed", false, map[string]string{"X-Forwarded-Email": "evil@x", "X_FORWARDED_USER": "evil"}, nil},
		{"extra stripped header", true, map[string]string{"x_auth_request_email": "evil@x"}, []string{"alice@example.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			px := newProxy(t, up.URL, tc.identity)
			req, _ := http.NewRequest("GET", px.URL+"/a?b=1", nil)
			for k, v := range tc.spoof {
				req.Header[k] = append(req.Header[k], v, v) // two copies each
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got http.Header
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			for k, v := range got {
				n := normalize(k)
				if n == "x-forwarded-email" || n == "x-forwarded-user" || n == "x-auth-request-email" {
					if strings.Contains(strings.Join(v, ","), "evil") {
						t.Errorf("upstream got spoofed %s: %q", k, v)
					}
				}
			}
			if fmt.Sprint(got["X-Forwarded-Email"]) != fmt.Sprint(tc.wantEmail) {
				t.Errorf("upstream X-Forwarded-Email = %q; want %q", got["X-Forwarded-Email"], tc.wantEmail)
			}
			upURL, _ := url.Parse(up.URL)
			if got.Get("X-Seen-Host") != upURL.Host || got.Get("X-Forwarded-Host") == "" || got.Get("X-Forwarded-Proto") != "http" || got.Get("X-Forwarded-For") != "127.0.0.1" || got.Get("X-Seen-Path") != "/a?b=1" {
				t.Errorf("upstream saw Host %q, X-Forwarded-Host %q, -Proto %q, -For %q, path %q", got.Get("X-Seen-Host"), got.Get("X-Forwarded-Host"), got.Get("X-Forwarded-Proto"), got.Get("X-Forwarded-For"), got.Get("X-Seen-Path"))
			}
		})
	}
}

func TestClientXForwardedForIgnored(t *testing.T) {
	up := echo()
	defer up.Close()
	px := newProxy(t, up.URL, true)
	req, _ := http.NewRequest("GET", px.URL, nil)
	req.Header.Set("X-Forwarded-For", "6.6.6.6")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got http.Header
	_ = json.NewDecoder(resp.Body).Decode(&got)
	if got.Get("X-Forwarded-For") != "127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q; want only the real client 127.0.0.1", got.Get("X-Forwarded-For"))
	}
}

func TestUpstreamErrors(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	tests := []struct {
		name      string
		upstream  string
		transport *http.Transport
		want      int
	}{
		{"connection refused", downURL, nil, http.StatusBadGateway},
		{"response header timeout", slow.URL, NewTransport(TransportOptions{ResponseHeaderTimeout: 100 * time.Millisecond}), http.StatusGatewayTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := url.Parse(tc.upstream)
			opts := Options{Upstream: u}
			if tc.transport != nil {
				opts.Transport = tc.transport
			}
			p, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tc.want {
				t.Errorf("status = %d; want %d", rec.Code, tc.want)
			}
			if strings.Contains(string(body), "127.0.0.1") || strings.Contains(string(body), "dial") {
				t.Errorf("error page leaks the cause: %s", body)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	for _, raw := range []string{"", "ftp://x", "/relative", "http://"} {
		u, _ := url.Parse(raw)
		if _, err := New(Options{Upstream: u}); err == nil {
			t.Errorf("New(Upstream: %q) = nil error; want an error", raw)
		}
	}
	if _, err := New(Options{}); err == nil {
		t.Errorf("New(nil Upstream) = nil error; want an error")
	}
}

func TestSameHeader(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"X-Forwarded-Email", true},
		{"x-forwarded-email", true},
		{"X_FORWARDED_EMAIL", true},
		{"X-Forwarded_Email", true},
		{"X-Forwarded-Emails", false},
		{"X-Forwarded-Emai", false},
	}
	for _, tc := range tests {
		if got := sameHeader(tc.key, "x-forwarded-email"); got != tc.want {
			t.Errorf("sameHeader(%q) = %v; want %v", tc.key, got, tc.want)
		}
	}
}

func FuzzStripHeaders(f *testing.F) {
	for _, s := range []string{"X-Forwarded-Email", "x_forwarded_user", "X-Other", ""} {
		f.Add(s)
	}
	names := []string{normalize(DefaultEmailHeader), normalize(DefaultUserHeader)}
	f.Fuzz(func(t *testing.T, key string) {
		h := http.Header{key: {"v"}}
		StripHeaders(h, names)
		n := normalize(key)
		if _, kept := h[key]; kept == (n == names[0] || n == names[1]) {
			t.Errorf("StripHeaders kept=%v for %q", kept, key)
		}
	})
}

func TestStripCookies(t *testing.T) {
	own := func(name string) bool { return name == "_rezigate" || strings.HasPrefix(name, "_rezigate_st_") }
	tests := []struct {
		in   []string
		want []string
	}{
		{nil, nil},
		{[]string{"a=1; b=2"}, []string{"a=1; b=2"}},
		{[]string{"_rezigate=x"}, nil},
		{[]string{"a=1; _rezigate=x; _rezigate_st_abc=y; b=2"}, []string{"a=1; b=2"}},
		{[]string{"_rezigate=x", "c=3"}, []string{"c=3"}},
		{[]string{"_rezigatex=1;_rezigate=2"}, []string{"_rezigatex=1"}},
		{[]string{" ; ;_rezigate_st_=1"}, nil},
	}
	for _, tc := range tests {
		h := http.Header{}
		if tc.in != nil {
			h["Cookie"] = append([]string(nil), tc.in...)
		}
		StripCookies(h, own)
		if fmt.Sprint(h["Cookie"]) != fmt.Sprint(tc.want) {
			t.Errorf("StripCookies(%q) = %q; want %q", tc.in, h["Cookie"], tc.want)
		}
	}
}

func BenchmarkStripCookies(b *testing.B) {
	own := func(name string) bool { return name == "_rezigate" }
	line := "theme=dark; _rezigate=" + strings.Repeat("x", 200) + "; lang=en"
	h := http.Header{}
	b.ReportAllocs()
	for b.Loop() {
		h["Cookie"] = []string{line}
		StripCookies(h, own)
	}
}
