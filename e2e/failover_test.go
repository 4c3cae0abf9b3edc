//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The failover stage: rezigate's sessions in a replicated Redis as
// production runs it (Sentinel, Cluster), a primary lost under load. Its
// figures are logged and, when REZIGATE_E2E_FIGURES names a file (run.sh
// sets it), appended there, so they are printed even when the test passes.

const (
	// failoverUsers are signed in for the whole stage; every one of their
	// sessions must outlive each failover.
	failoverUsers = 20
	// revokeBefore users sign out just before each kill (each answer
	// acknowledged), revokeDuring users while the primary is gone.
	revokeBefore = 3
	revokeDuring = 3
	// downAfter is the sentinels' down-after-milliseconds and the
	// cluster's cluster-node-timeout.
	downAfter = 1000 * time.Millisecond
)

// redisNode is one redis-server of a replicated topology: a port, a
// directory holding its config (and nodes.conf and the append-only file),
// and the running process, replaced when the node is restarted.
type redisNode struct {
	Port int
	dir  string
	conf string
	proc *process
	name string
	// owner is the test that started the topology: a restarted node is
	// stopped when the topology's test ends, not the phase's.
	owner *testing.T
}

// startRedisNode writes conf (the password added) into a fresh directory
// and starts redis-server on it; extra are more arguments (--sentinel).
func startRedisNode(t *testing.T, name string, port int, body string, extra ...string) *redisNode {
	t.Helper()
	dir := t.TempDir()
	n := &redisNode{Port: port, dir: dir, conf: filepath.Join(dir, "redis.conf"), name: name, owner: t}
	body = fmt.Sprintf("port %d\nbind 127.0.0.1\ndaemonize no\ndir %s\n", port, dir) + body
	if err := os.WriteFile(n.conf, []byte(body), 0o600); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	n.start(extra...)
	return n
}

// start runs redis-server on the node's config, as it was left.
func (n *redisNode) start(extra ...string) {
	n.owner.Helper()
	n.proc = startProcess(n.owner, n.name, redisBinary(n.owner), append([]string{n.conf}, extra...), baseEnv())
}

// signal sends sig to the node's process (SIGKILL: waits until it is gone).
func (n *redisNode) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := n.proc.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%s: signal %v to PID %d: %v", n.name, sig, n.proc.cmd.Process.Pid, err)
	}
	if sig != syscall.SIGKILL {
		return
	}
	select {
	case <-n.proc.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: PID %d still runs 10s after SIGKILL", n.name, n.proc.cmd.Process.Pid)
	}
}

