package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/proxy"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr bool
	}{
		{"plain", "1234 (rezigate) S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 8 0 100 0 0", 325, false},
		{"spaces and parens in the name", "42 (a) b (c)) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 0 0", 10, false},
		{"no name", "1234 rezigate S 1", 0, true},
		{"truncated", "1234 (rezigate) S 1 1234", 0, true},
		{"not a number", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 u s 0", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.in))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseStat(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseHWM(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr bool
	}{
		{"present", "Name:\trezigate\nVmPeak:\t  900000 kB\nVmHWM:\t   20480 kB\nVmRSS:\t 10000 kB\n", 20480 << 10, false},
		{"missing", "Name:\trezigate\nVmRSS:\t 10000 kB\n", 0, true},
		{"other unit", "VmHWM:\t 20 MB\n", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseHWM([]byte(tc.in))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseHWM(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseReady(t *testing.T) {
	tests := []struct {
		in     string
		want   map[string]string
		wantOK bool
	}{
		{"ready addr=127.0.0.1:1 ctl=127.0.0.1:2", map[string]string{"addr": "127.0.0.1:1", "ctl": "127.0.0.1:2"}, true},
		{"ready", map[string]string{}, true},
		{"listening addr=x", nil, false},
		{"ready addr", nil, false},
		{"", nil, false},
	}
	for _, tc := range tests {
		got, ok := parseReady(tc.in)
		if ok != tc.wantOK || len(got) != len(tc.want) {
			t.Errorf("parseReady(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("parseReady(%q)[%q] = %q; want %q", tc.in, k, got[k], v)
			}
		}
	}
}

func TestParseGCCount(t *testing.T) {
	tests := []struct {
		in     string
		want   int64
		wantOK bool
	}{
		{"42\n", 42, true},
		{"# HELP go_gc_duration_seconds x\ngo_gc_duration_seconds{quantile=\"1\"} 0.001\ngo_gc_duration_seconds_sum 0.5\ngo_gc_duration_seconds_count 1234\n", 1234, true},
		{"go_gc_duration_seconds_count 1.5e+06\n", 1500000, true},
		{"go_goroutines 12\n", 0, false},
	}
	for _, tc := range tests {
		got, ok := parseGCCount(tc.in)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("parseGCCount(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestPercentile(t *testing.T) {
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i))
	}
	tests := []struct {
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{[]time.Duration{7}, 0.99, 7},
		{hundred, 0.50, 50},
		{hundred, 0.99, 99},
		{hundred, 1, 100},
		{[]time.Duration{1, 2, 3}, 0.5, 2},
	}
	for _, tc := range tests {
		if got := percentile(tc.in, tc.q); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v; want %v", tc.in, tc.q, got, tc.want)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tc := range tests {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v; want %v", tc.in, got, tc.want)
		}
	}
}

func TestSummarizeRatios(t *testing.T) {
	r := &results{Runs: []measurement{
		{Round: 1, Target: targetBare, Requests: 10, CPUMicros: 10, RPS: 1000},
		{Round: 1, Target: targetRezigate, Requests: 10, CPUMicros: 11, RPS: 950},
		{Round: 1, Target: targetReziHit, Requests: 10, CPUMicros: 14, RPS: 2000},
		{Round: 2, Target: targetBare, Requests: 10, CPUMicros: 20, RPS: 500},
		{Round: 2, Target: targetRezigate, Requests: 10, Errors: 1, CPUMicros: 24, RPS: 400},
		{Round: 2, Target: targetReziHit, Requests: 10, CPUMicros: 24, RPS: 900},
	}}
	targets := []*target{{name: targetBare}, {name: targetRezigate}, {name: targetReziHit}}
	r.summarize(targets, map[string]float64{targetBare: 12})
	want := map[string]struct {
		median float64
		met    bool
	}{
		"rezigate CPU/req ÷ bare CPU/req":                    {1.15, true},   // 1.1 and 1.2
		"rezigate req/s ÷ bare req/s":                        {0.875, false}, // 0.95 and 0.8
		"/rezi cache hit CPU/req ÷ rezigate proxied CPU/req": {1.136, true},  // 1.273 and 1.0
	}
	if len(r.Ratios) != len(want) {
		t.Fatalf("summarize: %d ratios; want %d", len(r.Ratios), len(want))
	}
	for _, q := range r.Ratios {
		w, ok := want[q.Name]
		if !ok {
			t.Errorf("summarize: unexpected ratio %q", q.Name)
			continue
		}
		if d := q.Median - w.median; d > 0.001 || d < -0.001 || q.Met != w.met {
			t.Errorf("ratio %q = %.4f, met %v; want %.3f, met %v", q.Name, q.Median, q.Met, w.median, w.met)
		}
	}
	if s := r.Summary[1]; s.Requests != 20 || s.Errors != 1 || s.CPUMicros != 17.5 {
		t.Errorf("summary of rezigate = %d requests, %d errors, %v µs; want 20, 1, 17.5", s.Requests, s.Errors, s.CPUMicros)
	}
	var out bytes.Buffer
	r.writeTable(&out)
	for _, s := range []string{"| rezigate | 20 | 1 |", "| 0.875 |", "**no**", "| bare | 20 | 0 | 750 |"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("writeTable output lacks %q:\n%s", s, out.String())
		}
	}
}

