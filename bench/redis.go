package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Redis session store's part of the bench (-redis): a real
// redis-server, and two rezigate replicas with session.store redis that
// share it and their secrets. Replica A is loaded like the cookie-store
// rezigate; replica B serves only the revocation measurement, which signs
// out on A and asks B until it answers 401.
const (
	// targetRedis is replica A, the loaded target.
	targetRedis = "rezigate-redis"
	// redisReplicaB is replica B; it is not a target.
	redisReplicaB = "rezigate-redis-b"
	// redisServerName names the redis-server child and its log.
	redisServerName = "redis-server"
	// revocationDeadline bounds how long replica B may keep a signed-out
	// session; past it, the sign-out counts as an error. The store's
	// local cache is bounded by a minute at most, so this catches a lost
	// invalidation as well as a broken one.
	revocationDeadline = 5 * time.Second
	// revocationTarget is the p99 revocation latency aimed for.
	revocationTarget = 100 * time.Millisecond
)

// redisSetup is the running Redis part of the bench.
type redisSetup struct {
	port      int
	password  string
	server    *child
	a, b      *rezigateInstance
	sessions  string // REZIGATE_SESSION_SECRETS of both replicas
	account   string // the bench account's password at the provider
	uidSecret string // REZIGATE_IDENTITY_UID_SECRET of both replicas
}

// url is the redis:// URL the replicas read from REZIGATE_REDIS_URL.
func (r *redisSetup) url() string {
	return fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", r.password, r.port)
}

// redisConf is the redis-server configuration of the bench: loopback
// only, a password, nothing on disk, and noeviction as the store's
// documentation asks. It goes into a 0600 file, so the password is not on
// the command line.
func redisConf(port int, password, dir string) string {
	return strings.Join([]string{
		"port " + strconv.Itoa(port),
		"bind 127.0.0.1",
		"protected-mode yes",
		"requirepass " + password,
		`save ""`,
		"appendonly no",
		"daemonize no",
		"maxmemory-policy noeviction",
		"dir " + dir,
		"logfile " + filepath.Join(dir, redisServerName+".log"),
	}, "\n") + "\n"
}

// prepareRedis starts redis-server, pinned to the proxies' CPU, and picks
// the replicas' addresses; their redirect URIs go to the provider, which
// starts next. Both redis-server and rezigate count as the server side,
// so they share CPU 1 and the load client keeps CPU 0 to itself.
func (e *env) prepareRedis(ctx context.Context) ([]string, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("bench: -redis needs redis-server in PATH (Debian: apt-get install redis-server, or bash .ci/redis.sh install)")
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &redisSetup{port: port, password: randomHex(24),
		sessions: randomHex(32), uidSecret: randomHex(32)}
	conf := filepath.Join(e.dir, redisServerName+".conf")
	if err := os.WriteFile(conf, []byte(redisConf(port, r.password, e.dir)), 0o600); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	bin, args := path, []string{conf}
	if proxyCPU != "" {
		if taskset, err := exec.LookPath("taskset"); err == nil {
			bin, args = taskset, []string{"-c", proxyCPU, path, conf} // taskset execs: the PID is redis-server's
		}
	}
	if r.server, err = startChild(ctx, redisServerName, bin, args, cleanEnv(os.Environ()),
		filepath.Join(e.dir, redisServerName+".out"), false); err != nil {
		return nil, err
	}
	e.children = append(e.children, r.server)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := redisPing(ctx, port, r.password)
		if err == nil {
			break
		}
		if r.server.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("bench: redis-server did not answer: %v; its log: %s\n%s", err,
				filepath.Join(e.dir, redisServerName+".log"), tail(filepath.Join(e.dir, redisServerName+".log")))
		}
		time.Sleep(50 * time.Millisecond)
	}
	var redirects []string
	for _, name := range []string{targetRedis, redisReplicaB} {
		rg, err := newInstance(name)
		if err != nil {
			return nil, err
		}
		rg.extra = map[string]any{"session": map[string]any{
			"cookie_name": cookieName, "max_age": "1h", "secure": false, "store": "redis"}}
		if r.a != nil { // replicas of one deployment share its public URL, to which sessions are bound
			rg.extra["public_url"] = r.a.base
		}
		rg.env = []string{
			"REZIGATE_REDIS_URL=" + r.url(),
			"REZIGATE_SESSION_SECRETS=" + r.sessions,
			"REZIGATE_IDENTITY_UID_SECRET=" + r.uidSecret,
		}
		redirects = append(redirects, rg.base+"/oauth2/callback")
		if name == targetRedis {
			r.a = rg
		} else {
			r.b = rg
		}
	}
	e.redis = r
	return redirects, nil
}

