package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/testsupport/redisserver"
	"github.com/rezigate/rezigate/internal/testsupport/redistopo"
	"github.com/rezigate/rezigate/internal/testsupport/testca"
)

// TestConnectRefusesMisconfiguration: URLs that Redis refuses, and that
// no retry can mend, make Connect fail at once, before its context ends,
// with a hint at what to change: a Sentinel URL whose host is a data
// node, a database number on a Cluster node, a plain URL naming a
// replica, several addresses at a server that is not a Cluster, a wrong
// password, rediss:// at servers that speak plain TCP (whose handshake
// would only time out, as if Redis were down), redis:// at a TLS-only
// one (which resets the connection).
func TestConnectRefusesMisconfiguration(t *testing.T) {
	st := redistopo.StartSentinel(t, redistopo.SentinelOptions{})
	cl := redistopo.StartCluster(t, 3)
	tlsOnly := startTLSOnly(t)
	pass := st.Primary.Password()
	tlss := func(u string) string { return strings.Replace(u, "redis://", "rediss://", 1) }
	tests := []struct {
		name, url, want string
	}{
		{"sentinel URL at a data node", fmt.Sprintf("redis://:%s@127.0.0.1:%d/0?master_set=%s", pass, st.Primary.Port(), redistopo.MasterSet), "must be Sentinels"},
		{"database number on a cluster node", fmt.Sprintf("redis://:%s@127.0.0.1:%d/1", cl.Nodes[0].Password(), cl.Nodes[0].Port()), "only database 0"},
		{"plain URL at a replica", fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", pass, st.Replica.Port()), "names a replica"},
		{"cluster URL at standalone servers", fmt.Sprintf("redis://:%s@127.0.0.1:%d?addr=127.0.0.1:%d", pass, st.Primary.Port(), st.Replica.Port()), "not a Cluster"},
		{"wrong password", fmt.Sprintf("redis://:wrong-password@127.0.0.1:%d/0", st.Primary.Port()), "user or password"},
		{"rediss URL at a plain Redis", tlss(fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", pass, st.Primary.Port())),
			fmt.Sprintf("rediss:// (TLS) names a Redis at 127.0.0.1:%d that speaks plain TCP", st.Primary.Port())},
		{"rediss sentinel URL at plain Sentinels", tlss(st.URL()), "that speaks plain TCP: use redis://"},
		{"rediss cluster URL at plain nodes", tlss(cl.URL()), "that speaks plain TCP: use redis://"},
		{"redis URL at a TLS-only Redis", fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", pass, tlsOnly),
			fmt.Sprintf("redis:// (plain TCP) names a Redis at 127.0.0.1:%d that speaks TLS only", tlsOnly)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := Connect(ctx, testOptions(tc.url, "misconfig:"), slog.New(slog.DiscardHandler))
			if s != nil {
				s.Close()
			}
			if !errors.Is(err, ErrMisconfigured) || ctx.Err() != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Connect = %v (context: %v); want ErrMisconfigured at once, containing %q", err, ctx.Err(), tc.want)
			}
			for _, p := range []string{pass, cl.Nodes[0].Password(), "wrong-password"} {
				if strings.Contains(err.Error(), p) {
					t.Errorf("Connect's error holds the password: %v", err)
				}
			}
		})
	}
}

// startTLSOnly starts a redis-server that serves TLS on the port it
// returns (and plain TCP on another), with the password of the primaries
// of redistopo's topologies unknown to it, and stops it when t ends.
func startTLSOnly(t *testing.T) int {
	t.Helper()
	ca := testca.New(t, "redis test CA")
	dir := t.TempDir()
	ca.Server(t, 2).Write(t, dir+"/cert.pem", dir+"/key.pem")
	testca.WriteFile(t, dir+"/ca.pem", ca.PEM)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := redisserver.Start(context.Background(), redisserver.Options{Dir: t.TempDir(), Config: []string{
		fmt.Sprintf("tls-port %d", port),
		"tls-cert-file " + dir + "/cert.pem", "tls-key-file " + dir + "/key.pem", "tls-ca-cert-file " + dir + "/ca.pem",
	}})
	if err != nil {
		t.Fatalf("start redis-server with TLS: %v", err)
	}
	t.Cleanup(srv.Stop)
	return port
}

// TestIsRESPLine: the plain probe takes a Redis's answers to an inline
// PING, and nothing a TLS server sends, for a RESP line.
func TestIsRESPLine(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{"+PONG\r\n", true},
		{"-NOAUTH Authentication required.\r\n", true},
		{"-DENIED Redis is running in protected mode\r\n", true},
		{"-ERR unknown command 'PING'\r\n", true},
		{"+PONG\n", false},
		{"PONG\r\n", false},
		{"+\r\n", false},
		{"\x15\x03\x03\x00\x02\x02\x46\r\n", false}, // a TLS alert record
		{"-ERR \x00\r\n", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := isRESPLine([]byte(tc.line)); got != tc.want {
			t.Errorf("isRESPLine(%q) = %v; want %v", tc.line, got, tc.want)
		}
	}
}

// FuzzIsRESPLine: any bytes a server sends back are judged without a
// panic, and only a '+' or '-' line of printable ASCII ending in CRLF is
// taken for Redis.
func FuzzIsRESPLine(f *testing.F) {
	for _, s := range []string{"+PONG\r\n", "-NOAUTH Authentication required.\r\n", "\x16\x03\x03\x00\x7a\x02", "+\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if isRESPLine(b) && (b[0] != '+' && b[0] != '-' || !strings.HasSuffix(string(b), "\r\n") || strings.ContainsAny(string(b[1:len(b)-2]), "\r\n\x00")) {
			t.Errorf("isRESPLine(%q) = true", b)
		}
	})
}
