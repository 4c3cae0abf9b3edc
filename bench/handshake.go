package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"
)

// The handshake targets (-tls): what a fleet of browsers arriving costs.
// Every request opens a new connection, makes a full TLS handshake (the
// client keeps no session cache, so nothing is resumed) and one
// signed-in GET over HTTP/1.1, then the connection closes. Each is
// measured against the bare proxy behind Go's TLS server; nginx
// terminating TLS in front of the plain bare proxy is the reference.
const (
	targetBareHS     = "bare-tls-hs"
	targetRezigateHS = "rezigate-tls-hs"
	targetNginxHS    = "nginx-tls-hs"
	// nginxName names the nginx child, pinned with the proxies, and its
	// files.
	nginxName = "nginx-tls"
)

// errResumed fails a handshake load's request whose TLS session was
// resumed: it would not have cost a full handshake.
var errResumed = errors.New("bench: TLS session resumed; a handshake target must make full handshakes")

// kexSeen collects the key exchange groups a target's handshakes used.
type kexSeen struct {
	mu     sync.Mutex
	groups []tls.CurveID
}

func (k *kexSeen) add(id tls.CurveID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !slices.Contains(k.groups, id) {
		k.groups = append(k.groups, id)
	}
}

// String lists the groups seen, "?" for a handshake that reported none.
func (k *kexSeen) String() string {
	if k == nil {
		return ""
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	names := make([]string, len(k.groups))
	for i, id := range k.groups {
		names[i] = id.String()
		if id == 0 {
			names[i] = "?"
		}
	}
	return strings.Join(names, ", ")
}

// handshakeClient is newLoadClient for the handshake targets: a new
// connection per request (keep-alive off), HTTP/1.1, trusting pool, and no
// session cache, so every handshake is a full one; a resumed session
// fails the request. The key exchange of each handshake goes to kex.
func handshakeClient(c int, pool *x509.CertPool, kex *kexSeen) *http.Client {
	client := newLoadClient(c)
	tr := client.Transport.(*http.Transport)
	tr.DisableKeepAlives = true
	tr.TLSClientConfig = &tls.Config{
		RootCAs: pool,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if cs.DidResume {
				return errResumed
			}
			kex.add(cs.CurveID)
			return nil
		},
	}
	return client
}

// nginxTLSConf is nginx terminating TLS in front of the plain bare proxy,
// as an operator would set it up: one process (no master, no user
// switch), TLS 1.2 or newer, a keep-alive pool to the proxy behind, no
// access log (neither Go server writes one).
var nginxTLSConf = template.Must(template.New("nginx.conf").Parse(`# written by the rezigate bench
daemon off;
master_process off;
worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/nginx-tls.log warn;

events {
    worker_connections 1024;
}

http {
    access_log off;
    client_body_temp_path {{.Dir}}/nginx-client_body;
    proxy_temp_path {{.Dir}}/nginx-proxy;
    fastcgi_temp_path {{.Dir}}/nginx-fastcgi;
    uwsgi_temp_path {{.Dir}}/nginx-uwsgi;
    scgi_temp_path {{.Dir}}/nginx-scgi;

    upstream bare {
        server {{.Backend}};
        keepalive 64;
    }

    server {
        listen {{.Listen}} ssl;
        ssl_certificate {{.Cert}};
        ssl_certificate_key {{.Key}};
        ssl_protocols TLSv1.2 TLSv1.3;

        location = /nginx-health {
            return 204;
        }

        location / {
            proxy_pass http://bare;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }
    }
}
`))

// writeNginxConf writes nginxTLSConf into dir, listening on listen and
// proxying to backend (host:port), and returns the file's path.
func writeNginxConf(dir, listen, backend, certFile, keyFile string) (string, error) {
	path := filepath.Join(dir, nginxName+".conf")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("bench: nginx config: %w", err)
	}
	err = nginxTLSConf.Execute(f, map[string]string{"Dir": dir, "Listen": listen, "Backend": backend, "Cert": certFile, "Key": keyFile})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("bench: nginx config: %w", err)
	}
	return path, nil
}