// newInstance picks the ports of a warn-level rezigate.
func newInstance(name string) (*rezigateInstance, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	mport, err := freePort()
	if err != nil {
		return nil, err
	}
	rg := &rezigateInstance{name: name, level: "warn", listen: "127.0.0.1:" + strconv.Itoa(port),
		metrics: "127.0.0.1:" + strconv.Itoa(mport)}
	rg.base = "http://" + rg.listen
	return rg, nil
}

// startRedisTarget starts both replicas, signs in on A and returns A as a
// target whose redis-server CPU is counted beside its own.
func (e *env) startRedisTarget(ctx context.Context, bin string, base []string, upURL string, sec secrets) (*target, error) {
	r := e.redis
	r.account = sec.password
	issuer := e.stubs.ready["issuer"]
	for _, rg := range []*rezigateInstance{r.a, r.b} {
		if err := e.startRezigate(ctx, bin, base, rg, upURL, sec); err != nil {
			return nil, err
		}
	}
	var err error
	if r.a.cookie, err = signIn(ctx, r.a.base, issuer, cookieName, benchEmail, sec.password); err != nil {
		return nil, fmt.Errorf("%w (rezigate log: %s)", err, r.a.proc.logPath)
	}
	t := &target{name: targetRedis, proc: r.a.proc, client: newLoadClient(e.o.c),
		spec:     loadSpec{url: r.a.base + "/", cookie: r.a.cookie, n: e.o.n, c: e.o.c, want: expect{status: http.StatusOK, bodyLen: e.o.bodySize}},
		upstream: true, identified: true, gcURL: "http://" + r.a.metrics + "/metrics", storePID: r.server.pid()}
	// Replica B must open A's sessions: the same secrets, the same Redis.
	if err := fetch(ctx, t.client, loadSpec{url: r.b.base + "/", cookie: r.a.cookie, want: t.spec.want}); err != nil {
		return nil, fmt.Errorf("bench: replica B refused replica A's session: %w (rezigate log: %s)", err, r.b.proc.logPath)
	}
	return t, nil
}

// revocation is how long a sign-out on replica A took to reach replica B.
type revocation struct {
	SignOuts int `json:"sign_outs"`
	// Errors counts sign-outs that failed, or that replica B still
	// honoured after revocationDeadline.
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	P50Millis  float64 `json:"p50_ms"`
	P99Millis  float64 `json:"p99_ms"`
	MaxMillis  float64 `json:"max_ms"`
	// TargetP99Millis is the goal for P99Millis; Met says whether it held.
	TargetP99Millis float64 `json:"target_p99_ms"`
	Met             bool    `json:"met"`
	// RedisPeakRSSMiB is redis-server's VmHWM after the run.
	RedisPeakRSSMiB float64 `json:"redis_peak_rss_mib"`
}

