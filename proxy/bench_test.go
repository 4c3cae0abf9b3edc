package proxy

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"testing"
)

// BenchmarkRewrite measures the per-request header work of the proxy's
// Rewrite against the bare SetURL and SetXForwarded of a plain
// ReverseProxy, on a browser-like request.
func BenchmarkRewrite(b *testing.B) {
	up, _ := url.Parse("http://127.0.0.1:8080")
	p, err := New(Options{
		Upstream:     up,
		Identity:     func(*http.Request) (string, string, bool) { return "alice@example.com", "uid-1", true },
		StripCookies: func(name string) bool { return name == "_rezigate" },
		PublicURL:    &url.URL{Scheme: "https", Host: "rms.example.com"},
	})
	if err != nil {
		b.Fatal(err)
	}
	template := http.Header{
		"Accept":          {"text/html,application/xhtml+xml"},
		"Accept-Encoding": {"gzip, deflate, br"},
		"Accept-Language": {"en-GB,en;q=0.9"},
		"Cookie":          {"theme=dark; lang=en"},
		"Referer":         {"https://rms.example.com/dashboard"},
		"Sec-Fetch-Mode":  {"navigate"},
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64)"},
	}
	in := &http.Request{Method: "GET", URL: &url.URL{Path: "/dashboard"}, Host: "rms.example.com", RemoteAddr: "192.0.2.1:5555", Header: template}
	bare := func(pr *httputil.ProxyRequest) { pr.SetURL(up); pr.SetXForwarded() }
	for _, bc := range []struct {
		name    string
		rewrite func(*httputil.ProxyRequest)
	}{
		{"bare", bare},
		{"rezigate", p.rewrite},
	} {
		b.Run(bc.name, func(b *testing.B) {
			out := &http.Request{Header: make(http.Header, 16)}
			outURL := &url.URL{}
			pr := &httputil.ProxyRequest{In: in, Out: out}
			b.ReportAllocs()
			for b.Loop() {
				clear(out.Header)
				for k, v := range template {
					out.Header[k] = v
				}
				*outURL = *in.URL
				out.URL = outURL
				bc.rewrite(pr)
			}
		})
	}
}
