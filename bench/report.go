package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// results is everything one bench run measured; -json writes it.
type results struct {
	Settings settings      `json:"settings"`
	Runs     []measurement `json:"runs"`
	Summary  []summary     `json:"summary"`
	Ratios   []ratio       `json:"ratios"`
	// Errors counts failed requests over every measured load.
	Errors int `json:"errors"`
	// Revocation, with -redis, is how fast a sign-out reached another
	// replica.
	Revocation *revocation `json:"revocation,omitempty"`
	// Cookies are the session cookie sizes of a user in many groups.
	Cookies []cookieSize `json:"cookies,omitempty"`
}

// settings describe the run, so a result can be compared with another.
type settings struct {
	Requests        int    `json:"requests_per_load"`
	Concurrency     int    `json:"concurrency"`
	Rounds          int    `json:"rounds"`
	Warmup          int    `json:"warmup_requests"`
	BodyBytes       int    `json:"body_bytes"`
	UpstreamMaxIdle int    `json:"upstream_max_idle_conns"`
	BareBufferPool  bool   `json:"bare_buffer_pool"`
	GoVersion       string `json:"go_version"`
	OS              string `json:"os"`
	CPUs            int    `json:"cpus"`
	LoadBefore      string `json:"load_average_before"`
	LoadAfter       string `json:"load_average_after"`
	// InfoLogBytes is the size of the info-level access log written.
	InfoLogBytes int64 `json:"info_log_bytes,omitempty"`
}

// measurement is one load of one target.
type measurement struct {
	Round      int     `json:"round"`
	Target     string  `json:"target"`
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Seconds    float64 `json:"seconds"`
	RPS        float64 `json:"requests_per_second"`
	P50Micros  float64 `json:"p50_us"`
	P99Micros  float64 `json:"p99_us"`
	CPUMicros  float64 `json:"cpu_us_per_request"`
	// GCPer1k counts the target's garbage collections per 1,000 requests.
	GCPer1k float64 `json:"gc_cycles_per_1k"`
	// UpstreamConnsPer1k is nil for a target that does not reach the
	// upstream.
	UpstreamConnsPer1k *float64 `json:"new_upstream_conns_per_1k,omitempty"`
	// ReziCalls, for /rezi, counts calls that reached the Rezi stand-in;
	// zero means every answer came from the cache.
	ReziCalls *int64 `json:"rezi_calls,omitempty"`
	// StoreCPUMicros is the session store's (redis-server's) CPU time per
	// request, for a target that has one.
	StoreCPUMicros *float64 `json:"store_cpu_us_per_request,omitempty"`
	// BackCPUMicros is the CPU time per request of the proxy behind a
	// TLS front (the bare proxy behind nginx), for a target that has one.
	BackCPUMicros *float64 `json:"back_cpu_us_per_request,omitempty"`
}

// summary is a target's medians over rounds, with totals of requests and
// errors.
type summary struct {
	Target             string   `json:"target"`
	Requests           int      `json:"requests"`
	Errors             int      `json:"errors"`
	RPS                float64  `json:"requests_per_second"`
	P50Micros          float64  `json:"p50_us"`
	P99Micros          float64  `json:"p99_us"`
	CPUMicros          float64  `json:"cpu_us_per_request"`
	PeakRSSMiB         float64  `json:"peak_rss_mib"`
	GCPer1k            float64  `json:"gc_cycles_per_1k"`
	UpstreamConnsPer1k *float64 `json:"new_upstream_conns_per_1k,omitempty"`
	ReziCalls          *int64   `json:"rezi_calls,omitempty"`
	StoreCPUMicros     *float64 `json:"store_cpu_us_per_request,omitempty"`
	BackCPUMicros      *float64 `json:"back_cpu_us_per_request,omitempty"`
	// KeyExchange, for a handshake target, lists the key exchange groups
	// its handshakes used.
	KeyExchange string `json:"key_exchange,omitempty"`
	// noGC is set for a target without a Go runtime, whose GC column is
	// empty.
	noGC bool
}

// ratio compares two targets: the median of the ratios measured in each
// round, so slow drift of a shared machine cancels out.
type ratio struct {
	Name     string    `json:"name"`
	Median   float64   `json:"median"`
	PerRound []float64 `json:"per_round"`
	// Target is the goal; AtMost says whether the ratio must stay at or
	// under it (cost) or at or over it (throughput).
	Target float64 `json:"target"`
	AtMost bool    `json:"at_most"`
	Met    bool    `json:"met"`
	// Reference is set for a comparison with no target (nginx); Met is
	// then false.
	Reference bool `json:"reference,omitempty"`
}