// summarizeRevocation computes the percentiles of the latencies measured;
// a failed sign-out has none and counts in errors.
func summarizeRevocation(lat []time.Duration, errs int, firstErr string) revocation {
	s := slices.Clone(lat)
	slices.Sort(s)
	rv := revocation{SignOuts: len(lat) + errs, Errors: errs, FirstError: firstErr,
		P50Millis: millis(percentile(s, 0.50)), P99Millis: millis(percentile(s, 0.99)),
		TargetP99Millis: millis(revocationTarget)}
	if len(s) > 0 {
		rv.MaxMillis = millis(s[len(s)-1])
	}
	rv.Met = errs == 0 && len(s) > 0 && rv.P99Millis <= rv.TargetP99Millis
	return rv
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// measureRevocation signs in on replica A n times; each time it reads the
// session on replica B (so B holds it in its local cache), signs out on A,
// and asks B until it answers 401, timing from A's answer to B's 401.
func (e *env) measureRevocation(ctx context.Context, n int) revocation {
	r := e.redis
	issuer := e.stubs.ready["issuer"]
	client := newLoadClient(1)
	ok200 := expect{status: http.StatusOK, bodyLen: e.o.bodySize}
	var lat []time.Duration
	var errs int
	var firstErr string
	fail := func(err error) {
		errs++
		if firstErr == "" {
			firstErr = err.Error()
		}
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		cookie, err := signIn(ctx, r.a.base, issuer, cookieName, benchEmail, r.account)
		if err != nil {
			fail(err)
			continue
		}
		onB := loadSpec{url: r.b.base + "/", cookie: cookie, want: ok200}
		if err := errors.Join(fetch(ctx, client, onB), fetch(ctx, client, onB)); err != nil {
			fail(fmt.Errorf("replica B before the sign-out: %w", err))
			continue
		}
		// A GET without Origin or Sec-Fetch-Site signs out at once.
		if err := fetch(ctx, client, loadSpec{url: r.a.base + "/oauth2/sign_out", cookie: cookie,
			want: expect{status: http.StatusFound}}); err != nil {
			fail(fmt.Errorf("sign-out on replica A: %w", err))
			continue
		}
		signedOut := time.Now()
		gone := loadSpec{url: r.b.base + "/", cookie: cookie, want: expect{status: http.StatusUnauthorized}}
		for {
			err := fetch(ctx, client, gone)
			if err == nil {
				lat = append(lat, time.Since(signedOut))
				break
			}
			if time.Since(signedOut) > revocationDeadline || ctx.Err() != nil {
				fail(fmt.Errorf("replica B still answered for a session signed out on A %v earlier (%v)", revocationDeadline, err))
				break
			}
		}
	}
	if firstErr == "" && len(lat) < n {
		firstErr = fmt.Sprintf("%d sign-outs not measured: %v", n-len(lat), ctx.Err())
	}
	rv := summarizeRevocation(lat, n-len(lat), firstErr)
	if rss, err := procPeakRSS(r.server.pid()); err == nil {
		rv.RedisPeakRSSMiB = float64(rss) / (1 << 20)
	}
	return rv
}

// orZero is the value of an optional measurement (the store's CPU per
// request, or that of the proxy behind a TLS front), 0 for none.
func orZero(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}

// writeRedis prints the Redis store's CPU split and revocation latency,
// when the run had them.
func (r *results) writeRedis(w io.Writer) {
	var rows []summary
	for _, s := range r.Summary {
		if s.StoreCPUMicros != nil {
			rows = append(rows, s)
		}
	}
	if len(rows) == 0 && r.Revocation == nil {
		return
	}
	fmt.Fprintln(w)
	if len(rows) > 0 {
		fmt.Fprintln(w, "| target | rezigate CPU µs/req | redis-server CPU µs/req | together |")
		fmt.Fprintln(w, "|---|---:|---:|---:|")
		for _, s := range rows {
			fmt.Fprintf(w, "| %s | %.1f | %.2f | %.1f |\n", s.Target, s.CPUMicros, *s.StoreCPUMicros, s.CPUMicros+*s.StoreCPUMicros)
		}
		fmt.Fprintln(w)
	}
	if rv := r.Revocation; rv != nil {
		met := "yes"
		if !rv.Met {
			met = "**no**"
		}
		fmt.Fprintln(w, "| revocation: sign-out on replica A until replica B answers 401 | sign-outs | errors | p50 | p99 | max | target | met |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---|")
		fmt.Fprintf(w, "| %s | %d | %d | %.2f ms | %.2f ms | %.2f ms | p99 ≤ %.0f ms | %s |\n",
			targetRedis+" → "+redisReplicaB, rv.SignOuts, rv.Errors, rv.P50Millis, rv.P99Millis, rv.MaxMillis, rv.TargetP99Millis, met)
		if rv.FirstError != "" {
			fmt.Fprintf(w, "\nrevocation: first error: %s\n", rv.FirstError)
		}
		fmt.Fprintf(w, "\nredis-server runs on the proxies' CPU; its peak RSS was %.1f MiB.\n", rv.RedisPeakRSSMiB)
	}
}

// redisPing sends AUTH and PING in RESP and expects +OK and +PONG.
func redisPing(ctx context.Context, port int, password string) error {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, redisCommand("AUTH", password)+redisCommand("PING")); err != nil {
		return err
	}
	return readRedisReplies(bufio.NewReader(c), "+OK", "+PONG")
}

// redisCommand encodes a command as a RESP array of bulk strings.
func redisCommand(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// readRedisReplies reads one simple-string reply per want. An error reply
// is returned as it came, without the command that caused it.
func readRedisReplies(br *bufio.Reader, want ...string) error {
	for _, w := range want {
		line, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("bench: redis: %w", err)
		}
		if got := strings.TrimRight(line, "\r\n"); got != w {
			return fmt.Errorf("bench: redis answered %q; want %q", got, w)
		}
	}
	return nil
}
