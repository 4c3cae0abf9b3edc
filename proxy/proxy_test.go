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
	public, _ := url.Parse("https://rms.example.com")
	opts := Options{Upstream: u, PublicURL: public, StripHeaders: []string{"X-Extra-Secret"}}
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
		{"extra stripped header", true, map[string]string{"x_extra_secret": "evil@x"}, []string{"alice@example.com"}},
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
				if n == "x-forwarded-email" || n == "x-forwarded-user" || n == "x-extra-secret" {
					if strings.Contains(strings.Join(v, ","), "evil") {
						t.Errorf("upstream got spoofed %s: %q", k, v)
					}
				}
			}
			if fmt.Sprint(got["X-Forwarded-Email"]) != fmt.Sprint(tc.wantEmail) {
				t.Errorf("upstream X-Forwarded-Email = %q; want %q", got["X-Forwarded-Email"], tc.wantEmail)
			}
			upURL, _ := url.Parse(up.URL)
			if got.Get("X-Seen-Host") != upURL.Host || got.Get("X-Forwarded-Host") != "rms.example.com" || got.Get("X-Forwarded-Proto") != "https" || got.Get("X-Forwarded-For") != "127.0.0.1" || got.Get("X-Seen-Path") != "/a?b=1" {
				t.Errorf("upstream saw Host %q, X-Forwarded-Host %q, -Proto %q, -For %q, path %q", got.Get("X-Seen-Host"), got.Get("X-Forwarded-Host"), got.Get("X-Forwarded-Proto"), got.Get("X-Forwarded-For"), got.Get("X-Seen-Path"))
			}
		})
	}
}