// redisCLI runs redis-cli against 127.0.0.1:port (the password, if any,
// in REDISCLI_AUTH, never on the command line) and returns its output.
func redisCLI(port int, password string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "redis-cli", append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(port)}, args...)...)
	cmd.Env = baseEnv()
	if password != "" {
		cmd.Env = append(cmd.Env, "REDISCLI_AUTH="+password)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// infoField is field's value in the output of INFO, or "".
func infoField(info, field string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

// replicaOf reports whether the node is a replica of primary with its
// link up, and what it says otherwise.
func replicaOf(port, primary int, password string) (bool, string) {
	info, err := redisCLI(port, password, "INFO", "replication")
	if err != nil {
		return false, fmt.Sprintf("INFO on %d: %v %s", port, err, info)
	}
	role, mport, link := infoField(info, "role"), infoField(info, "master_port"), infoField(info, "master_link_status")
	if role == "slave" && mport == strconv.Itoa(primary) && link == "up" {
		return true, ""
	}
	return false, fmt.Sprintf("%d: role %s, master_port %s, link %s", port, role, mport, link)
}

// poll calls f every 50ms until it reports done or timeout passes, and
// returns how long that took; past the timeout the test fails with f's
// last word.
func poll(t *testing.T, what string, timeout time.Duration, f func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	var last string
	for {
		done, msg := f()
		if done {
			return time.Since(start)
		}
		last = msg
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %v; last: %s", what, timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// topology is a replicated Redis the failover phases run against.
type topology interface {
	// URL is REZIGATE_REDIS_URL.
	URL() string
	// waitHealthy polls until every node replicates and a failover can
	// happen.
	waitHealthy(t *testing.T)
	// primary is the node the next phase stops: one holding sessions.
	primary(t *testing.T) *redisNode
	// waitFailedOver polls until another node serves old's data as
	// primary, and returns it.
	waitFailedOver(t *testing.T, old *redisNode) *redisNode
	// waitRejoined polls until old, back, replicates from primary.
	waitRejoined(t *testing.T, old, primary *redisNode)
}

// sentinelTopology is a primary, one replica and three sentinels
// watching them, all with the data nodes' password; the sentinels
// themselves are asked without one.
type sentinelTopology struct {
	password  string
	data      []*redisNode
	sentinels []*redisNode
}

const masterSet = "mymaster"

func startSentinel(t *testing.T) *sentinelTopology {
	t.Helper()
	ports := freePorts(t, 5)
	s := &sentinelTopology{password: randomHex(t, 24)}
	// Persistence as docs/redis.md asks for: the append-only file, fsync
	// every second.
	data := fmt.Sprintf("requirepass %s\nmasterauth %s\nappendonly yes\nappendfsync everysec\nsave \"\"\nmaxmemory-policy noeviction\nrepl-diskless-sync-delay 0\n", s.password, s.password)
	s.data = append(s.data, startRedisNode(t, "redis-primary", ports[0], data))
	s.data = append(s.data, startRedisNode(t, "redis-replica", ports[1], data+fmt.Sprintf("replicaof 127.0.0.1 %d\n", ports[0])))
	for i, p := range ports[2:] {
		conf := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 2\nsentinel auth-pass %s %s\nsentinel down-after-milliseconds %s %d\nsentinel failover-timeout %s 2000\nsentinel parallel-syncs %s 1\n",
			masterSet, ports[0], masterSet, s.password, masterSet, downAfter.Milliseconds(), masterSet, masterSet)
		s.sentinels = append(s.sentinels, startRedisNode(t, fmt.Sprintf("sentinel-%d", i+1), p, conf, "--sentinel"))
	}
	return s
}

// URL names the three sentinels and the master set; the password is the
// data nodes'.
func (s *sentinelTopology) URL() string {
	return fmt.Sprintf("redis://:%s@127.0.0.1:%d?addr=127.0.0.1:%d&addr=127.0.0.1:%d&master_set=%s",
		s.password, s.sentinels[0].Port, s.sentinels[1].Port, s.sentinels[2].Port, masterSet)
}

// master is the primary's port as sentinel n tells it.
func (s *sentinelTopology) master(n *redisNode) (int, error) {
	out, err := redisCLI(n.Port, "", "SENTINEL", "get-master-addr-by-name", masterSet)
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, out)
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		return 0, fmt.Errorf("sentinel answered %q", out)
	}
	return strconv.Atoi(f[1])
}

func (s *sentinelTopology) node(port int) *redisNode {
	for _, n := range s.data {
		if n.Port == port {
			return n
		}
	}
	return nil
}

// tilt names the sentinels in TILT mode: stalled for more than 2s (an
// overloaded machine), they act on nothing for 30s, and a replica whose
// link has been down ten times down-after-milliseconds longer than the
// primary was seen down is no longer promoted.
func (s *sentinelTopology) tilt() string {
	var in []string
	for _, sn := range s.sentinels {
		if out, err := redisCLI(sn.Port, "", "INFO", "sentinel"); err == nil && infoField(out, "sentinel_tilt") == "1" {
			in = append(in, sn.name)
		}
	}
	if len(in) == 0 {
		return ""
	}
	return "; in TILT mode (stalled for over 2s: an overloaded machine): " + strings.Join(in, ", ")
}

func (s *sentinelTopology) waitHealthy(t *testing.T) {
	t.Helper()
	poll(t, "sentinel topology healthy", 60*time.Second, func() (bool, string) {
		if tilt := s.tilt(); tilt != "" {
			return false, tilt
		}
		var primary int
		for _, sn := range s.sentinels {
			m, err := s.master(sn)
			if err != nil {
				return false, err.Error()
			}
			if primary != 0 && m != primary {
				return false, fmt.Sprintf("sentinels disagree: %d and %d", primary, m)
			}
			primary = m
			out, err := redisCLI(sn.Port, "", "SENTINEL", "master", masterSet)
			if err != nil {
				return false, err.Error()
			}
			f := strings.Fields(out)
			kv := map[string]string{}
			for i := 0; i+1 < len(f); i += 2 {
				kv[f[i]] = f[i+1]
			}
			if kv["flags"] != "master" || kv["num-slaves"] != "1" || kv["num-other-sentinels"] != "2" {
				return false, fmt.Sprintf("%s: flags %s, num-slaves %s, num-other-sentinels %s", sn.name, kv["flags"], kv["num-slaves"], kv["num-other-sentinels"])
			}
		}
		for _, n := range s.data {
			if n.Port == primary {
				continue
			}
			if ok, msg := replicaOf(n.Port, primary, s.password); !ok {
				return false, msg
			}
		}
		return true, ""
	})
}

func (s *sentinelTopology) primary(t *testing.T) *redisNode {
	t.Helper()
	m, err := s.master(s.sentinels[0])
	if err != nil || s.node(m) == nil {
		t.Fatalf("the sentinels' primary: %d, %v", m, err)
	}
	return s.node(m)
}

func (s *sentinelTopology) waitFailedOver(t *testing.T, old *redisNode) *redisNode {
	t.Helper()
	var now *redisNode
	poll(t, "sentinels promote the replica", 60*time.Second, func() (bool, string) {
		m, err := s.master(s.sentinels[0])
		if err != nil {
			return false, err.Error()
		}
		if m == old.Port {
			return false, "the sentinels still name the old primary" + s.tilt()
		}
		info, err := redisCLI(m, s.password, "INFO", "replication")
		if err != nil || infoField(info, "role") != "master" {
			return false, fmt.Sprintf("%d: not yet a primary: %v %s", m, err, info)
		}
		now = s.node(m)
		return now != nil, fmt.Sprintf("unknown primary %d", m)
	})
	return now
}

func (s *sentinelTopology) waitRejoined(t *testing.T, old, primary *redisNode) {
	t.Helper()
	poll(t, "the old primary rejoins as a replica", 60*time.Second, func() (bool, string) {
		return replicaOf(old.Port, primary.Port, s.password)
	})
}

// clusterTopology is three primaries with one replica each.
type clusterTopology struct {
	password string
	nodes    []*redisNode
	// heir is the replica of the primary primary chose, as the cluster
	// knew it before that primary was lost.
	heir *redisNode
}

func startCluster(t *testing.T) *clusterTopology {
	t.Helper()
	// Six for clients, six for the cluster bus (by default port+10000,
	// which freeport does not check).
	ports := freePorts(t, 12)
	c := &clusterTopology{password: randomHex(t, 24)}
	conf := fmt.Sprintf("requirepass %s\nmasterauth %s\ncluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout %d\nappendonly yes\nappendfsync everysec\nsave \"\"\nmaxmemory-policy noeviction\nrepl-diskless-sync-delay 0\n",
		c.password, c.password, downAfter.Milliseconds())
	var addrs []string
	for i, p := range ports[:6] {
		c.nodes = append(c.nodes, startRedisNode(t, fmt.Sprintf("cluster-%d", i+1), p, conf+fmt.Sprintf("cluster-port %d\n", ports[6+i])))
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", p))
	}
	for _, n := range c.nodes {
		poll(t, n.name+" answers", 10*time.Second, func() (bool, string) {
			if done, err := n.proc.exited(); done {
				t.Fatalf("%s exited: %v", n.name, err)
			}
			err := redisPing(n.Port, c.password)
			return err == nil, fmt.Sprint(err)
		})
	}
	out, err := redisCLI(ports[0], c.password, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "1", "--cluster-yes")...)
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	return c
}

