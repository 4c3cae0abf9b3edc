package redisstore

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// A URL whose scheme does not match what the server speaks never works,
// yet looks to the client like a Redis that is down: a plain Redis reads
// the TLS ClientHello of rediss:// as the start of an inline command and
// waits for the rest, so the handshake times out; a TLS-only port resets
// the plain RESP of redis://. So, once the connection failed that way,
// the address is asked once in the other transport, bounded by the dial
// timeout, and a server that answers there is refused with
// ErrMisconfigured. The probes send no password, nor any command beyond
// an inline PING.

// wrongTransportError says that the server at addr speaks the transport
// the URL's scheme did not ask for.
type wrongTransportError struct {
	addr string
	tls  bool  // the server speaks TLS, the URL redis://; else plain TCP, the URL rediss://
	err  error // the failure that led to the probe
}

func (e *wrongTransportError) Error() string {
	if e.tls {
		return e.err.Error() + "; it answers in TLS"
	}
	return e.err.Error() + "; it answers in plain RESP"
}

func (e *wrongTransportError) Unwrap() error { return e.err }

// hint says what to change, in the words of misconfigured.
func (e *wrongTransportError) hint() string {
	if e.tls {
		return fmt.Sprintf("redis:// (plain TCP) names a Redis at %s that speaks TLS only: use rediss://, or turn plain TCP on at the server (its port setting)", e.addr)
	}
	return fmt.Sprintf("rediss:// (TLS) names a Redis at %s that speaks plain TCP: use redis://, or turn TLS on at the server (its tls-port setting)", e.addr)
}

// dialTLS is the client's dialer (rueidis.ClientOption.DialCtxFn): with a
// TLS config, that of rediss://, it connects and shakes hands as
// tls.Dialer does, both within the dial timeout; when the handshake fails
// other than by the certificate or by the end of ctx, and the address
// answers an inline PING in plain RESP, it fails with a
// *wrongTransportError. Without one it dials plain TCP.
func dialTLS(ctx context.Context, addr string, d *net.Dialer, cfg *tls.Config) (net.Conn, error) {
	if cfg == nil {
		return d.DialContext(ctx, "tcp", addr)
	}
	hctx, cancel := withTimeout(ctx, d.Timeout)
	defer cancel()
	raw, err := d.DialContext(hctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if cfg.ServerName == "" { // as tls.Dialer does
		host, _, _ := net.SplitHostPort(addr)
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	conn := tls.Client(raw, cfg)
	err = conn.HandshakeContext(hctx)
	if err == nil {
		return conn, nil
	}
	_ = raw.Close()
	var cv *tls.CertificateVerificationError
	if ctx.Err() != nil || errors.As(err, &cv) {
		return nil, err
	}
	err = fmt.Errorf("tls handshake with %s: %w", addr, err)
	if speaksPlainRESP(ctx, addr, d) {
		return nil, &wrongTransportError{addr: addr, err: err}
	}
	return nil, err
}

// speaksPlainRESP sends an inline PING to addr over plain TCP and reports
// whether the first line of the answer is a RESP simple string or error,
// as Redis and Sentinel send (+PONG, -NOAUTH, -DENIED), all within d's
// timeout.
func speaksPlainRESP(ctx context.Context, addr string, d *net.Dialer) bool {
	ctx, cancel := withTimeout(ctx, d.Timeout)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, "PING\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReaderSize(conn, 256).ReadSlice('\n')
	return err == nil && isRESPLine(line)
}

// isRESPLine reports whether line is one RESP simple string or error:
// '+' or '-', printable ASCII, then CRLF.
func isRESPLine(line []byte) bool {
	if len(line) < 4 || (line[0] != '+' && line[0] != '-') || string(line[len(line)-2:]) != "\r\n" {
		return false
	}
	for _, c := range line[1 : len(line)-2] {
		if c < ' ' || c > '~' {
			return false
		}
	}
	return true
}

// speaksTLS reports whether addr completes, or answers in TLS, a TLS
// handshake within timeout: it succeeds, the certificate is not trusted,
// or the server sends an alert (it wants a client certificate). Nothing
// is sent after the handshake.
func speaksTLS(ctx context.Context, addr string, timeout time.Duration) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}
	ctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		_ = conn.Close()
		return true
	}
	var (
		cv *tls.CertificateVerificationError
		ae tls.AlertError
	)
	return errors.As(err, &cv) || errors.As(err, &ae)
}

// resetAddr returns the address of the server that ended a plain
// connection as soon as the client spoke (err is a read that failed with
// the server's TCP address, or an EOF from the URL's one server), or ""
// when err is not such a failure or the URL is rediss://.
func resetAddr(err error, co *rueidis.ClientOption) string {
	if co.TLSConfig != nil {
		return ""
	}
	var op *net.OpError
	switch {
	case errors.As(err, &op) && op.Op == "read" && strings.HasPrefix(op.Net, "tcp") && op.Addr != nil:
		return op.Addr.String()
	case errors.Is(err, io.EOF) && len(co.InitAddress) == 1 && co.Sentinel.MasterSet == "":
		return co.InitAddress[0]
	}
	return ""
}

// withTimeout is context.WithTimeout, or ctx as it is when d is not
// positive.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}