// get sends req and decodes the headers echo saw.
func get(t *testing.T, req *http.Request) http.Header {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got http.Header
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

// Forward-auth response headers and the identity headers never come from
// a client, in any spelling, whatever names the identity is sent under.
func TestClientHeadersStripped(t *testing.T) {
	up := echo()
	defer up.Close()
	u, _ := url.Parse(up.URL)
	tests := []struct {
		name               string
		emailHdr, userHdr  string
		spoof              []string // header names sent with the value "evil"
		stripped, keptHdrs []string // folded names the upstream must not / must see
	}{
		{"forward-auth headers", "", "", []string{
			"X-Auth-Request-Email", "X-Auth-Request-User", "X-Auth-Request-Groups",
			"x-auth-request-preferred-username", "X_Auth_Request_Access_Token", "X-AUTH-REQUEST-REDIRECT", "x_auth-request_x",
			"X-Auth-Requester", "X-Auth-Request", "X-Auth-Request_",
		}, []string{"x-auth-request-"}, []string{"x-auth-requester", "x-auth-request"}},
		{"configured identity headers", "X-Remote-Email", "X-Remote-User", []string{
			"x_remote_email", "X-REMOTE-USER", "X-Forwarded-Email", "x_forwarded_user", "X-Remote-Emails",
		}, []string{"x-remote-email", "x-remote-user", "x-forwarded-email", "x-forwarded-user"}, []string{"x-remote-emails"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(Options{Upstream: u, EmailHeader: tc.emailHdr, UserHeader: tc.userHdr,
				Identity: func(*http.Request) (string, string, bool) { return "alice@example.com", "uid-1", true }})
			if err != nil {
				t.Fatal(err)
			}
			px := httptest.NewServer(p)
			defer px.Close()
			req, _ := http.NewRequest("GET", px.URL, nil)
			for _, k := range tc.spoof {
				req.Header[k] = []string{"evil"}
			}
			got := get(t, req)
			seen := map[string]bool{}
			for k, v := range got {
				n := normalize(k)
				seen[n] = true
				for _, s := range tc.stripped {
					if (n == s || (strings.HasSuffix(s, "-") && strings.HasPrefix(n, s))) && strings.Contains(strings.Join(v, ","), "evil") {
						t.Errorf("upstream got client-sent %s: %q", k, v)
					}
				}
			}
			for _, k := range tc.keptHdrs {
				if !seen[k] {
					t.Errorf("upstream lacks %s; only rezigate's own headers are stripped", k)
				}
			}
		})
	}
}

// The upstream learns the public scheme and host, never the client's Host
// or any client-sent X-Forwarded-* spelling; the values are replaced, not
// appended to.
func TestForwardedHeaders(t *testing.T) {
	up := echo()
	defer up.Close()
	upURL, _ := url.Parse(up.URL)
	spoof := map[string][]string{
		"X-Forwarded-Host": {"evil.example", "evil2.example"}, "X_Forwarded_Host": {"evil.example"},
		"X-Forwarded-Proto": {"http"}, "x_forwarded_proto": {"gopher"},
		"X-Forwarded-For": {"6.6.6.6", "7.7.7.7"}, "X_FORWARDED_FOR": {"6.6.6.6"},
		"Forwarded": {"for=6.6.6.6;host=evil.example;proto=http"},
	}
	tests := []struct {
		name   string
		public string
		spoof  map[string][]string
		want   map[string]string // folded name -> the single value; absent means no header
	}{
		{"public https", "https://rms.example.com", nil,
			map[string]string{"x-forwarded-host": "rms.example.com", "x-forwarded-proto": "https", "x-forwarded-for": "127.0.0.1"}},
		{"public with port", "http://rms.example.com:8080/", nil,
			map[string]string{"x-forwarded-host": "rms.example.com:8080", "x-forwarded-proto": "http", "x-forwarded-for": "127.0.0.1"}},
		{"client-sent copies replaced", "https://rms.example.com", spoof,
			map[string]string{"x-forwarded-host": "rms.example.com", "x-forwarded-proto": "https", "x-forwarded-for": "127.0.0.1"}},
		{"no public URL: no X-Forwarded-Host", "", spoof,
			map[string]string{"x-forwarded-proto": "http", "x-forwarded-for": "127.0.0.1"}},
	}
	canonical := map[string]string{"x-forwarded-host": "X-Forwarded-Host", "x-forwarded-proto": "X-Forwarded-Proto", "x-forwarded-for": "X-Forwarded-For"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Upstream: upURL}
			if tc.public != "" {
				opts.PublicURL, _ = url.Parse(tc.public)
			}
			p, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			px := httptest.NewServer(p)
			defer px.Close()
			req, _ := http.NewRequest("GET", px.URL, nil)
			req.Host = "evil.example"
			for k, v := range tc.spoof {
				req.Header[k] = v
			}
			got := get(t, req)
			if g := got.Get("X-Seen-Host"); g != upURL.Host {
				t.Errorf("upstream Host = %q; want the upstream's own %q", g, upURL.Host)
			}
			have := map[string]string{}
			for k, v := range got {
				switch n := normalize(k); n {
				case "x-forwarded-host", "x-forwarded-proto", "x-forwarded-for", "forwarded":
					if k != canonical[n] || len(v) != 1 {
						t.Errorf("upstream got %s: %q; want one value under %s", k, v, canonical[n])
						continue
					}
					have[n] = v[0]
				}
			}
			if fmt.Sprint(have) != fmt.Sprint(tc.want) {
				t.Errorf("upstream forwarding headers = %v; want %v", have, tc.want)
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
	up, _ := url.Parse("http://127.0.0.1:1")
	for _, raw := range []string{"", "ftp://x", "/relative", "https://", "rms.example.com"} {
		u, _ := url.Parse(raw)
		if _, err := New(Options{Upstream: up, PublicURL: u}); err == nil {
			t.Errorf("New(PublicURL: %q) = nil error; want an error", raw)
		}
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

// FuzzStripHeaders checks the proxy's header set against a plain
// oracle: a header goes exactly when its normalized name is one rezigate
// sets or starts with x-auth-request-.
func FuzzStripHeaders(f *testing.F) {
	for _, s := range []string{"X-Forwarded-Email", "x_forwarded_user", "X-Other", "", "X-Auth-Request-Groups",
		"x_auth_request_", "X-Auth-Request", "X-AUTH-REQUEST-ACCESS-TOKEN", "X_Forwarded_Host", "http2_settings", "X-Remote-User"} {
		f.Add(s)
	}
	u, _ := url.Parse("http://127.0.0.1:1")
	p, err := New(Options{Upstream: u, UserHeader: "X-Remote-User"})
	if err != nil {
		f.Fatal(err)
	}
	strip := map[string]bool{"x-remote-user": true}
	for _, n := range []string{"x-forwarded-email", "x-forwarded-user", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "forwarded", "http2-settings"} {
		strip[n] = true
	}
	f.Fuzz(func(t *testing.T, key string) {
		h := http.Header{key: {"v"}}
		p.strip.remove(h)
		n := normalize(key)
		want := strip[n] || strings.HasPrefix(n, "x-auth-request-")
		if _, kept := h[key]; kept == want {
			t.Errorf("strip kept=%v for %q; want stripped=%v", kept, key, want)
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
		stripCookies(h, own)
		if fmt.Sprint(h["Cookie"]) != fmt.Sprint(tc.want) {
			t.Errorf("stripCookies(%q) = %q; want %q", tc.in, h["Cookie"], tc.want)
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
		stripCookies(h, own)
	}
}
