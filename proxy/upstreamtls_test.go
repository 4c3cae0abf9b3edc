package proxy

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/certfile"
	"github.com/rezigate/rezigate/internal/testsupport/lockedbuf"
	"github.com/rezigate/rezigate/internal/testsupport/testca"
)

// tlsUpstream starts an https upstream serving leaf, asking for a client
// certificate from clientCA when it is not nil. It answers with the SNI
// it got and the serial of the client certificate (-1 without one).
func tlsUpstream(t *testing.T, leaf testca.Leaf, clientCA *testca.CA) *httptest.Server {
	t.Helper()
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-SNI", r.TLS.ServerName)
		w.Header().Set("X-Client-Serial", strconv.FormatInt(testca.Serial(*r.TLS), 10))
	}))
	up.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	if clientCA != nil {
		up.TLS.ClientAuth, up.TLS.ClientCAs = tls.RequireAndVerifyClientCert, clientCA.Pool()
	}
	up.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError) // the refused handshakes
	up.StartTLS()
	t.Cleanup(up.Close)
	return up
}

// TestUpstreamTLS: an https upstream is trusted through RootCAs and
// verified against ServerName, and gets the client certificate; any
// failure to trust it gives the 502 page with no error text, the cause
// only in the log.
func TestUpstreamTLS(t *testing.T) {
	ca, wrong := testca.New(t, "upstream CA"), testca.New(t, "another CA")
	dir := t.TempDir()
	clientCert, clientKey := filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	ca.Client(t, 7, "rezigate").Write(t, clientCert, clientKey)
	client, err := certfile.Load(clientCert, clientKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain := tlsUpstream(t, ca.Server(t, 1), nil)
	named := tlsUpstream(t, ca.Server(t, 2, "upstream.internal"), nil)
	mtls := tlsUpstream(t, ca.Server(t, 3), ca)

	tests := []struct {
		name       string
		upstream   string
		o          TransportOptions
		wantStatus int
		wantSNI    string
		wantClient string // serial the upstream saw
		wantLog    string
	}{
		{"private CA", plain.URL, TransportOptions{RootCAs: ca.Pool()}, 200, "", "-1", ""},
		{"wrong CA", plain.URL, TransportOptions{RootCAs: wrong.Pool()}, 502, "", "", "unknown authority"},
		{"no CA: system roots", plain.URL, TransportOptions{}, 502, "", "", "unknown authority"},
		{"name not in the certificate", named.URL, TransportOptions{RootCAs: ca.Pool()}, 502, "", "", "127.0.0.1"},
		{"server name", named.URL, TransportOptions{RootCAs: ca.Pool(), ServerName: "upstream.internal"}, 200, "upstream.internal", "-1", ""},
		{"wrong server name", plain.URL, TransportOptions{RootCAs: ca.Pool(), ServerName: "other.internal"}, 502, "", "", "other.internal"},
		{"mTLS", mtls.URL, TransportOptions{RootCAs: ca.Pool(), ClientCertificate: client.GetClientCertificate}, 200, "", "7", ""},
		{"mTLS without a client certificate", mtls.URL, TransportOptions{RootCAs: ca.Pool()}, 502, "", "", "certificate required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs lockedbuf.Buffer
			u, _ := url.Parse(tc.upstream)
			tr := NewTransport(tc.o)
			defer tr.CloseIdleConnections()
			p, err := New(Options{Upstream: u, Transport: tr, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			p.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			if w.Code != tc.wantStatus {
				t.Fatalf("status = %d; want %d; log:\n%s", w.Code, tc.wantStatus, logs.String())
			}
			if tc.wantStatus != 200 {
				body := w.Body.String()
				for _, leak := range []string{"x509", "tls:", "certificate", "authority", "remote error"} {
					if strings.Contains(body, leak) {
						t.Errorf("502 page holds error text %q:\n%s", leak, body)
					}
				}
				if !strings.Contains(body, "could not be reached") {
					t.Errorf("502 body is not the error page:\n%s", body)
				}
				if !strings.Contains(logs.String(), tc.wantLog) {
					t.Errorf("log lacks %q:\n%s", tc.wantLog, logs.String())
				}
				return
			}
			if g := w.Header().Get("X-SNI"); g != tc.wantSNI {
				t.Errorf("upstream SNI = %q; want %q", g, tc.wantSNI)
			}
			if g := w.Header().Get("X-Client-Serial"); g != tc.wantClient {
				t.Errorf("upstream saw client certificate serial %s; want %s", g, tc.wantClient)
			}
		})
	}
}

// TestUpstreamClientCertificateRotation: a client certificate replaced in
// its files is presented on the next new connection to the upstream, with
// no restart.
func TestUpstreamClientCertificateRotation(t *testing.T) {
	ca := testca.New(t, "upstream CA")
	dir := t.TempDir()
	clientCert, clientKey := filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	ca.Client(t, 1, "rezigate").Write(t, clientCert, clientKey)
	client, err := certfile.Load(clientCert, clientKey, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	up := tlsUpstream(t, ca.Server(t, 10), ca)
	u, _ := url.Parse(up.URL)
	// No idle pool: every request is a new connection, a new handshake.
	p, err := New(Options{Upstream: u, Transport: NewTransport(TransportOptions{MaxIdleConns: -1, RootCAs: ca.Pool(), ClientCertificate: client.GetClientCertificate})})
	if err != nil {
		t.Fatal(err)
	}
	serial := func() string {
		w := httptest.NewRecorder()
		p.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		return w.Header().Get("X-Client-Serial")
	}
	if s := serial(); s != "1" {
		t.Fatalf("client serial = %s; want 1", s)
	}
	ca.Client(t, 2, "rezigate").Write(t, clientCert, clientKey)
	// The files are looked at once a second at most: poll, bounded.
	got := ""
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && got != "2"; time.Sleep(50 * time.Millisecond) {
		got = serial()
	}
	if got != "2" {
		t.Errorf("client serial after rotation = %s; want 2", got)
	}
}