// URL lists every node; the first is the host, the rest addr parameters.
func (c *clusterTopology) URL() string {
	var q []string
	for _, n := range c.nodes[1:] {
		q = append(q, fmt.Sprintf("addr=127.0.0.1:%d", n.Port))
	}
	return fmt.Sprintf("redis://:%s@127.0.0.1:%d?%s", c.password, c.nodes[0].Port, strings.Join(q, "&"))
}

// clusterNode is a line of CLUSTER NODES.
type clusterNode struct {
	id, master string
	port       int
	flags      string
	connected  bool
	slots      bool
}

// view is CLUSTER NODES and CLUSTER INFO's state as node n sees them.
func (c *clusterTopology) view(n *redisNode) ([]clusterNode, string, error) {
	info, err := redisCLI(n.Port, c.password, "CLUSTER", "INFO")
	if err != nil {
		return nil, "", fmt.Errorf("%s: %v %s", n.name, err, info)
	}
	out, err := redisCLI(n.Port, c.password, "CLUSTER", "NODES")
	if err != nil {
		return nil, "", fmt.Errorf("%s: %v %s", n.name, err, out)
	}
	var nodes []clusterNode
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, "", fmt.Errorf("%s: CLUSTER NODES line %q", n.name, line)
		}
		addr, _, _ := strings.Cut(f[1], "@")
		_, ps, _ := strings.Cut(addr, ":")
		p, _ := strconv.Atoi(ps)
		nodes = append(nodes, clusterNode{id: f[0], port: p, flags: f[2], master: f[3], connected: f[7] == "connected", slots: len(f) > 8})
	}
	return nodes, infoField(info, "cluster_state"), nil
}

