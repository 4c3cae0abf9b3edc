package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rezigate/rezigate/internal/testsupport/freeport"
)

// Target names, in the order the table lists them.
const (
	targetBare     = "bare"
	targetRezigate = "rezigate"
	targetInfo     = "rezigate-info"
	targetReziHit  = "rezi-hit"
)

// cookieName is the session cookie of the rezigate under test.
const cookieName = "_rezigate"

// target is one thing the bench loads.
type target struct {
	name   string
	proc   *child
	spec   loadSpec
	client *http.Client
	// upstream is set when requests reach the upstream, whose new
	// connections are then counted; identified when they must carry
	// rezigate's identity header there.
	upstream, identified bool
	// asserted is set when they must also carry an identity assertion.
	asserted bool
	// storePID, when not 0, is a session store process (redis-server)
	// whose CPU time is measured beside the target's.
	storePID int
	// backPID, when not 0, is the proxy behind a TLS front (the bare
	// proxy behind nginx), whose CPU time is measured beside the front's.
	backPID int
	// warmup, when not 0, replaces the run's warm-up request count.
	warmup int
	// kex, for a handshake target, collects its key exchange groups.
	kex *kexSeen
	// reziCalls is set when the Rezi stand-in's calls are counted, to prove
	// the answers came from rezigate's cache.
	reziCalls bool
	// gcURL answers with the process's completed garbage collections: a
	// number on a line of its own, or Prometheus text with
	// go_gc_duration_seconds_count.
	gcURL string
}

// env is the running bench: helpers, rezigate instances and their URLs.
type env struct {
	o        options
	dir      string
	ticks    int64
	children []*child
	upstream *child // ready: addr, ctl
	stubs    *child // ready: issuer, rezi
	ctl      *http.Client
	cookies  []cookieSize // filled by start
	redis    *redisSetup  // with -redis: redis-server and two replicas
	logw     io.Writer    // progress and notes
}

// run starts everything, measures and prints the table to out; progress
// goes to logw.
func run(ctx context.Context, o options, out, logw io.Writer) (res *results, err error) {
	dir, err := os.MkdirTemp("", "rezigate-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	e := &env{o: o, dir: dir, ticks: clockTicks(), ctl: &http.Client{Timeout: 10 * time.Second}, logw: logw}
	defer func() {
		for i := len(e.children) - 1; i >= 0; i-- {
			e.children[i].stop()
		}
		if err == nil && (res == nil || res.Errors == 0) {
			os.RemoveAll(dir)
		} else {
			fmt.Fprintf(logw, "bench: logs kept in %s\n", dir)
		}
	}()
	bin := o.bin
	if bin == "" {
		fmt.Fprintln(logw, "building rezigate ...")
		if bin, err = buildRezigate(ctx, dir); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	targets, err := e.start(ctx, bin)
	if err != nil {
		return nil, err
	}
	res = &results{
		Settings: settings{
			Requests: o.n, Concurrency: o.c, Rounds: o.rounds, Warmup: o.warmup, BodyBytes: o.bodySize,
			UpstreamMaxIdle: o.maxIdle, BareBufferPool: o.barePool, GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH,
			CPUs: runtime.NumCPU(), LoadBefore: loadAvg(),
		},
	}
	fmt.Fprintf(logw, "warming up: %d requests per target ...\n", o.warmup)
	for _, t := range targets {
		spec := t.spec
		spec.n = o.warmup
		if t.warmup != 0 {
			spec.n = t.warmup
		}
		if r := runLoad(ctx, t.client, spec); r.errors > 0 {
			return nil, fmt.Errorf("bench: warm-up of %s: %d of %d requests failed, the first with: %s", t.name, r.errors, spec.n, r.firstError)
		}
	}
	for round := 1; round <= o.rounds; round++ {
		for i := range targets {
			// Rotate the order, so no target always follows the same one.
			t := targets[(i+round-1)%len(targets)]
			m, err := e.measure(ctx, round, t)
			if err != nil {
				return nil, err
			}
			res.Runs = append(res.Runs, m)
			res.Errors += m.Errors
			fmt.Fprintf(logw, "round %d/%d %-15s %6d requests %4d errors %8.0f req/s %7.1f µs CPU/req\n",
				round, o.rounds, t.name, m.Requests, m.Errors, m.RPS, m.CPUMicros)
			if m.FirstError != "" {
				fmt.Fprintf(logw, "  first error: %s\n", m.FirstError)
			}
		}
	}
	if e.redis != nil {
		fmt.Fprintf(logw, "revocation: %d sign-outs on %s, each polled on %s ...\n", o.revocations, targetRedis, redisReplicaB)
		rv := e.measureRevocation(ctx, o.revocations)
		res.Revocation = &rv
		res.Errors += rv.Errors
	}
	peak := map[string]float64{}
	for _, t := range targets {
		if t.proc.exited() {
			return nil, fmt.Errorf("bench: %s exited during the run; its log: %s", t.name, t.proc.logPath)
		}
		rss, err := procPeakRSS(t.proc.pid())
		if err != nil {
			return nil, err
		}
		peak[t.name] = float64(rss) / (1 << 20)
	}
	res.Settings.LoadAfter = loadAvg()
	if o.info {
		if fi, err := os.Stat(filepath.Join(dir, targetInfo+".log")); err == nil {
			res.Settings.InfoLogBytes = fi.Size()
		}
	}
	res.Cookies = e.cookies
	res.summarize(targets, peak)
	res.writeTable(out)
	if o.jsonPath != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return res, fmt.Errorf("bench: json: %w", err)
		}
		if err := os.WriteFile(o.jsonPath, append(b, '\n'), 0o644); err != nil {
			return res, fmt.Errorf("bench: json: %w", err)
		}
	}
	return res, nil
}