// TestFixture checks that the in-process benchmarks measure what they
// claim: a signed-in request proxied with the identity, the same bytes
// from the bare proxy, a /rezi answered from the cache, and no session
// meaning no proxying.
func TestFixture(t *testing.T) {
	f := getFixture(t)
	tests := []struct {
		name     string
		h        http.Handler
		path     string
		cookie   bool
		want     int
		wantUser bool
		proxied  bool
	}{
		{"bare", f.bare, "/", true, http.StatusOK, false, true},
		{"rezigate", f.rezigate, "/", true, http.StatusOK, true, true},
		{"rezigate without a session", f.rezigate, "/", false, http.StatusUnauthorized, false, false},
		{"rezi hit", f.rezigate, "/rezi", true, http.StatusFound, false, false},
		{"session check", f.session, "/", true, http.StatusOK, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, calls := f.upstream.requests.Load(), f.reziCalls()
			f.upstream.lastUser.Store("")
			r := f.request(tc.path)
			if !tc.cookie {
				r.Header.Del("Cookie")
			}
			w := &discardWriter{h: http.Header{}}
			tc.h.ServeHTTP(w, r)
			if w.status() != tc.want {
				t.Errorf("GET %s = %d; want %d", tc.path, w.status(), tc.want)
			}
			if got := f.upstream.requests.Load() - before; (got == 1) != tc.proxied {
				t.Errorf("GET %s reached the upstream %d times; want proxied %v", tc.path, got, tc.proxied)
			}
			if tc.proxied && w.n != fixtureBodySize {
				t.Errorf("GET %s body = %d bytes; want %d", tc.path, w.n, fixtureBodySize)
			}
			if user, _ := f.upstream.lastUser.Load().(string); (user != "") != tc.wantUser {
				t.Errorf("GET %s: upstream %s = %q; want set %v", tc.path, proxy.DefaultUserHeader, user, tc.wantUser)
			}
			if got := f.reziCalls() - calls; got != 0 {
				t.Errorf("GET %s made %d Rezi calls; want 0", tc.path, got)
			}
		})
	}
}

// runSmall runs the whole bench with o, small, within three minutes, and
// returns its results and printed table; the test fails if the run does
// or any request did.
func runSmall(t *testing.T, o options) (*results, *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := run(ctx, o, &out, io.Discard)
	if err != nil {
		t.Fatalf("run() = %v; want nil", err)
	}
	if res.Errors != 0 {
		t.Fatalf("run() had %d failed requests; want 0\n%s", res.Errors, out.String())
	}
	return res, &out
}