func (c *clusterTopology) node(port int) *redisNode {
	for _, n := range c.nodes {
		if n.Port == port {
			return n
		}
	}
	return nil
}

// healthyFrom reports whether n sees three primaries with slots, each with
// one connected replica, nothing failing, the state ok.
func (c *clusterTopology) healthyFrom(n *redisNode) (bool, string) {
	nodes, state, err := c.view(n)
	if err != nil {
		return false, err.Error()
	}
	if state != "ok" {
		return false, n.name + ": cluster_state " + state
	}
	primaries, replicas := 0, map[string]int{}
	for _, cn := range nodes {
		if strings.Contains(cn.flags, "fail") || !cn.connected {
			return false, fmt.Sprintf("%s sees %d as %s, connected %v", n.name, cn.port, cn.flags, cn.connected)
		}
		if strings.Contains(cn.flags, "master") && cn.slots {
			primaries++
		}
		if strings.Contains(cn.flags, "slave") {
			replicas[cn.master]++
		}
	}
	if primaries != 3 || len(replicas) != 3 {
		return false, fmt.Sprintf("%s sees %d primaries with slots, replicas of %d", n.name, primaries, len(replicas))
	}
	return true, ""
}

func (c *clusterTopology) waitHealthy(t *testing.T) {
	t.Helper()
	poll(t, "cluster healthy", 60*time.Second, func() (bool, string) {
		for _, n := range c.nodes {
			if ok, msg := c.healthyFrom(n); !ok {
				return false, msg
			}
			if role, err := redisCLI(n.Port, c.password, "INFO", "replication"); err != nil {
				return false, err.Error()
			} else if infoField(role, "role") == "slave" && infoField(role, "master_link_status") != "up" {
				return false, n.name + ": replication link down"
			}
		}
		return true, ""
	})
}

