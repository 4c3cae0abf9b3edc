package proxy

import (
	"bufio"
	"encoding/json"
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

// lenientH2C records the headers it receives, like echo, but switches to
// h2c whenever a request names it in Upgrade, with or without
// "Connection: Upgrade": the kind of upstream an h2c smuggling attack
// needs.
func lenientH2C() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(strings.ToLower(strings.Join(r.Header["Upgrade"], ",")), "h2c") {
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
			brw.Flush()
			return
		}
		_ = json.NewEncoder(w).Encode(r.Header)
	}))
}

func TestOnlyWebSocketUpgrades(t *testing.T) {
	up := lenientH2C()
	defer up.Close()
	u, _ := url.Parse(up.URL)
	p, err := New(Options{Upstream: u})
	if err != nil {
		t.Fatal(err)
	}
	px := httptest.NewServer(p)
	defer px.Close()

	tests := []struct {
		name        string
		header      map[string]string
		wantUpgrade string // "" means the upstream must see a plain request
	}{
		{"h2c with settings", map[string]string{"Connection": "Upgrade, HTTP2-Settings", "Upgrade": "h2c", "HTTP2-Settings": "AAMAAABkAARAAAAAAAIAAAAA"}, ""},
		{"h2c, settings not in Connection", map[string]string{"Connection": "Upgrade", "Upgrade": "H2C", "HTTP2-Settings": "AAMAAABkAARAAAAAAAIAAAAA"}, ""},
		{"h2c after a websocket token", map[string]string{"Connection": "keep-alive, Upgrade", "Upgrade": "websocket, h2c"}, ""},
		{"other protocol", map[string]string{"Connection": "Upgrade", "Upgrade": "foo/1"}, ""},
		{"settings without an upgrade, underscore spelling", map[string]string{"HTTP2_Settings": "AAMAAABkAARAAAAAAAIAAAAA"}, ""},
		{"websocket", map[string]string{"Connection": "Upgrade", "Upgrade": "websocket"}, "websocket"},
		{"websocket, any case", map[string]string{"Connection": "keep-alive, upgrade", "Upgrade": "WebSocket"}, "WebSocket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequest("GET", px.URL+"/", nil)
			for k, v := range tc.header {
				req.Header[k] = []string{v}
			}
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %s; want 200 from a plain request upstream", resp.Status)
			}
			var got http.Header
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(got["Upgrade"], ","); g != tc.wantUpgrade {
				t.Errorf("upstream Upgrade = %q; want %q", g, tc.wantUpgrade)
			}
			conn := strings.ToLower(strings.Join(got["Connection"], ","))
			if tc.wantUpgrade == "" && conn != "" {
				t.Errorf("upstream Connection = %q; want none", conn)
			}
			if tc.wantUpgrade != "" && conn != "upgrade" {
				t.Errorf("upstream Connection = %q; want upgrade", conn)
			}
			for k := range got {
				if normalize(k) == "http2-settings" {
					t.Errorf("upstream got %s", k)
				}
			}
		})
	}
}

// A signed-in WebSocket goes through: handshake, identity headers, and
// an echoed message.
func TestWebSocket(t *testing.T) {
	seen := make(chan http.Header, 1)
	up := httptest.NewServer(wsframe.Echo(seen))
	defer up.Close()
	upURL, _ := url.Parse(up.URL)
	public, _ := url.Parse("https://rms.example.com")
	p, err := New(Options{
		Upstream: upURL, PublicURL: public,
		Identity:     func(*http.Request) (string, string, bool) { return "alice@example.com", "uid-1", true },
		StripCookies: func(name string) bool { return name == "_rezigate" },
	})
	if err != nil {
		t.Fatal(err)
	}
	px := httptest.NewServer(p)
	defer px.Close()

	tests := []struct {
		name, upgrade, connection string
	}{
		{"lower case", "websocket", "Upgrade"},
		{"mixed case, more Connection tokens", "WebSocket", "keep-alive, Upgrade"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", px.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // a bound, not an ordering
			fmt.Fprintf(conn, "GET /chat HTTP/1.1\r\nHost: evil.example\r\nUpgrade: %s\r\nConnection: %s\r\n"+
				"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"+
				"X-Forwarded-Email: mallory@example.com\r\nX-Auth-Request-Groups: admins\r\nCookie: _rezigate=session; app=1\r\n\r\n",
				tc.upgrade, tc.connection, wsframe.Key)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != wsframe.Accept {
				t.Fatalf("handshake = %s, accept %q; want 101 and %q", resp.Status, resp.Header.Get("Sec-WebSocket-Accept"), wsframe.Accept)
			}
			h := <-seen
			if g := h["X-Forwarded-Email"]; len(g) != 1 || g[0] != "alice@example.com" {
				t.Errorf("upstream X-Forwarded-Email = %q; want [alice@example.com]", g)
			}
			if g := h.Get("X-Forwarded-Host"); g != "rms.example.com" {
				t.Errorf("upstream X-Forwarded-Host = %q; want rms.example.com", g)
			}
			if g := h.Get("Cookie"); g != "app=1" {
				t.Errorf("upstream Cookie = %q; want app=1", g)
			}
			if g := h.Get("X-Auth-Request-Groups"); g != "" {
				t.Errorf("upstream X-Auth-Request-Groups = %q; want none", g)
			}
			if err := wsframe.WriteText(conn, []byte("hello"), true); err != nil {
				t.Fatal(err)
			}
			msg, err := wsframe.ReadText(br)
			if err != nil || string(msg) != "hello" {
				t.Errorf("echo = %q, %v; want \"hello\"", msg, err)
			}
		})
	}
}
