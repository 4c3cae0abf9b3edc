package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/testsupport/redistopo"
)

// TestConnectRefusesMisconfiguration: URLs that Redis refuses, and that
// no retry can mend, make Connect fail at once, before its context ends,
// with a hint at what to change: a Sentinel URL whose host is a data
// node, a database number on a Cluster node, a plain URL naming a
// replica, several addresses at a server that is not a Cluster, a wrong
// password.
func TestConnectRefusesMisconfiguration(t *testing.T) {
	st := redistopo.StartSentinel(t, redistopo.SentinelOptions{})
	cl := redistopo.StartCluster(t, 3)
	pass := st.Primary.Password()
	tests := []struct {
		name, url, want string
	}{
		{"sentinel URL at a data node", fmt.Sprintf("redis://:%s@127.0.0.1:%d/0?master_set=%s", pass, st.Primary.Port(), redistopo.MasterSet), "must be Sentinels"},
		{"database number on a cluster node", fmt.Sprintf("redis://:%s@127.0.0.1:%d/1", cl.Nodes[0].Password(), cl.Nodes[0].Port()), "only database 0"},
		{"plain URL at a replica", fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", pass, st.Replica.Port()), "names a replica"},
		{"cluster URL at standalone servers", fmt.Sprintf("redis://:%s@127.0.0.1:%d?addr=127.0.0.1:%d", pass, st.Primary.Port(), st.Replica.Port()), "not a Cluster"},
		{"wrong password", fmt.Sprintf("redis://:wrong-password@127.0.0.1:%d/0", st.Primary.Port()), "user or password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := Connect(ctx, testOptions(tc.url, "misconfig:"), slog.New(slog.DiscardHandler))
			if s != nil {
				s.Close()
			}
			if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Connect = %v (context: %v); want an error at once containing %q", err, ctx.Err(), tc.want)
			}
			if strings.Contains(err.Error(), pass) || strings.Contains(err.Error(), "wrong-password") {
				t.Errorf("Connect's error holds the password: %v", err)
			}
		})
	}
}