// summarize fills Summary and Ratios from Runs.
func (r *results) summarize(targets []*target, peakMiB map[string]float64) {
	byRound := map[int]map[string]measurement{}
	for _, m := range r.Runs {
		if byRound[m.Round] == nil {
			byRound[m.Round] = map[string]measurement{}
		}
		byRound[m.Round][m.Target] = m
	}
	r.Summary = nil
	for _, t := range targets {
		s := summary{Target: t.name, PeakRSSMiB: peakMiB[t.name], KeyExchange: t.kex.String(), noGC: t.gcURL == ""}
		var rps, p50, p99, cpu, gc, conns, store, back []float64
		for _, m := range r.Runs {
			if m.Target != t.name {
				continue
			}
			s.Requests += m.Requests
			s.Errors += m.Errors
			rps = append(rps, m.RPS)
			p50 = append(p50, m.P50Micros)
			p99 = append(p99, m.P99Micros)
			cpu = append(cpu, m.CPUMicros)
			gc = append(gc, m.GCPer1k)
			if m.UpstreamConnsPer1k != nil {
				conns = append(conns, *m.UpstreamConnsPer1k)
			}
			if m.StoreCPUMicros != nil {
				store = append(store, *m.StoreCPUMicros)
			}
			if m.BackCPUMicros != nil {
				back = append(back, *m.BackCPUMicros)
			}
			if m.ReziCalls != nil {
				n := *m.ReziCalls
				if s.ReziCalls != nil {
					n += *s.ReziCalls
				}
				s.ReziCalls = &n
			}
		}
		s.RPS, s.P50Micros, s.P99Micros, s.CPUMicros, s.GCPer1k = median(rps), median(p50), median(p99), median(cpu), median(gc)
		if len(conns) > 0 {
			v := median(conns)
			s.UpstreamConnsPer1k = &v
		}
		if len(store) > 0 {
			v := median(store)
			s.StoreCPUMicros = &v
		}
		if len(back) > 0 {
			v := median(back)
			s.BackCPUMicros = &v
		}
		r.Summary = append(r.Summary, s)
	}

	rounds := make([]int, 0, len(byRound))
	for k := range byRound {
		rounds = append(rounds, k)
	}
	slices.Sort(rounds)
	add := func(name, num, den string, field func(measurement) float64, target float64, atMost bool) *ratio {
		var per []float64
		for _, k := range rounds {
			a, okA := byRound[k][num]
			b, okB := byRound[k][den]
			if okA && okB && field(b) > 0 {
				per = append(per, field(a)/field(b))
			}
		}
		if len(per) == 0 {
			return nil
		}
		q := ratio{Name: name, Median: median(per), PerRound: per, Target: target, AtMost: atMost}
		q.Met = (atMost && q.Median <= target) || (!atMost && q.Median >= target)
		r.Ratios = append(r.Ratios, q)
		return &r.Ratios[len(r.Ratios)-1]
	}
	reference := func(name, num, den string, field func(measurement) float64) {
		if q := add(name, num, den, field, 0, true); q != nil {
			q.Target, q.Met, q.Reference = 0, false, true
		}
	}
	cpu := func(m measurement) float64 { return m.CPUMicros }
	rps := func(m measurement) float64 { return m.RPS }
	add("rezigate CPU/req ÷ bare CPU/req", targetRezigate, targetBare, cpu, 1.15, true)
	add("rezigate req/s ÷ bare req/s", targetRezigate, targetBare, rps, 0.9, false)
	add("/rezi cache hit CPU/req ÷ rezigate proxied CPU/req", targetReziHit, targetRezigate, cpu, 1.2, true)
	add("rezigate-policy CPU/req ÷ rezigate CPU/req (20 routes, assertion on)", targetPolicy, targetRezigate, cpu, 1.05, true)
	withStore := func(m measurement) float64 { return m.CPUMicros + orZero(m.StoreCPUMicros) }
	add("rezigate-redis + redis-server CPU/req ÷ rezigate CPU/req (cookie store)", targetRedis, targetRezigate, withStore, 1.10, true)
	add("rezigate-redis req/s ÷ rezigate req/s (cookie store)", targetRedis, targetRezigate, rps, 0.9, false)
	add("rezigate-tls-h1 CPU/req ÷ bare-tls-h1 CPU/req (HTTPS, HTTP/1.1)", targetRezigateTLS1, targetBareTLS1, cpu, 1.05, true)
	add("rezigate-tls-h2 CPU/req ÷ bare-tls-h2 CPU/req (HTTPS, HTTP/2)", targetRezigateTLS2, targetBareTLS2, cpu, 1.05, true)
	// A handshake target's CPU per request is its CPU per handshake: one
	// request per new connection.
	add("rezigate-tls-hs CPU/handshake ÷ bare-tls-hs CPU/handshake (new connections)", targetRezigateHS, targetBareHS, cpu, 1.05, true)
	add("rezigate-tls-hs handshakes/s ÷ bare-tls-hs handshakes/s (new connections)", targetRezigateHS, targetBareHS, rps, 1/1.05, false)
	withBack := func(m measurement) float64 { return m.CPUMicros + orZero(m.BackCPUMicros) }
	reference("nginx-tls-hs + bare CPU/handshake ÷ bare-tls-hs CPU/handshake (reference)", targetNginxHS, targetBareHS, withBack)
	reference("nginx-tls-hs handshakes/s ÷ bare-tls-hs handshakes/s (reference)", targetNginxHS, targetBareHS, rps)
	add("rezigate-info CPU/req ÷ bare CPU/req (access logs on)", targetInfo, targetBare, cpu, 1.15, true)
	add("rezigate-info req/s ÷ bare req/s (access logs on)", targetInfo, targetBare, rps, 0.9, false)
}

