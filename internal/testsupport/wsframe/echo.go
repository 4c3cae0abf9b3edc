package wsframe

import (
	"net/http"
	"strings"
)

// The handshake key of RFC 6455 section 1.3 and the accept value a server
// answers it with; Echo takes only this key.
const (
	Key    = "dGhlIHNhbXBsZSBub25jZQ=="
	Accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// Echo is an upstream that sends each handshake's headers to seen,
// completes the handshake when it carries Key, and echoes one text frame.
// Any other request gets 400.
func Echo(seen chan<- http.Header) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || r.Header.Get("Sec-WebSocket-Key") != Key {
			http.Error(w, "not a websocket handshake", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + Accept + "\r\n\r\n")
		if brw.Flush() != nil {
			return
		}
		if msg, err := ReadText(brw); err == nil {
			_ = WriteText(conn, msg, false)
		}
	})
}