func (c *clusterTopology) primary(t *testing.T) *redisNode {
	t.Helper()
	nodes, _, err := c.view(c.nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	c.heir = nil
	for _, p := range nodes {
		if !strings.Contains(p.flags, "master") || !p.slots {
			continue
		}
		for _, r := range nodes {
			if r.master == p.id {
				c.heir = c.node(r.port)
				return c.node(p.port)
			}
		}
	}
	t.Fatalf("no primary with slots and a replica in the view of %s", c.nodes[0].name)
	return nil
}

func (c *clusterTopology) waitFailedOver(t *testing.T, old *redisNode) *redisNode {
	t.Helper()
	replica := c.heir
	if replica == nil {
		t.Fatalf("no replica of %s known", old.name)
	}
	poll(t, "the cluster promotes "+replica.name, 60*time.Second, func() (bool, string) {
		nodes, state, err := c.view(replica)
		if err != nil {
			return false, err.Error()
		}
		for _, cn := range nodes {
			if cn.port == replica.Port && strings.Contains(cn.flags, "master") && cn.slots && state == "ok" {
				return true, ""
			}
		}
		return false, replica.name + ": not yet a primary with slots, cluster_state " + state
	})
	return replica
}

func (c *clusterTopology) waitRejoined(t *testing.T, old, primary *redisNode) {
	t.Helper()
	poll(t, "the old primary rejoins as a replica", 60*time.Second, func() (bool, string) {
		if ok, msg := replicaOf(old.Port, primary.Port, c.password); !ok {
			return false, msg
		}
		return c.healthyFrom(primary)
	})
}

// probe is one request of the load loop.
type probe struct {
	start, end time.Time
	user       int
	status     int // 0: no answer
}

// loadLoop sends GET /headers with the stage's sessions to the replicas
// in turn: one request every loadPace whatever the earlier ones do (a
// request waiting on Redis does not hold the next back), at most
// loadInFlight at once, until stopped or bounded.
type loadLoop struct {
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
	mu      sync.Mutex
	probes  []probe
	client  *http.Client
	cookies []string
}

const (
	loadPace        = 10 * time.Millisecond
	loadInFlight    = 64
	loadMaxRequests = 12000
	loadMaxTime     = 90 * time.Second
)

func startLoad(rs *replicaSet, cookies []string) *loadLoop {
	l := &loadLoop{stop: make(chan struct{}), cookies: cookies, client: &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	deadline := time.Now().Add(loadMaxTime)
	slots := make(chan struct{}, loadInFlight)
	l.wg.Go(func() {
		tick := time.NewTicker(loadPace)
		defer tick.Stop()
		for i := 0; i < loadMaxRequests && time.Now().Before(deadline); i++ {
			select {
			case <-l.stop:
				return
			case <-tick.C:
			}
			select {
			case slots <- struct{}{}:
			case <-l.stop:
				return
			}
			user := i % len(cookies)
			base := rs.Replicas[(i/len(cookies)+user)%len(rs.Replicas)]
			l.wg.Go(func() {
				defer func() { <-slots }()
				p := probe{start: time.Now(), user: user}
				p.status = l.get(base+"/headers", cookies[user])
				p.end = time.Now()
				l.mu.Lock()
				l.probes = append(l.probes, p)
				l.mu.Unlock()
			})
		}
	})
	return l
}

func (l *loadLoop) get(target, cookie string) int {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return 0
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Cookie", replicaCookie+"="+cookie)
	resp, err := l.client.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (l *loadLoop) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.probes)
}

// since returns the probes started at or after t.
func (l *loadLoop) since(t time.Time) []probe {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []probe
	for _, p := range l.probes {
		if !p.start.Before(t) {
			out = append(out, p)
		}
	}
	return out
}

// halt stops the loop (once) and returns every probe.
func (l *loadLoop) halt() []probe {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
	return l.since(time.Time{})
}

// signOut ends the session with GET /oauth2/sign_out on base and returns
// the status: 302 acknowledged, 503 refused, 0 no answer.
func signOut(base, cookie string) int {
	req, err := http.NewRequest(http.MethodGet, base+"/oauth2/sign_out", nil)
	if err != nil {
		return 0
	}
	req.Header.Set("Cookie", replicaCookie+"="+cookie)
	resp, err := plain.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// sessionStatus is what base answers GET /headers with cookie.
func sessionStatus(base, cookie string) int {
	return (&loadLoop{client: plain}).get(base+"/headers", cookie)
}

// figures writes one line of measurements to the test log and to
// $REZIGATE_E2E_FIGURES.
func figures(t *testing.T, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	path := os.Getenv("REZIGATE_E2E_FIGURES")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Errorf("REZIGATE_E2E_FIGURES: %v", err)
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}

// TestRedisFailover runs two rezigate replicas on a Sentinel deployment
// (a primary, a replica, three sentinels) and on a Cluster (three
// primaries, three replicas), 20 users signed in and a bounded request
// loop over both replicas, and loses a primary twice on each: SIGKILL
// (then restarted) and SIGSTOP (then continued). Each time, without
// restarting rezigate: requests fail only while the primary is gone and
// are refused loudly (503), never answered from a session that was
// revoked; every session outlives the failover; the sign-outs
// acknowledged just before the loss stay revoked; a sign-out during the
// loss is either applied (acknowledged, and then it holds) or refused;
// rezigate recovers by itself and the old primary rejoins as a replica.
// The measured figures are printed.
func TestRedisFailover(t *testing.T) {
	redisBinary(t)
	// Built before any sentinel runs: a busy machine stalls sentinels.
	rezigateBinary(t)
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatal("redis-cli not found in PATH: run e2e/install.sh first (Debian's redis-tools)")
	}
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) topology
	}{
		{"sentinel", func(t *testing.T) topology { return startSentinel(t) }},
		{"cluster", func(t *testing.T) topology { return startCluster(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topo := tc.start(t)
			topo.waitHealthy(t)
			var users []string
			for i := range failoverUsers + 2*(revokeBefore+revokeDuring) {
				users = append(users, fmt.Sprintf("user%02d@example.com", i+1))
			}
			rs := startReplicaSet(t, topo.URL(), users, 2)
			pids := []int{rs.procs[0].cmd.Process.Pid, rs.procs[1].cmd.Process.Pid}
			var steady []string
			for _, email := range users[:failoverUsers] {
				steady = append(steady, rs.signIn(t, newBrowser(t, email), email))
			}
			next := failoverUsers
			for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGSTOP} {
				name := map[syscall.Signal]string{syscall.SIGKILL: "SIGKILL", syscall.SIGSTOP: "SIGSTOP"}[sig]
				revokers := users[next : next+revokeBefore+revokeDuring]
				next += len(revokers)
				ok := t.Run(name, func(t *testing.T) {
					failoverPhase(t, tc.name+" "+name, topo, rs, steady, revokers, sig)
				})
				if !ok {
					t.FailNow()
				}
			}
			for i, p := range rs.procs {
				if done, err := p.exited(); done || p.cmd.Process.Pid != pids[i] {
					t.Errorf("rezigate replica %d was restarted or exited (%v)", i+1, err)
				}
			}
		})
	}
}

