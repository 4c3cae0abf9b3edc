// Package statuswriter is the middleware's http.ResponseWriter: it
// records the status code for the access log, and keeps a client from
// pinning a connection with a request body that the middleware answers
// without reading.
package statuswriter

import (
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// unreadBodyGrace is how long net/http may go on reading a request body
// that the middleware answered without reading, before the connection is
// cut. It lets a client that has sent its whole body see a clean close.
const unreadBodyGrace = time.Second

// Writer remembers the status code for the access log. Unwrap lets
// http.ResponseController reach the underlying writer's Flush and Hijack,
// which the reverse proxy needs for streaming and protocol upgrades.
//
// It also keeps a client from pinning a connection with a request body
// that the middleware answers without reading (a 401, a redirect to sign
// in, a 405...). net/http would otherwise read up to 256 KiB of it, at
// whatever pace the client sends, before it sends the answer or reuses
// the connection. While body is set, a response whose header goes out
// before the body was read to its end says Connection: close, and Finish
// bounds the remaining read by unreadBodyGrace. The app's responses are
// left alone: an upload through the proxy may take as long as it takes.
type Writer struct {
	http.ResponseWriter
	code int
	// body watches the request body while the middleware answers itself;
	// nil when the request has none and once Release gave it up.
	body *bodyWatch
	// closing is set once the response said Connection: close.
	closing bool
}

// bodyWatch passes a request body through and records whether it was
// read to its end.
type bodyWatch struct {
	io.ReadCloser
	eof atomic.Bool
}

func (b *bodyWatch) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof.Store(true)
	}
	return n, err
}

// Watch starts watching r's body, if it has one that net/http would
// otherwise have to drain. HTTP/2 resets an unread stream by itself, and
// Connection: close would end every other stream of its connection there.
func (w *Writer) Watch(r *http.Request) {
	if r.ProtoMajor == 1 && r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		w.body = &bodyWatch{ReadCloser: r.Body}
	}
}

// Own makes r, a copy of the request that the middleware made, read its
// body through the watch, so that a handler which reads the whole body
// keeps the connection alive.
func (w *Writer) Own(r *http.Request) *http.Request {
	if w.body != nil {
		r.Body = w.body
	}
	return r
}

// closeIfUnread runs just before the response header is written.
func (w *Writer) closeIfUnread() {
	if w.body != nil && !w.body.eof.Load() {
		w.Header().Set("Connection", "close")
		w.closing = true
	}
}

// Finish runs once the handler has returned: a connection that is to be
// closed gets unreadBodyGrace to deliver the rest of the body, not more.
func (w *Writer) Finish() {
	if w.code == 0 {
		w.closeIfUnread() // net/http is about to write an implicit 200
	}
	if w.closing {
		_ = http.NewResponseController(w.ResponseWriter).SetReadDeadline(time.Now().Add(unreadBodyGrace))
	}
}

// WriteHeader records the first final status code and writes it.
func (w *Writer) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
		w.closeIfUnread()
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write writes b, recording 200 if no status was written.
func (w *Writer) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
		w.closeIfUnread()
	}
	return w.ResponseWriter.Write(b)
}

// Flush flushes the underlying writer, recording 200 if no status was
// written.
func (w *Writer) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
		w.closeIfUnread()
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Status is the status code of the response: 200 when none was written.
func (w *Writer) Status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Release stops watching the request body: the handler that now has the
// request (the app behind a proxy) reads its body at its own pace.
func (w *Writer) Release() { w.body = nil }
