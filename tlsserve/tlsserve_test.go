package tlsserve

import (
	"bufio"
	"crypto/tls"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/testsupport/testca"
	"github.com/rezigate/rezigate/optionerr"
)

func TestValidate(t *testing.T) {
	get := func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil }
	tests := []struct {
		name string
		o    Options
		want []string // "Field: message start"
	}{
		{"files", Options{CertFile: "c", KeyFile: "k"}, nil},
		{"files and 1.3", Options{CertFile: "c", KeyFile: "k", MinVersion: tls.VersionTLS13}, nil},
		{"GetCertificate", Options{GetCertificate: get}, nil},
		{"nothing", Options{}, []string{"CertFile: required"}},
		{"certificate only", Options{CertFile: "c"}, []string{"KeyFile: required with CertFile"}},
		{"key only", Options{KeyFile: "k"}, []string{"CertFile: required with KeyFile"}},
		{"two sources", Options{CertFile: "c", KeyFile: "k", GetCertificate: get}, []string{"CertFile: must be empty"}},
		{"TLS 1.1", Options{GetCertificate: get, MinVersion: tls.VersionTLS11}, []string{`MinVersion: must be TLS "1.2" or "1.3"`}},
		{"not a version", Options{GetCertificate: get, MinVersion: 1}, []string{`MinVersion: must be TLS "1.2" or "1.3"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, fe := range optionerr.Fields(tc.o.Validate()) {
				got = append(got, fe.Field+": "+fe.Msg)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Validate() = %q; want %q", got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("Validate() = %q; want %q", got[i], tc.want[i])
				}
			}
		})
	}
}

// serve starts an HTTPS server with NewConfig(o) as the command does
// (http.Server.ServeTLS), answering with the protocol each request came
// over. It returns the server's URL.
func serve(t *testing.T, o Options) string {
	t.Helper()
	cfg, err := NewConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) }),
		TLSConfig: cfg,
		ErrorLog:  log.New(io.Discard, "", 0), // the refused handshakes
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return "https://" + ln.Addr().String()
}

// TestNewConfigServes: HTTP/2 to a client offering it, HTTP/1.1 to one
// offering only that (a WebSocket client), and no handshake at all below
// the minimum version.
func TestNewConfigServes(t *testing.T) {
	ca := testca.New(t, "test CA")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca.Server(t, 1).Write(t, certFile, keyFile)
	tests := []struct {
		name       string
		min        uint16
		client     *tls.Config
		wantProto  string // "" means the handshake fails
		wantErrSub string
	}{
		{"h2", 0, &tls.Config{NextProtos: []string{"h2", "http/1.1"}}, "HTTP/2.0", ""},
		{"http/1.1 only", 0, &tls.Config{NextProtos: []string{"http/1.1"}}, "HTTP/1.1", ""},
		{"TLS 1.1 refused", 0, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, "", "protocol version"},
		{"TLS 1.2 refused by min 1.3", tls.VersionTLS13, &tls.Config{MaxVersion: tls.VersionTLS12}, "", "protocol version"},
		{"TLS 1.3 with min 1.3", tls.VersionTLS13, &tls.Config{NextProtos: []string{"h2"}}, "HTTP/2.0", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, Options{CertFile: certFile, KeyFile: keyFile, MinVersion: tc.min, Logger: slog.New(slog.DiscardHandler)})
			cc := tc.client.Clone()
			cc.RootCAs = ca.Pool()
			tr := &http.Transport{TLSClientConfig: cc, ForceAttemptHTTP2: slices.Contains(cc.NextProtos, "h2")}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Get(srv)
			if tc.wantProto == "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrSub) {
					t.Fatalf("GET = %v; want an error with %q", err, tc.wantErrSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != tc.wantProto {
				t.Errorf("served over %s; want %s", body, tc.wantProto)
			}
		})
	}
}

// TestRotation: a pair replaced in place reaches new handshakes in the
// same server, while a connection opened before keeps working with its
// certificate.
func TestRotation(t *testing.T) {
	ca := testca.New(t, "test CA")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca.Server(t, 1).Write(t, certFile, keyFile)
	srv := serve(t, Options{CertFile: certFile, KeyFile: keyFile, Logger: slog.New(slog.DiscardHandler)})
	old := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, ForceAttemptHTTP2: true}
	defer old.CloseIdleConnections()
	get := func(tr *http.Transport) int64 {
		t.Helper()
		resp, err := (&http.Client{Transport: tr}).Get(srv)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return testca.Serial(*resp.TLS)
	}
	if s := get(old); s != 1 {
		t.Fatalf("serial = %d; want 1", s)
	}
	ca.Server(t, 2).Write(t, certFile, keyFile)
	if s := waitSerial(t, srv, ca, 2); s != 2 {
		t.Fatalf("new handshakes still get serial %d; want 2", s)
	}
	if s := get(old); s != 1 {
		t.Errorf("the connection opened before the rotation now shows serial %d; want 1 (it was cut)", s)
	}
}

// waitSerial opens new connections to url until one shows want, or 10 s
// pass: the files are looked at once a second at most. It returns the
// last serial seen.
func waitSerial(t *testing.T, rawURL string, ca *testca.CA, want int64) int64 {
	t.Helper()
	u, _ := url.Parse(rawURL)
	var got int64 = -1
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		c, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: ca.Pool()})
		if err != nil {
			t.Fatal(err)
		}
		got = testca.Serial(c.ConnectionState())
		c.Close()
		if got == want {
			break
		}
	}
	return got
}

func TestRedirect(t *testing.T) {
	public, _ := url.Parse("https://rms.example.com")
	challenge := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "token") })
	tests := []struct {
		name         string
		challenge    http.Handler
		method, uri  string
		host         string
		wantStatus   int
		wantLocation string
	}{
		{"root", nil, "GET", "/", "rms.example.com", 308, "https://rms.example.com/"},
		{"path and query", nil, "GET", "/a/b?x=1&y=%2F", "rms.example.com", 308, "https://rms.example.com/a/b?x=1&y=%2F"},
		{"post keeps its method", nil, "POST", "/form", "rms.example.com", 308, "https://rms.example.com/form"},
		{"client Host ignored", nil, "GET", "/x", "evil.example", 308, "https://rms.example.com/x"},
		{"absolute-form request", nil, "GET", "http://evil.example/x", "evil.example", 308, "https://rms.example.com/x"},
		{"double slash stays a path", nil, "GET", "//evil.example/x", "rms.example.com", 308, "https://rms.example.com//evil.example/x"},
		{"challenge without a hook", nil, "GET", "/.well-known/acme-challenge/abc", "rms.example.com", 404, ""},
		{"challenge with a hook", challenge, "GET", "/.well-known/acme-challenge/abc", "rms.example.com", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.uri, nil)
			r.Host = tc.host
			w := httptest.NewRecorder()
			Redirect(public, tc.challenge).ServeHTTP(w, r)
			if w.Code != tc.wantStatus || w.Header().Get("Location") != tc.wantLocation {
				t.Errorf("%s %s = %d %q; want %d %q", tc.method, tc.uri, w.Code, w.Header().Get("Location"), tc.wantStatus, tc.wantLocation)
			}
		})
	}
}

// FuzzRedirect: whatever the request line and Host, the redirect stays on
// public_url's origin: its Location is that origin followed by a path.
func FuzzRedirect(f *testing.F) {
	for _, s := range []string{"/", "/a?b=c", "//evil.example/x", "/\\evil", "*", "http://evil.example/", "/.well-known/acme-challenge/x", "/%2F%2Fevil"} {
		f.Add(s, "evil.example")
	}
	public, _ := url.Parse("https://rms.example.com")
	h := Redirect(public, nil)
	f.Fuzz(func(t *testing.T, uri, host string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + uri + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")))
		if err != nil {
			return // not a request a server would serve
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		loc := w.Header().Get("Location")
		if w.Code == http.StatusNotFound && strings.HasPrefix(r.URL.Path, ChallengePrefix) {
			return
		}
		if w.Code != http.StatusPermanentRedirect || !strings.HasPrefix(loc, "https://rms.example.com/") {
			t.Fatalf("GET %q Host %q = %d %q; want 308 to https://rms.example.com/...", uri, host, w.Code, loc)
		}
		if u, err := url.Parse(loc); err != nil || u.Host != "rms.example.com" || u.Scheme != "https" {
			t.Fatalf("GET %q: Location %q parses to host %v (%v); want rms.example.com", uri, loc, u, err)
		}
	})
}
