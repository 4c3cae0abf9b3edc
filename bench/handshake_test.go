package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestHandshakeClient: every request of a handshake target is a new
// connection with a full handshake, and a resumed session, which would
// cost less, fails the request.
func TestHandshakeClient(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool, err := benchCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	var conns, resumed atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS.DidResume {
			resumed.Add(1)
		}
		io.WriteString(w, "ok")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused resumption's "bad certificate"
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()

	tests := []struct {
		name string
		// cache, when set, is a session cache given to the client, as a
		// returning browser has.
		cache   bool
		wantErr error
	}{
		{"full handshakes", false, nil},
		{"a resumed session fails", true, errResumed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conns.Store(0)
			resumed.Store(0)
			kex := &kexSeen{}
			client := handshakeClient(2, pool, kex)
			tr := client.Transport.(*http.Transport)
			if tc.cache {
				tr.TLSClientConfig.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			}
			spec := loadSpec{url: srv.URL + "/", n: 3, want: expect{status: http.StatusOK, bodyLen: 2}}
			var firstErr error
			for range 3 {
				if err := fetch(context.Background(), client, spec); err != nil && firstErr == nil {
					firstErr = err
				}
			}
			if !errors.Is(firstErr, tc.wantErr) {
				t.Fatalf("fetch = %v; want %v", firstErr, tc.wantErr)
			}
			if tc.wantErr != nil {
				return
			}
			if n, r := conns.Load(), resumed.Load(); n != 3 || r != 0 {
				t.Errorf("3 requests made %d connections, %d resumed; want 3 new, 0 resumed", n, r)
			}
			if got := kex.String(); got == "" || strings.Contains(got, "?") {
				t.Errorf("key exchange seen = %q; want the group of the handshakes", got)
			}
		})
	}
}

func TestSummarizeHandshakeRatios(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	r := &results{Runs: []measurement{
		{Round: 1, Target: targetBareHS, Requests: 10, CPUMicros: 200, RPS: 1000},
		{Round: 1, Target: targetRezigateHS, Requests: 10, CPUMicros: 208, RPS: 980},
		{Round: 1, Target: targetNginxHS, Requests: 10, CPUMicros: 100, RPS: 1500, BackCPUMicros: f(40)},
		{Round: 2, Target: targetBareHS, Requests: 10, CPUMicros: 100, RPS: 2000},
		{Round: 2, Target: targetRezigateHS, Requests: 10, CPUMicros: 110, RPS: 1800},
		{Round: 2, Target: targetNginxHS, Requests: 10, CPUMicros: 50, RPS: 3000, BackCPUMicros: f(30)},
	}}
	kex := &kexSeen{}
	kex.add(tls.X25519)
	r.summarize([]*target{{name: targetBareHS, kex: kex, gcURL: "x"}, {name: targetRezigateHS, kex: kex, gcURL: "x"}, {name: targetNginxHS, kex: kex}}, nil)
	want := map[string]struct {
		median    float64
		met, ref  bool
		wantTable string
	}{
		"rezigate-tls-hs CPU/handshake ÷ bare-tls-hs CPU/handshake (new connections)": {1.07, false, false, "| 1.070 | 1.040 1.100 | ≤ 1.05 | **no** |"},
		"rezigate-tls-hs handshakes/s ÷ bare-tls-hs handshakes/s (new connections)":   {0.94, false, false, "| 0.940 | 0.980 0.900 | ≥ 0.95 | **no** |"},
		"nginx-tls-hs + bare CPU/handshake ÷ bare-tls-hs CPU/handshake (reference)":   {0.75, false, true, "| 0.750 | 0.700 0.800 | – | reference |"},
		"nginx-tls-hs handshakes/s ÷ bare-tls-hs handshakes/s (reference)":            {1.5, false, true, "| 1.500 | 1.500 1.500 | – | reference |"},
	}
	var out bytes.Buffer
	r.writeTable(&out)
	got := 0
	for _, q := range r.Ratios {
		w, ok := want[q.Name]
		if !ok {
			continue
		}
		got++
		if math.Abs(q.Median-w.median) > 0.001 || q.Met != w.met || q.Reference != w.ref {
			t.Errorf("ratio %q = %.4f over %v, met %v, reference %v; want %.3f, met %v, reference %v", q.Name, q.Median, q.PerRound, q.Met, q.Reference, w.median, w.met, w.ref)
		}
		if line := "| " + q.Name + " " + w.wantTable; !strings.Contains(out.String(), line) {
			t.Errorf("table lacks %q:\n%s", line, out.String())
		}
	}
	if got != len(want) {
		t.Errorf("summarize gave %d of the %d handshake ratios: %+v", got, len(want), r.Ratios)
	}
	for _, line := range []string{
		"| nginx-tls-hs | 2250 | 75.0 | 35.0 | 110.0 | X25519 |",
		"| rezigate-tls-hs | 1390 | 159.0 | – | 159.0 | X25519 |",
		"| nginx-tls-hs | 20 | 0 | 2250 | 0 µs | 0 µs | 75.0 | 0.0 | – | – |", // no Go runtime: no GC count
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("table lacks %q:\n%s", line, out.String())
		}
	}
}

