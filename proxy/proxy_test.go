package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/optionerr"
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

// TestValidate has one case per rule; each names the field errors it
// expects, in order, as "Field: message start".
func TestValidate(t *testing.T) {
	const secret = "upstream-password-4d2f"
	parse := func(raw string) *url.URL {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("url.Parse(%q): %v", raw, err)
		}
		return u
	}
	tests := []struct {
		name   string
		mutate func(*Options)
		want   []string // nil means valid
	}{
		{"valid", func(o *Options) {}, nil},
		{"https upstream", func(o *Options) { o.Upstream = parse("https://app.internal:8443") }, nil},
		{"upstream with path and query", func(o *Options) { o.Upstream = parse("http://app:3000/base?x=1") }, nil},
		{"no public url", func(o *Options) { o.PublicURL = nil }, nil},
		{"public url with path", func(o *Options) { o.PublicURL = parse("https://rms.example.com/ignored") }, nil},
		{"own header names", func(o *Options) { o.EmailHeader, o.UserHeader = "X-Remote-Email", "X-Remote-User" }, nil},
		{"only a user header", func(o *Options) { o.UserHeader = "Remote-User" }, nil},
		{"strip headers", func(o *Options) { o.StripHeaders = []string{"X-Extra", "x_other"} }, nil},

		{"no upstream", func(o *Options) { o.Upstream = nil }, []string{"Upstream: required"}},
		{"empty upstream", func(o *Options) { o.Upstream = parse("") }, []string{"Upstream: must be an absolute http or https URL"}},
		{"upstream other scheme", func(o *Options) { o.Upstream = parse("ftp://x") }, []string{"Upstream: must be an absolute http or https URL"}},
		{"upstream unix", func(o *Options) { o.Upstream = parse("unix:///run/app.sock") }, []string{"Upstream: must be an absolute http or https URL"}},
		{"upstream relative", func(o *Options) { o.Upstream = parse("/relative") }, []string{"Upstream: must be an absolute http or https URL"}},
		{"upstream without host", func(o *Options) { o.Upstream = parse("http://") }, []string{"Upstream: must be an absolute http or https URL"}},
		{"upstream with only a port", func(o *Options) { o.Upstream = parse("http://:3000") }, []string{"Upstream: must be an absolute http or https URL"}},
		{"upstream with fragment", func(o *Options) { o.Upstream = parse("http://app:3000/#x") }, []string{"Upstream: must not have a fragment"}},
		{"upstream with user", func(o *Options) { o.Upstream = parse("http://admin:" + secret + "@app:3000") }, []string{"Upstream: must not contain a user name or password"}},
		{"public url empty", func(o *Options) { o.PublicURL = parse("") }, []string{"PublicURL: must be an absolute http or https URL"}},
		{"public url other scheme", func(o *Options) { o.PublicURL = parse("ftp://x") }, []string{"PublicURL: must be an absolute http or https URL"}},
		{"public url relative", func(o *Options) { o.PublicURL = parse("/relative") }, []string{"PublicURL: must be an absolute http or https URL"}},
		{"public url without host", func(o *Options) { o.PublicURL = parse("https://") }, []string{"PublicURL: must be an absolute http or https URL"}},
		{"public url without scheme", func(o *Options) { o.PublicURL = parse("rms.example.com") }, []string{"PublicURL: must be an absolute http or https URL"}},
		// The rule is package httpurl's: Upstream refused a fragment, PublicURL took one.
		{"public url with fragment", func(o *Options) { o.PublicURL = parse("https://rms.example.com/#x") }, []string{"PublicURL: must not have a fragment"}},
		{"public url with user", func(o *Options) { o.PublicURL = parse("https://u:" + secret + "@rms.example.com") }, []string{"PublicURL: must not contain a user name or password"}},
		{"email header with a space", func(o *Options) { o.EmailHeader = "X Email" }, []string{"EmailHeader: must be a header name"}},
		{"user header with a colon", func(o *Options) { o.UserHeader = "X-User:" }, []string{"UserHeader: must be a header name"}},
		{"header not ASCII", func(o *Options) { o.UserHeader = "X-Usér" }, []string{"UserHeader: must be a header name"}},
		{"same header twice", func(o *Options) { o.EmailHeader, o.UserHeader = "X-Who", "x_who" }, []string{"UserHeader: must differ from EmailHeader"}},
		{"user header is the default email header", func(o *Options) { o.UserHeader = DefaultEmailHeader }, []string{"UserHeader: must differ from EmailHeader"}},
		{"empty strip header", func(o *Options) { o.StripHeaders = []string{"X-Ok", ""} }, []string{"StripHeaders[1]: must not be empty"}},
		{"bad strip header", func(o *Options) { o.StripHeaders = []string{"X Ok", "X-Ok:"} }, []string{"StripHeaders[0]: must be a header name", "StripHeaders[1]: must be a header name"}},
		{"every problem at once", func(o *Options) {
			o.Upstream, o.PublicURL, o.EmailHeader, o.StripHeaders = nil, parse("x"), "a b", []string{"c\nd"}
		}, []string{"Upstream:", "PublicURL:", "EmailHeader:", "StripHeaders[0]:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Upstream: parse("http://127.0.0.1:1"), PublicURL: parse("https://rms.example.com")}
			tc.mutate(&o)
			err := o.Validate()
			fields := optionerr.Fields(err)
			if len(fields) != len(tc.want) {
				t.Fatalf("Validate() = %v; want %d field errors %q", err, len(tc.want), tc.want)
			}
			for i, fe := range fields {
				if fe.Pkg != "proxy" || !strings.HasPrefix(fe.Field+": "+fe.Msg, tc.want[i]) {
					t.Errorf("Validate() problem %d = %q; want it to start %q in package proxy", i, fe, tc.want[i])
				}
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("Validate() = %v; leaks a password", err)
			}
			_, nerr := New(o)
			switch {
			case err == nil && nerr != nil:
				t.Errorf("New() = %v; want nil error", nerr)
			case err != nil && (nerr == nil || nerr.Error() != err.Error()):
				t.Errorf("New() = %v; want Validate's error %q unchanged", nerr, err)
			}
		})
	}
}

func TestTransportOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    TransportOptions
		want []string
	}{
		{"zero", TransportOptions{}, nil},
		{"no idle pool", TransportOptions{MaxIdleConns: -1}, nil},
		{"all set", TransportOptions{MaxIdleConns: 8, DialTimeout: time.Second, TLSHandshakeTimeout: time.Second, ResponseHeaderTimeout: time.Minute}, nil},
		{"negative dial", TransportOptions{DialTimeout: -1}, []string{"proxy: DialTimeout: must not be negative"}},
		{"every negative", TransportOptions{DialTimeout: -1, TLSHandshakeTimeout: -1, ResponseHeaderTimeout: -time.Second}, []string{
			"proxy: DialTimeout: must not be negative", "proxy: TLSHandshakeTimeout: must not be negative", "proxy: ResponseHeaderTimeout: must not be negative",
		}},
		{"server name", TransportOptions{ServerName: "upstream.internal"}, nil},
		{"server name IP", TransportOptions{ServerName: "10.0.0.1"}, nil},
		{"server name with port", TransportOptions{ServerName: "upstream.internal:443"}, []string{"proxy: ServerName: must be a host name or IP address, without scheme or port"}},
		{"server name URL", TransportOptions{ServerName: "https://upstream"}, []string{"proxy: ServerName: must be a host name or IP address, without scheme or port"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, fe := range optionerr.Fields(tc.o.Validate()) {
				got = append(got, fe.Error())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Validate() = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestNewTransportDefaults(t *testing.T) {
	tr := NewTransport(TransportOptions{})
	if tr.MaxIdleConns != DefaultMaxIdleConns || tr.MaxIdleConnsPerHost != DefaultMaxIdleConns || tr.DisableKeepAlives ||
		tr.TLSHandshakeTimeout != DefaultTLSHandshakeTimeout || tr.ResponseHeaderTimeout != DefaultResponseHeaderTimeout {
		t.Errorf("NewTransport(zero) = idle %d/%d, keep-alives off %v, TLS %v, header %v; want the defaults",
			tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.DisableKeepAlives, tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout)
	}
	if tr := NewTransport(TransportOptions{MaxIdleConns: -1}); !tr.DisableKeepAlives {
		t.Errorf("NewTransport(MaxIdleConns: -1) keeps connections alive; want no idle pool")
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
// sets, one of the override and trusted identity headers, a configured
// one, or starts with x-auth-request-.
func FuzzStripHeaders(f *testing.F) {
	for _, s := range []string{"X-Forwarded-Email", "x_forwarded_user", "X-Other", "", "X-Auth-Request-Groups",
		"x_auth_request_", "X-Auth-Request", "X-AUTH-REQUEST-ACCESS-TOKEN", "X_Forwarded_Host", "http2_settings", "X-Remote-User",
		"X-Original-URL", "x_http_method_override", "X-HTTP-METHOD", "x-method_override", "Remote_User", "X-WEBAUTH-USER",
		"x_forwarded_preferred_username", "X-Rewrite-Url", "x-override-url", "X-App-Role", "x_app_roles",
		"X-Very-Long-Configured-Header-Name-That-Is-Past-The-Index", "x_very_long_configured_header_name_that_is_past_the_index"} {
		f.Add(s)
	}
	u, _ := url.Parse("http://127.0.0.1:1")
	p, err := New(Options{Upstream: u, UserHeader: "X-Remote-User", AssertionHeader: "X-Gate-Assertion",
		StripHeaders: []string{"X-App-Role", "X-Very-Long-Configured-Header-Name-That-Is-Past-The-Index"}})
	if err != nil {
		f.Fatal(err)
	}
	strip := map[string]bool{}
	for _, n := range []string{
		"x-forwarded-email", "x-forwarded-user", "x-forwarded-groups", "x-rezigate-assertion", "x-gate-assertion",
		"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "forwarded", "http2-settings",
		"x-original-url", "x-rewrite-url", "x-override-url", "x-http-method-override", "x-http-method", "x-method-override",
		"remote-user", "x-remote-user", "x-webauth-user", "x-forwarded-preferred-username",
		"x-app-role", "x-very-long-configured-header-name-that-is-past-the-index",
	} {
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
