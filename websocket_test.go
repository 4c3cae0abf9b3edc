package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/testsupport/wsframe"
)

// A signed-in browser opens a WebSocket through the running gateway: the
// handshake reaches the upstream with rezigate's identity and public
// host, and a message is echoed. Without a session the upstream is never
// reached.
func TestWebSocketThroughGateway(t *testing.T) {
	seen := make(chan http.Header, 4)
	echo := wsframe.Echo(seen)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/live" { // not the sign-in journey's own landing page
			echo.ServeHTTP(w, r)
		}
	}))
	defer upstream.Close()

	addr := freeAddr(t)
	issuer := startDemoProvider(t, "http://"+addr+"/oauth2/callback")
	start(t, writeConfig(t, addr, issuer, upstream.URL, ""), addr)
	c := signedInClient(t, addr)
	var session []string
	for _, ck := range c.Jar.Cookies(&url.URL{Scheme: "http", Host: addr, Path: "/"}) {
		session = append(session, ck.Name+"="+ck.Value)
	}

	tests := []struct {
		name     string
		cookie   string
		signedIn bool
	}{
		{"signed in", strings.Join(session, "; "), true},
		{"no session", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // a bound, not an ordering
			fmt.Fprintf(conn, "GET /live HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
				"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nX-Forwarded-Email: mallory@example.com\r\nCookie: %s\r\n\r\n", wsframe.Key, tc.cookie)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.signedIn {
				if resp.StatusCode == http.StatusSwitchingProtocols {
					t.Errorf("handshake without a session = 101; want a sign-in answer")
				}
				select {
				case h := <-seen:
					t.Errorf("upstream reached without a session (%s): %v", resp.Status, h)
				default:
				}
				return
			}
			if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != wsframe.Accept {
				t.Fatalf("handshake = %s, accept %q; want 101 and %q", resp.Status, resp.Header.Get("Sec-WebSocket-Accept"), wsframe.Accept)
			}
			h := <-seen
			if g := h["X-Forwarded-Email"]; len(g) != 1 || g[0] != "alice@example.com" {
				t.Errorf("upstream X-Forwarded-Email = %q; want [alice@example.com]", g)
			}
			if g := h.Get("X-Forwarded-Host"); g != addr {
				t.Errorf("upstream X-Forwarded-Host = %q; want the public host %q", g, addr)
			}
			if g := h.Get("Cookie"); strings.Contains(g, "_rezigate") {
				t.Errorf("upstream Cookie = %q; want no rezigate cookie", g)
			}
			if err := wsframe.WriteText(conn, []byte("hello"), true); err != nil {
				t.Fatal(err)
			}
			if msg, err := wsframe.ReadText(br); err != nil || string(msg) != "hello" {
				t.Errorf("echo = %q, %v; want \"hello\"", msg, err)
			}
		})
	}
}