// findNginx returns the nginx binary to run: path when given, else nginx
// in PATH or /usr/sbin/nginx; "" when there is none.
func findNginx(path string) string {
	if path != "" {
		return path
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if fi, err := os.Stat("/usr/sbin/nginx"); err == nil && !fi.IsDir() {
		return "/usr/sbin/nginx"
	}
	return ""
}

// startNginx runs nginx in front of backend with the bench certificate
// and waits until it answers over HTTPS. It returns the child and the
// https base URL.
func (e *env) startNginx(ctx context.Context, nginx, backend, certFile, keyFile string) (*child, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	conf, err := writeNginxConf(e.dir, listen, backend, certFile, keyFile)
	if err != nil {
		return nil, "", err
	}
	c, err := startChild(ctx, nginxName, nginx, []string{"-p", e.dir, "-c", conf, "-e", filepath.Join(e.dir, nginxName+".log")},
		cleanEnv(os.Environ()), filepath.Join(e.dir, nginxName+".stderr"), false)
	if err != nil {
		return nil, "", err
	}
	e.children = append(e.children, c)
	base := "https://" + listen
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := e.ctl.Get(base + "/nginx-health"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return c, base, nil
			}
		}
		if c.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			return nil, "", fmt.Errorf("bench: nginx did not become ready; its log: %s\n%s", filepath.Join(e.dir, nginxName+".log"),
				tail(filepath.Join(e.dir, nginxName+".log")))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writeHandshakes prints the handshake targets, when the run had them.
func (r *results) writeHandshakes(w io.Writer) {
	var rows []summary
	for _, s := range r.Summary {
		if s.KeyExchange != "" {
			rows = append(rows, s)
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| new connections: one full TLS handshake and one GET each | handshakes/s | TLS server CPU µs/handshake | proxy behind it | together | key exchange |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---|")
	for _, s := range rows {
		behind := "–"
		if s.BackCPUMicros != nil {
			behind = fmt.Sprintf("%.1f", *s.BackCPUMicros)
		}
		together := s.CPUMicros
		if s.BackCPUMicros != nil {
			together += *s.BackCPUMicros
		}
		fmt.Fprintf(w, "| %s | %.0f | %.1f | %s | %.1f | %s |\n", s.Target, s.RPS, s.CPUMicros, behind, together, s.KeyExchange)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Handshake targets: the client keeps no TLS session cache (no resumption, checked on every connection) and keep-alive is off; nginx runs on the proxies' CPU with the bare proxy behind it, and both count.")
}

// handshakeTargets returns the handshake targets: bareTLS, rezigate (the
// HTTPS one) and, when nginx is found, nginx in front of bare. Each is
// checked with one request first.
func (e *env) handshakeTargets(ctx context.Context, bare, bareTLS *child, rg *rezigateInstance, pool *x509.CertPool, certFile, keyFile string) ([]*target, error) {
	ok200 := expect{status: http.StatusOK, bodyLen: e.o.bodySize}
	mk := func(name string, proc *child, base string) *target {
		kex := &kexSeen{}
		return &target{name: name, proc: proc, kex: kex, upstream: true,
			client: handshakeClient(e.o.c, pool, kex), warmup: max(e.o.handshakes/10, 100),
			spec: loadSpec{url: base + "/", cookie: rg.cookie, n: e.o.handshakes, c: e.o.c, want: ok200}}
	}
	b := mk(targetBareHS, bareTLS, "https://"+bareTLS.ready["addr"])
	b.gcURL = "http://" + bareTLS.ready["ctl"] + "/"
	r := mk(targetRezigateHS, rg.proc, rg.base)
	r.identified, r.gcURL = true, "http://"+rg.metrics+"/metrics"
	targets := []*target{b, r}
	if nginx := findNginx(e.o.nginx); nginx != "" {
		proc, base, err := e.startNginx(ctx, nginx, bare.ready["addr"], certFile, keyFile)
		if err != nil {
			return nil, err
		}
		n := mk(targetNginxHS, proc, base)
		n.backPID = bare.pid()
		targets = append(targets, n)
	} else {
		fmt.Fprintln(e.logw, "bench: nginx not found (-nginx); the nginx-tls-hs reference is left out")
	}
	for _, t := range targets {
		if err := fetch(ctx, t.client, t.spec); err != nil {
			return nil, fmt.Errorf("bench: %s: %w", t.name, err)
		}
	}
	return targets, nil
}
