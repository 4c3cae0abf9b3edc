package main

import (
	"bufio"
	"bytes"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestRedisConf(t *testing.T) {
	conf := redisConf(6390, "s3cret-pass", "/tmp/bench-x")
	lines := strings.Split(strings.TrimSpace(conf), "\n")
	want := []string{
		"port 6390",
		"bind 127.0.0.1",
		"protected-mode yes",
		"requirepass s3cret-pass",
		`save ""`,
		"appendonly no",
		"daemonize no",
		"maxmemory-policy noeviction",
		"dir /tmp/bench-x",
		"logfile /tmp/bench-x/redis-server.log",
	}
	for _, w := range want {
		found := false
		for _, l := range lines {
			if l == w {
				found = true
			}
		}
		if !found {
			t.Errorf("redisConf lacks the line %q:\n%s", w, conf)
		}
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "bind ") && l != "bind 127.0.0.1" {
			t.Errorf("redisConf binds beyond loopback: %q", l)
		}
	}
}

func TestRedisCommand(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"PING"}, "*1\r\n$4\r\nPING\r\n"},
		{[]string{"AUTH", "pa ss"}, "*2\r\n$4\r\nAUTH\r\n$5\r\npa ss\r\n"},
		{[]string{"AUTH", ""}, "*2\r\n$4\r\nAUTH\r\n$0\r\n\r\n"},
	}
	for _, tc := range tests {
		if got := redisCommand(tc.args...); got != tc.want {
			t.Errorf("redisCommand(%q) = %q; want %q", tc.args, got, tc.want)
		}
	}
}

func TestReadRedisReplies(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"ok and pong", "+OK\r\n+PONG\r\n", ""},
		{"wrong password", "-WRONGPASS invalid username-password pair or user is disabled.\r\n", "WRONGPASS"},
		{"no auth configured", "-ERR AUTH <password> called without any password configured\r\n+PONG\r\n", "-ERR"},
		{"cut short", "+OK\r\n", "EOF"},
		{"empty", "", "EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := readRedisReplies(bufio.NewReader(strings.NewReader(tc.in)), "+OK", "+PONG")
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("readRedisReplies(%q) = %v; want error containing %q", tc.in, err, tc.wantErr)
			}
		})
	}
}

func TestSummarizeRevocation(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var d []time.Duration
		for _, n := range ns {
			d = append(d, time.Duration(n)*time.Millisecond)
		}
		return d
	}
	ramp := make([]int, 200) // 1 ms to 200 ms, in reverse order
	for i := range ramp {
		ramp[i] = 200 - i
	}
	tests := []struct {
		name          string
		lat           []time.Duration
		errs          int
		p50, p99, max float64
		signOuts      int
		met           bool
	}{
		{"fast", ms(1, 2, 3, 2, 1), 0, 2, 3, 3, 5, true},
		{"ramp over target", ms(ramp...), 0, 100, 198, 200, 200, false},
		{"one slow of 200 is under p99", append(ms(make([]int, 199)...), 5*time.Second), 0, 0, 0, 5000, 200, true},
		{"an error is never met", ms(1, 1, 1), 1, 1, 1, 1, 4, false},
		{"nothing measured", nil, 3, 0, 0, 0, 3, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tc.lat...)
			rv := summarizeRevocation(tc.lat, tc.errs, "")
			if rv.P50Millis != tc.p50 || rv.P99Millis != tc.p99 || rv.MaxMillis != tc.max || rv.SignOuts != tc.signOuts || rv.Met != tc.met || rv.TargetP99Millis != 100 {
				t.Errorf("summarizeRevocation = p50 %v p99 %v max %v, %d sign-outs, met %v, target %v; want %v %v %v, %d, %v, 100",
					rv.P50Millis, rv.P99Millis, rv.MaxMillis, rv.SignOuts, rv.Met, rv.TargetP99Millis, tc.p50, tc.p99, tc.max, tc.signOuts, tc.met)
			}
			for i := range in {
				if in[i] != tc.lat[i] {
					t.Fatalf("summarizeRevocation changed its input")
				}
			}
		})
	}
}