// median of xs, or 0 for none; xs is not changed.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// writeTable prints the results as Markdown.
func (r *results) writeTable(w io.Writer) {
	s := r.Settings
	fmt.Fprintf(w, "\n%d rounds × %d GET requests per target, %d concurrent keep-alive connections, %d-byte upstream body; %s %s, %d CPUs; load average %s before, %s after.\n\n",
		s.Rounds, s.Requests, s.Concurrency, s.BodyBytes, s.GoVersion, s.OS, s.CPUs, orDash(s.LoadBefore), orDash(s.LoadAfter))
	if s.BareBufferPool {
		fmt.Fprintln(w, "The bare proxy reuses its copy buffers (-bare-buffer-pool).")
		fmt.Fprintln(w)
	}
	if proxyCPU != "" {
		fmt.Fprintf(w, "Each proxy under load runs on CPU %s; the client, upstream and provider on CPU 0 (-pin).\n\n", proxyCPU)
	}
	fmt.Fprintln(w, "| target | requests | errors | req/s | p50 | p99 | CPU µs/req | peak RSS MiB | new upstream conns /1k req | GC cycles /1k req |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, t := range r.Summary {
		conns := "–"
		if t.UpstreamConnsPer1k != nil {
			conns = fmt.Sprintf("%.2f", *t.UpstreamConnsPer1k)
		}
		gc := fmt.Sprintf("%.1f", t.GCPer1k)
		if t.noGC {
			gc = "–"
		}
		fmt.Fprintf(w, "| %s | %d | %d | %.0f | %s | %s | %.1f | %.1f | %s | %s |\n",
			t.Target, t.Requests, t.Errors, t.RPS, latency(t.P50Micros), latency(t.P99Micros), t.CPUMicros, t.PeakRSSMiB, conns, gc)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| ratio | median | per round | target | met |")
	fmt.Fprintln(w, "|---|---:|---|---:|---|")
	for _, q := range r.Ratios {
		per := make([]string, len(q.PerRound))
		for i, v := range q.PerRound {
			per[i] = fmt.Sprintf("%.3f", v)
		}
		op := "≥"
		if q.AtMost {
			op = "≤"
		}
		met, goal := "yes", fmt.Sprintf("%s %.2f", op, q.Target)
		switch {
		case q.Reference:
			met, goal = "reference", "–"
		case !q.Met:
			met = "**no**"
		}
		fmt.Fprintf(w, "| %s | %.3f | %s | %s | %s |\n", q.Name, q.Median, strings.Join(per, " "), goal, met)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "requests and errors are totals over rounds; every other column is the median of the rounds, and each ratio the median of per-round ratios.")
	for _, t := range r.Summary {
		if t.ReziCalls != nil {
			fmt.Fprintf(w, "rezi-hit: %d calls reached the Rezi stand-in during the measured loads (0 = every /rezi answered from the token cache).\n", *t.ReziCalls)
		}
	}
	r.writeCookies(w)
	r.writeRedis(w)
	r.writeHandshakes(w)
	if s.InfoLogBytes > 0 {
		fmt.Fprintf(w, "rezigate-info wrote %.1f MiB of access log to a file.\n", float64(s.InfoLogBytes)/(1<<20))
	}
}

func latency(us float64) string {
	if us >= 10000 {
		return fmt.Sprintf("%.1f ms", us/1000)
	}
	return fmt.Sprintf("%.0f µs", us)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
