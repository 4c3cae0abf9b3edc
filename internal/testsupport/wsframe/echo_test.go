package wsframe

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestEcho(t *testing.T) {
	seen := make(chan http.Header, 2)
	srv := httptest.NewServer(Echo(seen))
	defer srv.Close()
	if resp, err := http.Get(srv.URL); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain GET = %v, %v; want 400", resp, err)
	}
	<-seen
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + Key + "\r\nSec-WebSocket-Version: 13\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != Accept {
		t.Fatalf("handshake = %v, %v; want 101 with %s", resp, err, Accept)
	}
	if h := <-seen; h.Get("Sec-WebSocket-Key") != Key {
		t.Errorf("seen headers %v; want the handshake's", h)
	}
	if err := WriteText(conn, []byte("ping"), true); err != nil {
		t.Fatal(err)
	}
	if msg, err := ReadText(br); err != nil || string(msg) != "ping" {
		t.Errorf("echo = %q, %v; want ping", msg, err)
	}
}
