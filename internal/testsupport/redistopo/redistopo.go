// Package redistopo starts the Redis topologies production runs, for
// tests: a primary with a replica watched by Sentinels, and a Cluster,
// every node a redis-server of package redisserver on a free loopback
// port, stopped by PID when the test ends. With -short the tests that
// use it are skipped; a missing redis-server fails them.
package redistopo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/rezigate/rezigate/internal/testsupport/redisserver"
)

// MasterSet is the name under which the Sentinels of StartSentinel watch
// the primary.
const MasterSet = "rezigate"

// settleTimeout bounds how long a start waits for replication or the
// Cluster to settle.
const settleTimeout = 20 * time.Second

// SentinelOptions say what StartSentinel runs.
type SentinelOptions struct {
	// Sentinels is how many Sentinels watch the primary; 0 means one.
	Sentinels int
	// SentinelPassword is what the Sentinels require (their
	// requirepass); "" means none.
	SentinelPassword string
}

// Sentinel is a primary, its replica and the Sentinels watching them.
type Sentinel struct {
	Primary, Replica *redisserver.Server
	Sentinels        []*redisserver.Server
}

// StartSentinel starts a primary, a replica of it (in sync when it
// returns) and the Sentinels, all requiring one random password (the
// Sentinels: opts.SentinelPassword), and stops them when t ends.
func StartSentinel(t testing.TB, opts SentinelOptions) *Sentinel {
	t.Helper()
	skipShort(t)
	pass := randomPassword()
	s := &Sentinel{Primary: start(t, redisserver.Options{Password: pass})}
	s.Replica = start(t, redisserver.Options{Password: pass, Config: []string{
		"replicaof 127.0.0.1 " + strconv.Itoa(s.Primary.Port()), "masterauth " + pass,
	}})
	WaitReplicaInSync(t, s.Replica)
	n := max(opts.Sentinels, 1)
	for range n {
		conf := []string{
			fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d %d", MasterSet, s.Primary.Port(), n/2+1),
			"sentinel auth-pass " + MasterSet + " " + pass,
			"sentinel down-after-milliseconds " + MasterSet + " 1000",
			"sentinel failover-timeout " + MasterSet + " 5000",
		}
		so := redisserver.Options{Sentinel: true, Config: conf, NoPassword: opts.SentinelPassword == ""}
		if opts.SentinelPassword != "" {
			so.Password = opts.SentinelPassword
		}
		s.Sentinels = append(s.Sentinels, start(t, so))
	}
	return s
}

// URL returns the Sentinel URL of s with the data nodes' password: the
// Sentinels as hosts, ?master_set=MasterSet.
func (s *Sentinel) URL() string {
	u := fmt.Sprintf("redis://:%s@127.0.0.1:%d/0?master_set=%s", s.Primary.Password(), s.Sentinels[0].Port(), MasterSet)
	for _, x := range s.Sentinels[1:] {
		u += fmt.Sprintf("&addr=127.0.0.1:%d", x.Port())
	}
	return u
}

// WaitReplicaInSync waits until replica reports its link to its primary
// up, failing t after settleTimeout.
func WaitReplicaInSync(t testing.TB, replica *redisserver.Server) {
	t.Helper()
	c := client(t, replica)
	waitFor(t, "replica in sync", func(ctx context.Context) bool {
		info, err := c.Do(ctx, c.B().Info().Section("replication").Build()).ToString()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
}

// Cluster is a Redis Cluster of primaries without replicas, the slots
// shared evenly among them.
type Cluster struct {
	Nodes []*redisserver.Server
}

// StartCluster starts a Cluster of n primaries (0 means three) requiring
// one random password, waits until every node reports cluster_state:ok,
// and stops them when t ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	skipShort(t)
	n = cmp(n, 3)
	pass := randomPassword()
	c := &Cluster{}
	for range n {
		c.Nodes = append(c.Nodes, start(t, redisserver.Options{Password: pass, Config: []string{
			"cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout 2000", "masterauth " + pass,
		}}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	first := client(t, c.Nodes[0])
	for i, node := range c.Nodes {
		cc := client(t, node)
		lo, hi := int64(i*16384/n), int64((i+1)*16384/n-1)
		if err := cc.Do(ctx, cc.B().ClusterAddslotsrange().StartSlotEndSlot().StartSlotEndSlot(lo, hi).Build()).Error(); err != nil {
			t.Fatalf("redistopo: CLUSTER ADDSLOTSRANGE on node %d: %v", i, err)
		}
		if i > 0 {
			if err := first.Do(ctx, first.B().ClusterMeet().Ip("127.0.0.1").Port(int64(node.Port())).Build()).Error(); err != nil {
				t.Fatalf("redistopo: CLUSTER MEET node %d: %v", i, err)
			}
		}
	}
	for i, node := range c.Nodes {
		cc := client(t, node)
		waitFor(t, "cluster_state:ok on node "+strconv.Itoa(i), func(ctx context.Context) bool {
			info, err := cc.Do(ctx, cc.B().ClusterInfo().Build()).ToString()
			return err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(n)+"\r")
		})
	}
	return c
}

// URL returns a Cluster URL naming every node (?addr=), with the password,
// followed by the extra addresses given (host:port), which may be dead.
func (c *Cluster) URL(extra ...string) string {
	u := fmt.Sprintf("redis://:%s@127.0.0.1:%d", c.Nodes[0].Password(), c.Nodes[0].Port())
	sep := "?"
	for _, a := range extra {
		u += sep + "addr=" + a
		sep = "&"
	}
	for _, n := range c.Nodes[1:] {
		u += fmt.Sprintf("%saddr=127.0.0.1:%d", sep, n.Port())
		sep = "&"
	}
	return u
}

func cmp(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the tests against real Redis topologies")
	}
}

func randomPassword() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// start starts one redis-server in a directory of its own.
func start(t testing.TB, opts redisserver.Options) *redisserver.Server {
	t.Helper()
	opts.Dir = t.TempDir()
	s, err := redisserver.Start(context.Background(), opts)
	if errors.Is(err, exec.ErrNotFound) {
		t.Fatal("these tests need redis-server on PATH (Debian's redis-server package)")
	}
	if err != nil {
		t.Fatalf("redistopo: start redis-server: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// client is a plain connection to one node, closed when t ends.
func client(t testing.TB, s *redisserver.Server) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress: []string{"127.0.0.1:" + strconv.Itoa(s.Port())}, Password: s.Password(),
		ForceSingleClient: true, DisableCache: true, Dialer: netDialer(),
	})
	if err != nil {
		t.Fatalf("redistopo: connect to port %d: %v", s.Port(), err)
	}
	t.Cleanup(c.Close)
	return c
}

// waitFor polls ok until it holds, failing t after settleTimeout: the
// servers settle on their own schedule, which no channel reports.
func waitFor(t testing.TB, what string, ok func(context.Context) bool) {
	t.Helper()
	deadline := time.Now().Add(settleTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		done := ok(ctx)
		cancel()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistopo: no %s after %v", what, settleTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func netDialer() (d net.Dialer) {
	d.Timeout = time.Second
	return d
}