// failoverPhase loses topo's primary to sig under load and checks and
// prints what users saw.
func failoverPhase(t *testing.T, kind string, topo topology, rs *replicaSet, steady, revokers []string, sig syscall.Signal) {
	topo.waitHealthy(t)
	var revCookies []string
	for _, email := range revokers {
		revCookies = append(revCookies, rs.signIn(t, newBrowser(t, email), email))
	}
	for _, c := range append(append([]string(nil), steady...), revCookies...) {
		for _, base := range rs.Replicas {
			if s := sessionStatus(base, c); s != http.StatusOK {
				t.Fatalf("before the failover: GET %s/headers = %d; want 200", base, s)
			}
		}
	}
	before, during := revCookies[:revokeBefore], revCookies[revokeBefore:]

	// The loop asks with every steady session, and with the sessions
	// revoked before the loss: those must never be served again.
	load := startLoad(rs, append(append([]string(nil), steady...), before...))
	defer load.halt()
	poll(t, "the load loop gets answers", 10*time.Second, func() (bool, string) {
		return load.count() >= 2*len(steady), "too few answers yet"
	})

	victim := topo.primary(t)
	for i, c := range before {
		if s := signOut(rs.Replicas[i%len(rs.Replicas)], c); s != http.StatusFound {
			t.Fatalf("sign-out before the failover = %d; want 302", s)
		}
	}
	acked := time.Now()
	victim.signal(t, sig)
	lost := time.Now()
	if sig == syscall.SIGSTOP {
		// Whatever happens next, the node must not stay stopped.
		defer func() { _ = victim.proc.cmd.Process.Signal(syscall.SIGCONT) }()
	}

	// Sign-outs while the primary is gone, one every 300ms.
	duringStatus := make([]int, len(during))
	tick := time.NewTicker(300 * time.Millisecond)
	for i, c := range during {
		duringStatus[i] = signOut(rs.Replicas[i%len(rs.Replicas)], c)
		<-tick.C
	}
	tick.Stop()

	promoted := topo.waitFailedOver(t, victim)
	failedOver := time.Since(lost)

	// rezigate follows by itself: both replicas ready, every steady
	// session answered on each.
	recovered := poll(t, "rezigate serves again", 45*time.Second, func() (bool, string) {
		for _, base := range rs.Replicas {
			for _, c := range steady {
				if s := sessionStatus(base, c); s != http.StatusOK {
					return false, fmt.Sprintf("GET %s/headers = %d", base, s)
				}
			}
		}
		return true, ""
	}) + failedOver

	// The old primary comes back: restarted on its own files, or continued.
	back := time.Now()
	if sig == syscall.SIGKILL {
		victim.start()
	} else {
		_ = victim.proc.cmd.Process.Signal(syscall.SIGCONT)
	}
	topo.waitRejoined(t, victim, promoted)
	rejoined := time.Since(back)
	probes := load.halt()

	var requests, refused, noAnswer, stale int
	var first, last time.Time
	for _, p := range probes {
		if p.user >= len(steady) {
			// A revoked session: 401, or 503 while Redis cannot answer;
			// a 200 a second after the acknowledgement (invalidations
			// reach the other replica asynchronously) is a stale session.
			if p.status == http.StatusOK && p.start.After(acked.Add(time.Second)) {
				stale++
			}
			continue
		}
		requests++
		if p.status == http.StatusOK {
			continue
		}
		refused++
		if p.status == 0 {
			noAnswer++
		} else if p.status != http.StatusServiceUnavailable {
			t.Errorf("a steady session was answered %d during the failover; want 200 or 503", p.status)
		}
		if first.IsZero() || p.start.Before(first) {
			first = p.start
		}
		if p.end.After(last) {
			last = p.end
		}
	}
	if first.IsZero() {
		first, last = lost, lost
	}
	window := last.Sub(first)
	if stale > 0 {
		t.Errorf("%d requests with a session revoked before the failover were answered 200", stale)
	}
	if noAnswer > 0 {
		t.Errorf("%d requests got no answer at all; want 503 when the store cannot answer", noAnswer)
	}

	kept := countOnEveryReplica(t, rs.Replicas, steady, http.StatusOK,
		"a session from before the failover: GET %s/headers = %d; want 200 (sessions must survive a failover)")
	revokedKept := countOnEveryReplica(t, rs.Replicas, before, http.StatusUnauthorized,
		"a sign-out acknowledged just before the failover: GET %s/headers = %d; want 401 (an acknowledged revocation must not come back)")
	var applied, refusedRev, lostRev, stillIn int
	for i, c := range during {
		statuses := []int{}
		for _, base := range rs.Replicas {
			statuses = append(statuses, sessionStatus(base, c))
		}
		switch duringStatus[i] {
		case http.StatusFound:
			if statuses[0] == http.StatusUnauthorized && statuses[1] == http.StatusUnauthorized {
				applied++
			} else {
				lostRev++
				t.Errorf("a sign-out acknowledged during the failover came back: the session answers %v; want 401 on both replicas", statuses)
			}
		case http.StatusServiceUnavailable:
			refusedRev++
			if statuses[0] == http.StatusOK {
				stillIn++
			}
		default:
			t.Errorf("a sign-out during the failover answered %d; want 302 (applied) or 503 (refused)", duringStatus[i])
		}
	}
	ms := func(d time.Duration) string { return d.Round(10 * time.Millisecond).String() }
	figures(t, "failover %s: primary replaced after %s; error window %s (first non-200 %s, last %s after the loss), back to 200 on both replicas after %s; requests %d, refused %d (503), no answer %d; sessions kept %d/%d; sign-outs acknowledged before the loss kept %d/%d; sign-outs during the window: %d applied, %d refused (%d of those sessions still signed in), %d acknowledged then lost; stale 200s for revoked sessions %d; old primary rejoined as a replica %s after it came back",
		kind, ms(failedOver), ms(window), ms(first.Sub(lost)), ms(last.Sub(lost)), ms(recovered),
		requests, refused, noAnswer, kept, len(steady), revokedKept, len(before), applied, refusedRev, stillIn, lostRev, stale, ms(rejoined))
}

// countOnEveryReplica returns how many of the session cookies answer want
// on every replica, and reports each answer that differs with msg (which
// takes the replica's base URL and the status).
func countOnEveryReplica(t *testing.T, replicas, cookies []string, want int, msg string) int {
	t.Helper()
	n := 0
	for _, c := range cookies {
		ok := true
		for _, base := range replicas {
			if s := sessionStatus(base, c); s != want {
				ok = false
				t.Errorf(msg, base, s)
			}
		}
		if ok {
			n++
		}
	}
	return n
}
