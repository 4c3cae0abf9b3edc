package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A client that announces a large body and sends it a byte at a time
// cannot hold a connection once rezigate has answered without reading the
// body; a signed-in upload through the proxy, sent just as slowly, still
// reaches the upstream in full.
func TestSlowBody(t *testing.T) {
	const (
		chunk  = 16 << 10
		chunks = 4
	)
	progress := make(chan int, chunks+1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/upload" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		buf := make([]byte, chunk)
		total := 0
		for {
			n, err := io.ReadFull(r.Body, buf)
			total += n
			if n > 0 {
				progress <- total
			}
			if err != nil {
				break
			}
		}
		fmt.Fprintf(w, "received %d", total)
	}))
	t.Cleanup(upstream.Close) // after the rezigate process is stopped
	addr := freeAddr(t)
	issuer := startDemoProvider(t, "http://"+addr+"/oauth2/callback")
	start(t, writeConfig(t, addr, issuer, upstream.URL, ""), addr)
	c := signedInClient(t, addr)

	// The upload starts first and is held open across the slow-body
	// attack, so it lasts longer than any grace rezigate gives an unread
	// body; each chunk is sent only after the upstream got the last one.
	pr, pw := io.Pipe()
	defer pw.CloseWithError(errors.New("test ended"))
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/upload", pr) // unknown length: chunked
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		resp *http.Response
		body string
		err  error
	}
	uploaded := make(chan result, 1)
	slow := &http.Client{Jar: c.Jar} // no overall timeout: each step below has its own
	go func() {
		resp, err := slow.Do(req)
		if err != nil {
			uploaded <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		uploaded <- result{resp: resp, body: string(b), err: err}
	}()
	payload := []byte(strings.Repeat("u", chunk))
	sendChunk := func(i int) {
		t.Helper()
		if _, err := pw.Write(payload); err != nil {
			t.Fatalf("upload chunk %d: %v", i, err)
		}
		select {
		case got := <-progress:
			if got != (i+1)*chunk {
				t.Fatalf("upstream has %d bytes after chunk %d; want %d", got, i, (i+1)*chunk)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("upstream did not receive chunk %d within 10 s", i)
		}
	}
	sendChunk(0)

	t.Run("unauthenticated slow bodies are cut", func(t *testing.T) {
		const conns = 60
		kinds := []struct {
			path, accept string
			want         int
		}{
			{"/anything", "application/json", http.StatusUnauthorized},
			{"/anything", "text/html", http.StatusFound},
			{"/oauth2/callback", "text/html", http.StatusMethodNotAllowed},
			{"/oauth2/nothing", "text/html", http.StatusNotFound},
		}
		errs := make(chan error, conns)
		for i := 0; i < conns; i++ {
			k := kinds[i%len(kinds)]
			go func() { errs <- slowBody(addr, k.path, k.accept, k.want) }()
		}
		for i := 0; i < conns; i++ {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	})

	for i := 1; i < chunks; i++ {
		sendChunk(i)
	}
	pw.Close()
	select {
	case r := <-uploaded:
		if r.err != nil {
			t.Fatalf("upload: %v", r.err)
		}
		if want := fmt.Sprintf("received %d", chunks*chunk); r.resp.StatusCode != http.StatusOK || r.body != want {
			t.Errorf("upload = %d %q; want 200 %q", r.resp.StatusCode, r.body, want)
		}
		if r.resp.Close {
			t.Error("upload response closes the connection; want keep-alive for the app")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("upload got no response within 10 s")
	}
}

// slowBody announces a 200000-byte body on a raw connection, sends one
// byte of it, reads rezigate's answer, sends one more byte and expects the
// server to close the connection rather than wait for the rest.
func slowBody(addr, path, accept string, want int) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	head := "POST " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nAccept: " + accept +
		"\r\nContent-Type: application/octet-stream\r\nContent-Length: 200000\r\n\r\nx"
	if _, err := io.WriteString(conn, head); err != nil {
		return fmt.Errorf("%s: send headers: %w", path, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return fmt.Errorf("%s: no response while the body is unsent: %w", path, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("%s: read response body: %w", path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s: status %d; want %d", path, resp.StatusCode, want)
	}
	_, _ = conn.Write([]byte("y")) // may already fail: the server is closing
	n, err := br.Read(make([]byte, 1))
	var ne net.Error
	switch {
	case err == nil:
		return fmt.Errorf("%s: server sent %d more bytes after its %d; want the connection closed", path, n, want)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%s: connection still open 10 s after a %d with 2 of 200000 body bytes sent", path, want)
	}
	return nil // io.EOF or a reset: the server closed the connection
}