func TestSummarizeRedisRatios(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	r := &results{Runs: []measurement{
		{Round: 1, Target: targetRezigate, Requests: 10, CPUMicros: 10, RPS: 1000},
		{Round: 1, Target: targetRedis, Requests: 10, CPUMicros: 10.5, RPS: 950, StoreCPUMicros: f(0.3)},
		{Round: 2, Target: targetRezigate, Requests: 10, CPUMicros: 20, RPS: 500},
		{Round: 2, Target: targetRedis, Requests: 10, CPUMicros: 23, RPS: 420, StoreCPUMicros: f(1)},
	}}
	r.Revocation = &revocation{SignOuts: 200, P50Millis: 0.4, P99Millis: 1.2, MaxMillis: 3, TargetP99Millis: 100, Met: true, RedisPeakRSSMiB: 9}
	r.summarize([]*target{{name: targetRezigate}, {name: targetRedis}}, nil)
	want := map[string]struct {
		median float64
		met    bool
	}{
		"rezigate-redis + redis-server CPU/req ÷ rezigate CPU/req (cookie store)": {1.14, false},  // 1.08 and 1.2
		"rezigate-redis req/s ÷ rezigate req/s (cookie store)":                    {0.895, false}, // 0.95 and 0.84
	}
	got := 0
	for _, q := range r.Ratios {
		w, ok := want[q.Name]
		if !ok {
			continue
		}
		got++
		if math.Abs(q.Median-w.median) > 0.001 || q.Met != w.met || len(q.PerRound) != 2 {
			t.Errorf("ratio %q = %.4f over %v, met %v; want %.3f, met %v", q.Name, q.Median, q.PerRound, q.Met, w.median, w.met)
		}
	}
	if got != len(want) {
		t.Errorf("summarize gave %d of the %d Redis ratios: %+v", got, len(want), r.Ratios)
	}
	if s := r.Summary[1]; s.StoreCPUMicros == nil || *s.StoreCPUMicros != 0.65 {
		t.Errorf("summary of %s: store CPU = %v; want the median 0.65", targetRedis, s.StoreCPUMicros)
	}
	if s := r.Summary[0]; s.StoreCPUMicros != nil {
		t.Errorf("summary of %s: store CPU = %v; want none (the cookie store has no server)", targetRezigate, *s.StoreCPUMicros)
	}
	var out bytes.Buffer
	r.writeTable(&out)
	for _, s := range []string{
		"| rezigate-redis | 16.8 | 0.65 | 17.4 |",
		"| rezigate-redis → rezigate-redis-b | 200 | 0 | 0.40 ms | 1.20 ms | 3.00 ms | p99 ≤ 100 ms | yes |",
		"| rezigate-redis req/s ÷ rezigate req/s (cookie store) | 0.895 | 0.950 0.840 | ≥ 0.90 | **no** |",
	} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("writeTable output lacks %q:\n%s", s, out.String())
		}
	}
}

// TestRunRedis runs the bench, small, with the Redis store: a real
// redis-server, two replicas, and a few timed sign-outs.
func TestRunRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rezigate and starts eight processes, redis-server among them")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is not in PATH: install it (bash .ci/redis.sh install) to run the bench's Redis target")
	}
	res, out := runSmall(t, options{n: 300, c: 8, rounds: 2, warmup: 50, bodySize: 64, maxIdle: 256, redis: true, revocations: 10, timeout: 2 * time.Minute})
	rounds := 0
	for _, m := range res.Runs {
		if m.Target != targetRedis {
			continue
		}
		rounds++
		if m.Requests != 300 || m.StoreCPUMicros == nil || *m.StoreCPUMicros < 0 {
			t.Errorf("round %d %s: %d requests, store CPU %v; want 300 and a measured redis-server CPU", m.Round, m.Target, m.Requests, m.StoreCPUMicros)
		}
	}
	if rounds != 2 {
		t.Errorf("run() measured %s %d times; want 2", targetRedis, rounds)
	}
	rv := res.Revocation
	if rv == nil || rv.SignOuts != 10 || rv.Errors != 0 || rv.P99Millis <= 0 || rv.P99Millis > millis(revocationDeadline) || rv.RedisPeakRSSMiB <= 0 {
		t.Errorf("revocation = %+v; want 10 sign-outs, no error, 0 < p99 ≤ %v, redis-server's peak RSS", rv, revocationDeadline)
	}
	found := false
	for _, q := range res.Ratios {
		if q.Name == "rezigate-redis req/s ÷ rezigate req/s (cookie store)" && len(q.PerRound) == 2 {
			found = true
		}
	}
	if !found {
		t.Errorf("run() reported no req/s ratio of the Redis store: %+v", res.Ratios)
	}
	if !strings.Contains(out.String(), "| rezigate-redis | 600 | 0 |") || !strings.Contains(out.String(), "revocation: sign-out on replica A") {
		t.Errorf("table lacks the rezigate-redis row or the revocation table:\n%s", out.String())
	}
}

// TestPinDefault: the bench re-run under "taskset -c 0" sees one CPU, and
// must still pin the proxies to CPU 1, as its parent decided.
func TestPinDefault(t *testing.T) {
	tests := []struct {
		cpus   int
		pinned bool
		want   bool
	}{
		{1, false, false},
		{2, false, true},
		{1, true, true}, // the re-run child: affinity CPU 0 only
		{4, true, true},
	}
	for _, tc := range tests {
		if got := pinDefault(tc.cpus, tc.pinned); got != tc.want {
			t.Errorf("pinDefault(%d, %v) = %v; want %v", tc.cpus, tc.pinned, got, tc.want)
		}
	}
}