// start runs the helpers and the rezigate instances, signs in, and returns
// the targets in table order.
func (e *env) start(ctx context.Context, bin string) ([]*target, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	base := cleanEnv(os.Environ())
	helper := func(name string, vars ...string) (*child, error) {
		c, err := startChild(ctx, name, self, nil, append(append(base[:len(base):len(base)], roleEnv+"="+name), vars...),
			filepath.Join(e.dir, name+".log"), true)
		if err == nil {
			e.children = append(e.children, c)
		}
		return c, err
	}
	if e.upstream, err = helper(roleUpstream, bodySizeEnv+"="+strconv.Itoa(e.o.bodySize)); err != nil {
		return nil, err
	}
	upURL := "http://" + e.upstream.ready["addr"]
	bareVars := []string{upstreamEnv + "=" + upURL, maxIdleEnv + "=" + strconv.Itoa(e.o.maxIdle)}
	if e.o.barePool {
		bareVars = append(bareVars, barePoolEnv+"=1")
	}
	bare, err := helper(roleBare, bareVars...)
	if err != nil {
		return nil, err
	}

	levels := []string{"warn"}
	if e.o.info {
		levels = append(levels, "info")
	}
	rgs := make([]*rezigateInstance, len(levels))
	var redirects []string
	for i, level := range levels {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		name := targetRezigate
		if level == "info" {
			name = targetInfo
		}
		mport, err := freePort()
		if err != nil {
			return nil, err
		}
		rgs[i] = &rezigateInstance{name: name, level: level, listen: "127.0.0.1:" + strconv.Itoa(port),
			metrics: "127.0.0.1:" + strconv.Itoa(mport)}
		rgs[i].base = "http://" + rgs[i].listen
		redirects = append(redirects, rgs[i].base+"/oauth2/callback")
	}
	if e.o.policy {
		prg, err := newPolicyInstance()
		if err != nil {
			return nil, err
		}
		rgs = append(rgs, prg)
		redirects = append(redirects, prg.base+"/oauth2/callback")
	}
	if e.o.redis {
		more, err := e.prepareRedis(ctx)
		if err != nil {
			return nil, err
		}
		redirects = append(redirects, more...)
	}
	var tlsRG *rezigateInstance
	var bareTLS *child
	var pool *x509.CertPool
	var certFile, keyFile string
	if e.o.tls {
		if certFile, keyFile, pool, err = benchCert(e.dir); err != nil {
			return nil, err
		}
		// Readiness checks and the sign-in reach the HTTPS rezigate too.
		e.ctl.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		if bareTLS, err = helper(roleBareTLS, append(bareVars, tlsCertEnv+"="+certFile, tlsKeyEnv+"="+keyFile)...); err != nil {
			return nil, err
		}
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		mport, err := freePort()
		if err != nil {
			return nil, err
		}
		tlsRG = &rezigateInstance{name: "rezigate-tls", level: "warn", listen: "127.0.0.1:" + strconv.Itoa(port),
			metrics: "127.0.0.1:" + strconv.Itoa(mport), extra: map[string]any{"tls": map[string]any{"cert_file": certFile, "key_file": keyFile}}}
		tlsRG.base = "https://" + tlsRG.listen
		redirects = append(redirects, tlsRG.base+"/oauth2/callback")
	}
	sec := secrets{clientSecret: randomHex(24), reziKey: randomHex(24), password: randomHex(12)}
	if e.stubs, err = helper(roleStubs, redirectURIsEnv+"="+strings.Join(redirects, ","),
		clientSecretEnv+"="+sec.clientSecret, reziKeyEnv+"="+sec.reziKey, passwordEnv+"="+sec.password); err != nil {
		return nil, err
	}
	issuer := e.stubs.ready["issuer"]
	for _, rg := range rgs {
		if err := e.startRezigate(ctx, bin, base, rg, upURL, sec); err != nil {
			return nil, err
		}
		if rg.cookie, err = signIn(ctx, rg.base, issuer, cookieName, benchEmail, sec.password); err != nil {
			return nil, fmt.Errorf("%w (rezigate log: %s)", err, rg.proc.logPath)
		}
		if e.o.policy && (rg.name == targetRezigate || rg.name == targetPolicy) {
			c, err := measureCookie(ctx, rg, issuer, sec.password)
			if err != nil {
				return nil, err
			}
			e.cookies = append(e.cookies, c)
		}
	}

	loginPrefix := upURL + "/login/?token="
	ok200 := expect{status: http.StatusOK, bodyLen: e.o.bodySize}
	mk := func(name string, proc *child, url, cookie string, want expect) *target {
		return &target{name: name, proc: proc, client: newLoadClient(e.o.c),
			spec: loadSpec{url: url, cookie: cookie, n: e.o.n, c: e.o.c, want: want}}
	}
	// The bare proxy gets the same requests, session cookie included, so
	// both proxies read the same bytes; it forwards the cookie, rezigate
	// strips it and adds the identity headers instead.
	targets := []*target{mk(targetBare, bare, "http://"+bare.ready["addr"]+"/", rgs[0].cookie, ok200)}
	targets[0].upstream = true
	targets[0].gcURL = "http://" + bare.ready["ctl"] + "/"
	for _, rg := range rgs {
		t := mk(rg.name, rg.proc, rg.base+"/", rg.cookie, ok200)
		t.upstream, t.identified = true, true
		t.gcURL = "http://" + rg.metrics + "/metrics"
		if rg.name == targetPolicy {
			t.asserted = true
			if err := e.checkAssertion(ctx, t, rg); err != nil {
				return nil, err
			}
		}
		targets = append(targets, t)
	}
	// The first /rezi asks the Rezi stand-in; every later one must be a
	// cache hit, which the call count proves.
	hit := mk(targetReziHit, rgs[0].proc, rgs[0].base+"/rezi", rgs[0].cookie,
		expect{status: http.StatusFound, locationPrefix: loginPrefix})
	hit.reziCalls = true
	hit.gcURL = "http://" + rgs[0].metrics + "/metrics"
	if err := fetch(ctx, hit.client, hit.spec); err != nil {
		return nil, fmt.Errorf("bench: first /rezi: %w (rezigate log: %s)", err, rgs[0].proc.logPath)
	}
	targets = append(targets, hit)
	if tlsRG != nil {
		if err := e.startRezigate(ctx, bin, base, tlsRG, upURL, sec); err != nil {
			return nil, err
		}
		if tlsRG.cookie, err = signInWith(ctx, e.ctl.Transport, tlsRG.base, issuer, cookieName, benchEmail, sec.password); err != nil {
			return nil, fmt.Errorf("%w (rezigate log: %s)", err, tlsRG.proc.logPath)
		}
		for _, v := range []struct {
			bare, rezigate string
			h2             bool
		}{{targetBareTLS1, targetRezigateTLS1, false}, {targetBareTLS2, targetRezigateTLS2, true}} {
			b := mk(v.bare, bareTLS, "https://"+bareTLS.ready["addr"]+"/", tlsRG.cookie, ok200)
			b.upstream, b.gcURL = true, "http://"+bareTLS.ready["ctl"]+"/"
			r := mk(v.rezigate, tlsRG.proc, tlsRG.base+"/", tlsRG.cookie, ok200)
			r.upstream, r.identified, r.gcURL = true, true, "http://"+tlsRG.metrics+"/metrics"
			major := 1
			if v.h2 {
				major = 2
			}
			for _, t := range []*target{b, r} {
				t.client = tlsLoadClient(e.o.c, pool, v.h2)
				if err := checkProto(ctx, t, major); err != nil {
					return nil, err
				}
			}
			targets = append(targets, b, r)
		}
		hs, err := e.handshakeTargets(ctx, bare, bareTLS, tlsRG, pool, certFile, keyFile)
		if err != nil {
			return nil, err
		}
		targets = append(targets, hs...)
	}
	if e.redis != nil {
		t, err := e.startRedisTarget(ctx, bin, base, upURL, sec)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	return targets, nil
}

// rezigateInstance is one rezigate process under test.
type rezigateInstance struct {
	name, level  string
	listen, base string
	metrics      string // metrics_listen address
	proc         *child
	cookie       string
	// extra is laid over the generated configuration, top-level key by
	// key.
	extra map[string]any
	// env is added to the environment; a variable given here wins.
	env []string
}

// secrets are the throw-away credentials shared by the stubs and rezigate.
type secrets struct {
	clientSecret, reziKey, password string
}

// startRezigate writes rg's configuration, starts the binary with its
// secrets in the environment, and waits until it is ready.
func (e *env) startRezigate(ctx context.Context, bin string, base []string, rg *rezigateInstance, upURL string, sec secrets) error {
	cfg := map[string]any{
		"listen":                  rg.listen,
		"public_url":              rg.base,
		"upstream":                upURL,
		"upstream_max_idle_conns": e.o.maxIdle,
		"shutdown_timeout":        "2s",
		"metrics_listen":          rg.metrics, // read for GC counts, outside the measured window
		"oidc": map[string]any{
			"issuer_url":            e.stubs.ready["issuer"],
			"client_id":             benchClientID,
			"allowed_email_domains": []string{"example.com"},
		},
		"session": map[string]any{"cookie_name": cookieName, "max_age": "1h", "secure": false},
		"rezi": map[string]any{
			"api_url":    e.stubs.ready["rezi"] + "/v1",
			"login_url":  upURL + "/login/",
			"rate_limit": 0, // off: the bench calls /rezi far more often than a person
		},
		"log": map[string]any{"format": "text", "level": rg.level},
	}
	for k, v := range rg.extra {
		cfg[k] = v
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("bench: rezigate config: %w", err)
	}
	path := filepath.Join(e.dir, rg.name+".yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("bench: rezigate config: %w", err)
	}
	env := append(base[:len(base):len(base)],
		"REZIGATE_OIDC_CLIENT_SECRET="+sec.clientSecret,
		"REZIGATE_SESSION_SECRETS="+randomHex(32),
		"REZIGATE_IDENTITY_UID_SECRET="+randomHex(32),
		"REZIGATE_REZI_PRIVATE_KEY="+sec.reziKey,
	)
	env = append(env, rg.env...)
	rg.proc, err = startChild(ctx, rg.name, bin, []string{"-config", path}, env, filepath.Join(e.dir, rg.name+".log"), false)
	if err != nil {
		return err
	}
	e.children = append(e.children, rg.proc)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := e.ctl.Get(rg.base + "/readyz"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if rg.proc.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("bench: %s did not become ready; its log: %s\n%s", rg.name, rg.proc.logPath, tail(rg.proc.logPath))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// measure loads t once and reads the counters around the load.
func (e *env) measure(ctx context.Context, round int, t *target) (measurement, error) {
	m := measurement{Round: round, Target: t.name}
	runtime.GC() // the client's garbage is collected before, not during, the load
	var up0, up1 upstreamStats
	var calls0, calls1 int64
	var err error
	if up0, err = e.upstreamStats(ctx); err != nil {
		return m, err
	}
	if t.reziCalls {
		if calls0, err = e.reziCalls(ctx); err != nil {
			return m, err
		}
	}
	gc0, err := e.gcCount(ctx, t.gcURL)
	if err != nil {
		return m, err
	}
	var store0, store1, back0, back1 int64
	if t.storePID != 0 {
		if store0, err = procCPU(t.storePID); err != nil {
			return m, err
		}
	}
	if t.backPID != 0 {
		if back0, err = procCPU(t.backPID); err != nil {
			return m, err
		}
	}
	cpu0, err := procCPU(t.proc.pid())
	if err != nil {
		return m, err
	}
	r := runLoad(ctx, t.client, t.spec)
	cpu1, err := procCPU(t.proc.pid())
	if err != nil {
		return m, err
	}
	if t.storePID != 0 {
		if store1, err = procCPU(t.storePID); err != nil {
			return m, err
		}
	}
	if t.backPID != 0 {
		if back1, err = procCPU(t.backPID); err != nil {
			return m, err
		}
	}
	gc1, err := e.gcCount(ctx, t.gcURL)
	if err != nil {
		return m, err
	}
	if up1, err = e.upstreamStats(ctx); err != nil {
		return m, err
	}
	if t.reziCalls {
		if calls1, err = e.reziCalls(ctx); err != nil {
			return m, err
		}
	}
	m.Requests, m.Errors, m.FirstError = r.requests, r.errors, r.firstError
	m.Seconds = r.elapsed.Seconds()
	if r.elapsed > 0 {
		m.RPS = float64(r.requests) / r.elapsed.Seconds()
	}
	m.P50Micros = micros(r.p50)
	m.P99Micros = micros(r.p99)
	if r.requests > 0 {
		m.CPUMicros = float64(cpu1-cpu0) * 1e6 / float64(e.ticks) / float64(r.requests)
	}
	if r.requests > 0 {
		m.GCPer1k = float64(gc1-gc0) * 1000 / float64(r.requests)
	}
	if t.storePID != 0 && r.requests > 0 {
		v := float64(store1-store0) * 1e6 / float64(e.ticks) / float64(r.requests)
		m.StoreCPUMicros = &v
	}
	if t.backPID != 0 && r.requests > 0 {
		v := float64(back1-back0) * 1e6 / float64(e.ticks) / float64(r.requests)
		m.BackCPUMicros = &v
	}
	served := up1.Requests - up0.Requests
	if t.upstream && r.requests > 0 {
		v := float64(up1.Conns-up0.Conns) * 1000 / float64(r.requests)
		m.UpstreamConnsPer1k = &v
	}
	if t.asserted && up1.Asserted-up0.Asserted != served {
		m.Errors += int(served - (up1.Asserted - up0.Asserted))
		if m.FirstError == "" {
			m.FirstError = "the upstream received requests without an identity assertion"
		}
	}
	if t.identified && up1.Identified-up0.Identified != served {
		m.Errors += int(served - (up1.Identified - up0.Identified))
		if m.FirstError == "" {
			m.FirstError = "the upstream received requests without the identity header"
		}
	}
	if !t.upstream && served != 0 {
		m.FirstError = strings.TrimPrefix(m.FirstError+"; ", "; ") + fmt.Sprintf("the upstream received %d requests", served)
		m.Errors++
	}
	if t.reziCalls {
		n := calls1 - calls0
		m.ReziCalls = &n
	}
	return m, nil
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func (e *env) upstreamStats(ctx context.Context) (upstreamStats, error) {
	var s upstreamStats
	b, err := e.get(ctx, "http://"+e.upstream.ready["ctl"]+"/")
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("bench: upstream stats: %w", err)
	}
	return s, nil
}

// gcCount reads a target's completed garbage collections; 0 for a target
// without a Go runtime (nginx), whose url is empty.
func (e *env) gcCount(ctx context.Context, url string) (int64, error) {
	if url == "" {
		return 0, nil
	}
	b, err := e.get(ctx, url)
	if err != nil {
		return 0, err
	}
	n, ok := parseGCCount(string(b))
	if !ok {
		return 0, fmt.Errorf("bench: no GC count at %s", url)
	}
	return n, nil
}

// parseGCCount reads a bare number, or go_gc_duration_seconds_count from
// Prometheus text.
func parseGCCount(s string) (int64, bool) {
	if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
		return n, true
	}
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(line, "go_gc_duration_seconds_count "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err == nil
		}
	}
	return 0, false
}

func (e *env) reziCalls(ctx context.Context) (int64, error) {
	b, err := e.get(ctx, e.stubs.ready["rezi"]+"/bench/calls")
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bench: rezi calls: %w", err)
	}
	return n, nil
}

func (e *env) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	resp, err := e.ctl.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: GET %s: status %d, %v", url, resp.StatusCode, err)
	}
	return b, nil
}

// buildRezigate builds the module's main package into dir, as a user
// would, and returns the binary's path.
func buildRezigate(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		return "", errors.New("bench: not inside the rezigate module; run from its checkout or pass -rezigate")
	}
	bin := filepath.Join(dir, "rezigate")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/rezigate/rezigate")
	cmd.Dir = filepath.Dir(mod)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bench: go build: %w\n%s", err, msg)
	}
	return bin, nil
}

// cleanEnv drops settings a helper or rezigate would otherwise inherit
// from the caller's environment and be changed by.
func cleanEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "REZIGATE_") || strings.HasPrefix(kv, "BENCH_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// freePort returns a loopback port that was free a moment ago. rezigate
// must know its public URL before it starts, and the provider its redirect
// URI, so the port is chosen here.
func freePort() (int, error) { return freeport.Loopback() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