// TestRun runs the whole bench, small, against the real binary.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rezigate and starts six processes")
	}
	res, out := runSmall(t, options{n: 300, c: 8, rounds: 2, warmup: 50, bodySize: 64, maxIdle: 256, info: true, policy: true, timeout: 2 * time.Minute})
	if got := len(res.Runs); got != 2*5 {
		t.Errorf("run() measured %d loads; want 10", got)
	}
	// CPU time comes from /proc in clock ticks (10 ms each, usually), and
	// a few hundred requests may cost less than one tick: a column may be
	// 0. What must hold is that each column is computed from the counters
	// and the summary from the rounds.
	ticks := float64(clockTicks())
	cpuTicks := map[string]int64{} // per target, over every round
	byTarget := map[string][]measurement{}
	for _, m := range res.Runs {
		byTarget[m.Target] = append(byTarget[m.Target], m)
		if m.Requests != 300 || m.Seconds <= 0 || math.Abs(m.RPS-float64(m.Requests)/m.Seconds) > 1e-6*m.RPS {
			t.Errorf("round %d %s: %d requests in %v s at %v req/s; want 300 requests and req/s = requests / seconds", m.Round, m.Target, m.Requests, m.Seconds, m.RPS)
		}
		n := m.CPUMicros * float64(m.Requests) * ticks / 1e6 // whole ticks, if computed from the counters
		if n < 0 || math.Abs(n-math.Round(n)) > 1e-6 {
			t.Errorf("round %d %s: %v µs CPU per request is %v clock ticks for %d requests; want a whole number ≥ 0", m.Round, m.Target, m.CPUMicros, n, m.Requests)
		}
		cpuTicks[m.Target] += int64(math.Round(n))
	}
	for _, s := range res.Summary {
		if s.Requests != 600 || s.PeakRSSMiB <= 0 {
			t.Errorf("summary %s = %d requests, %v MiB peak RSS; want 600, > 0", s.Target, s.Requests, s.PeakRSSMiB)
		}
		var cpu, rps []float64
		for _, m := range byTarget[s.Target] {
			cpu, rps = append(cpu, m.CPUMicros), append(rps, m.RPS)
		}
		if len(cpu) != 2 || s.CPUMicros != median(cpu) || s.RPS != median(rps) {
			t.Errorf("summary %s = %v µs CPU, %v req/s; want the medians of the rounds %v, %v", s.Target, s.CPUMicros, s.RPS, cpu, rps)
		}
		if s.ReziCalls != nil && *s.ReziCalls != 0 {
			t.Errorf("summary %s: %d Rezi calls; want 0", s.Target, *s.ReziCalls)
		}
		// Eight workers, a pool of 256: after the warm-up no load should
		// need a new upstream connection.
		if s.UpstreamConnsPer1k != nil && *s.UpstreamConnsPer1k > 30 {
			t.Errorf("summary %s: %.1f new upstream connections per 1k requests; want ≤ 30", s.Target, *s.UpstreamConnsPer1k)
		}
	}
	// A CPU ratio is left out only when its denominator used no whole
	// clock tick in any round; req/s ratios are always there.
	wantRatios := map[string]string{
		"rezigate CPU/req ÷ bare CPU/req":                                      targetBare,
		"rezigate req/s ÷ bare req/s":                                          "",
		"/rezi cache hit CPU/req ÷ rezigate proxied CPU/req":                   targetRezigate,
		"rezigate-info CPU/req ÷ bare CPU/req (access logs on)":                targetBare,
		"rezigate-info req/s ÷ bare req/s (access logs on)":                    "",
		"rezigate-policy CPU/req ÷ rezigate CPU/req (20 routes, assertion on)": targetRezigate,
	}
	got := map[string]bool{}
	for _, q := range res.Ratios {
		got[q.Name] = true
		if _, ok := wantRatios[q.Name]; !ok || len(q.PerRound) == 0 || q.Median != median(q.PerRound) {
			t.Errorf("ratio %q: median %v of %v; want a known ratio, the median of its rounds", q.Name, q.Median, q.PerRound)
		}
	}
	for name, den := range wantRatios {
		if !got[name] && (den == "" || cpuTicks[den] > 0) {
			t.Errorf("run() reported no ratio %q (denominator %q used %d clock ticks)", name, den, cpuTicks[den])
		}
	}
	// The cookie sizes are measured, not judged: only that both were
	// read from a real sign-in.
	if len(res.Cookies) != 2 {
		t.Errorf("run() measured %d session cookies; want 2 (rezigate, rezigate-policy)", len(res.Cookies))
	}
	for _, c := range res.Cookies {
		if c.Groups != manyGroupsCount || c.Bytes <= 0 || c.NameValueBytes != c.Bytes+len(cookieName)+1 {
			t.Errorf("cookie %+v; want %d groups, a positive size, and the name and = on top", c, manyGroupsCount)
		}
		if !strings.Contains(out.String(), fmt.Sprintf("%s: the session cookie of a user in %d groups is %d bytes", c.Target, c.Groups, c.Bytes)) {
			t.Errorf("table lacks the cookie size of %s:\n%s", c.Target, out.String())
		}
	}
	if !strings.Contains(out.String(), "| rezigate-policy | 600 | 0 |") {
		t.Errorf("table lacks the rezigate-policy row:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "| rezi-hit | 600 | 0 |") {
		t.Errorf("table lacks the rezi-hit row:\n%s", out.String())
	}
}