// TestNginxTLSFront runs nginx with the bench's configuration in front of
// a plain backend and makes full handshakes through it.
func TestNginxTLSFront(t *testing.T) {
	nginx := findNginx("")
	if nginx == "" {
		t.Skip("nginx is not installed")
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Cookie") != "c=1" {
			http.Error(w, "no cookie", http.StatusBadRequest)
			return
		}
		io.WriteString(w, "behind nginx")
	}))
	defer backend.Close()
	dir := t.TempDir()
	certFile, keyFile, pool, err := benchCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dir: dir, ctl: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, logw: io.Discard}
	defer func() {
		for _, c := range e.children {
			c.stop()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, base, err := e.startNginx(ctx, nginx, strings.TrimPrefix(backend.URL, "http://"), certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	kex := &kexSeen{}
	client := handshakeClient(2, pool, kex)
	r := runLoad(ctx, client, loadSpec{url: base + "/", cookie: "c=1", n: 20, c: 2, want: expect{status: http.StatusOK, bodyLen: len("behind nginx")}})
	if r.requests != 20 || r.errors != 0 {
		t.Fatalf("20 requests through nginx: %d made, %d failed, the first with %q", r.requests, r.errors, r.firstError)
	}
	if kex.String() == "" {
		t.Error("no key exchange recorded")
	}
}

// TestRunTLS runs the bench, small, with -tls: HTTPS over HTTP/1.1 and
// HTTP/2, and the handshake targets, nginx among them when installed.
func TestRunTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rezigate and starts seven processes")
	}
	res, out := runSmall(t, options{n: 200, c: 4, rounds: 2, warmup: 50, bodySize: 64, maxIdle: 256, tls: true, handshakes: 60, timeout: 2 * time.Minute})
	hs := []string{targetBareHS, targetRezigateHS}
	if findNginx("") != "" {
		hs = append(hs, targetNginxHS)
	}
	for _, name := range hs {
		var s *summary
		for i := range res.Summary {
			if res.Summary[i].Target == name {
				s = &res.Summary[i]
			}
		}
		if s == nil || s.Requests != 120 || s.KeyExchange == "" {
			t.Errorf("summary of %s = %+v; want 120 handshakes over 2 rounds and their key exchange", name, s)
			continue
		}
		// Every handshake target request opened a connection to its
		// front; what reaches the upstream stays pooled.
		if s.UpstreamConnsPer1k == nil || *s.UpstreamConnsPer1k > 100 {
			t.Errorf("summary of %s: %v new upstream connections per 1k; want the pool reused", name, s.UpstreamConnsPer1k)
		}
		if (name == targetNginxHS) != (s.BackCPUMicros != nil) {
			t.Errorf("summary of %s: CPU of the proxy behind = %v; want it only behind nginx", name, s.BackCPUMicros)
		}
	}
	found := map[string]bool{}
	for _, q := range res.Ratios {
		found[q.Name] = true
	}
	if !found["rezigate-tls-hs handshakes/s ÷ bare-tls-hs handshakes/s (new connections)"] {
		t.Errorf("run() reported no handshake ratio: %+v", res.Ratios)
	}
	if !strings.Contains(out.String(), "| new connections: one full TLS handshake and one GET each |") {
		t.Errorf("table lacks the handshake table:\n%s", out.String())
	}
}
