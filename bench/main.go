// Command bench measures what rezigate costs per request next to a bare
// reverse proxy, and what /rezi costs when the user's Rezi token is cached.
//
//	go run ./bench                           3 rounds of 50,000 requests per target
//	go run ./bench -info -n 30000            add a rezigate with info-level access logs
//	go run ./bench -n 20000 -rounds 5 -json results.json
//	go run ./bench -policy=false             leave out the policy and assertion target
//	go run ./bench -redis                    add the Redis session store and its revocation latency
//	go run ./bench -tls                      add HTTPS over HTTP/1.1 and HTTP/2: rezigate's TLS next to Go's,
//	                                         and full handshakes on new connections, nginx as a reference
//
// Every part runs in a process of its own on 127.0.0.1, so that each one's
// CPU time can be read from /proc/PID/stat and nothing the load client or
// the upstream does is counted against a proxy:
//
//   - an upstream that answers every GET with a small body and counts the
//     connections it accepts;
//   - a bare proxy: httputil.ReverseProxy with Rewrite (SetURL and
//     SetXForwarded) and the same Transport as rezigate, no authentication;
//   - the demo OpenID provider and Rezi stand-in of internal/demo;
//   - the rezigate binary, built from this module, with warn-level logs
//     and, with -info, a second one with info-level access logs written to
//     a file; with -policy (the default), another with a policy of 20
//     routes and the signed identity assertion on.
//
// The helper processes are this program started again with BENCH_ROLE set.
// The bench signs in through the provider's login form like a browser,
// then loads each target with the same client (keep-alive, 32 concurrent
// workers) in alternating rounds, because a shared machine drifts: the
// table shows medians over rounds, and each ratio is the median of the
// ratios measured within one round. "rezi-hit" is GET /rezi for a user whose
// Rezi token is cached: a 302 answered from memory, compared with a proxied
// request to the same rezigate.
//
// The exit status is non-zero when a request failed (a transport error, an
// unexpected status or body) or the setup did; a ratio that misses its
// target is a measurement, not a failure.
//
// It is Linux-only (it reads /proc) and meant for a quiet machine; it binds
// nothing but loopback.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

// options are the command-line settings of one bench run.
type options struct {
	n, c, rounds, warmup int
	bodySize             int
	maxIdle              int
	info                 bool
	policy               bool
	redis                bool
	tls                  bool
	handshakes           int
	nginx                string
	revocations          int
	barePool             bool
	jsonPath             string
	bin                  string
	timeout              time.Duration
}

func main() {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role))
	}
	var o options
	flag.IntVar(&o.n, "n", 50000, "measured requests per target and round")
	flag.IntVar(&o.c, "c", 32, "concurrent client connections")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; each loads every target once, in rotating order")
	flag.IntVar(&o.warmup, "warmup", 0, "warm-up requests per target before the first round; 0 means n/10, at least 1000")
	flag.IntVar(&o.bodySize, "body", 128, "upstream response body size in bytes")
	flag.IntVar(&o.maxIdle, "max-idle", 256, "upstream idle pool of both proxies (rezigate's upstream_max_idle_conns)")
	flag.BoolVar(&o.info, "info", false, "also measure a rezigate with info-level access logs written to a file (a fourth target: about a third more time)")
	flag.BoolVar(&o.policy, "policy", true, "also measure a rezigate with a policy of 20 routes and the signed identity assertion on, and the session cookie of a user in 200 groups")
	flag.BoolVar(&o.redis, "redis", false, "also measure a rezigate with session.store redis against a local redis-server (in PATH), and how fast a sign-out reaches a second replica")
	flag.BoolVar(&o.tls, "tls", false, "also measure HTTPS: the bare proxy behind Go's TLS server and a rezigate with tls.cert_file, each over HTTP/1.1 and HTTP/2")
	flag.IntVar(&o.handshakes, "handshakes", 5000, "with -tls: new connections (full TLS handshakes, one GET each) per handshake target and round")
	flag.StringVar(&o.nginx, "nginx", "", "with -tls: nginx binary for the reference column (nginx terminating TLS in front of the bare proxy); empty means nginx in PATH or /usr/sbin/nginx")
	flag.IntVar(&o.revocations, "revocations", 200, "with -redis: sign-outs timed from one replica to the other")
	flag.BoolVar(&o.barePool, "bare-buffer-pool", false, "give the bare proxy a pool of copy buffers (httputil.ReverseProxy.BufferPool), for when rezigate's proxy has one")
	flag.StringVar(&o.jsonPath, "json", "", "also write every measurement and the summary as JSON to this file")
	flag.StringVar(&o.bin, "rezigate", "", "rezigate binary to measure; empty means go build the module's main package")
	flag.DurationVar(&o.timeout, "timeout", 3*time.Minute, "give up after this long, build excluded")
	pin := flag.Bool("pin", pinDefault(runtime.NumCPU(), os.Getenv(pinnedEnv) != ""), "pin the proxy under load to CPU 1 and everything else to CPU 0 (with taskset), so the load client does not compete with the proxy it measures")
	flag.Parse()
	if *pin {
		if code, ok := repinSelf(); ok {
			os.Exit(code)
		}
		proxyCPU = "1"
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, o, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if res.Errors > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d requests failed\n", res.Errors)
		os.Exit(1)
	}
}

// pinnedEnv marks the bench process that already runs on CPU 0.
const pinnedEnv = "BENCH_PINNED"

// pinDefault is -pin's default: on with two CPUs or more. The process
// repinSelf started (pinned true) sees only CPU 0, so it follows its
// parent's choice, not the one CPU it can see.
func pinDefault(cpus int, pinned bool) bool {
	return pinned || cpus >= 2
}

// repinSelf runs this bench again under "taskset -c 0" and returns its exit
// code, unless this process is already that one (ok false). Without
// taskset, nothing is pinned.
func repinSelf() (code int, ok bool) {
	if os.Getenv(pinnedEnv) != "" {
		return 0, false
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: taskset not found; running unpinned")
		return 0, false
	}
	self, err := os.Executable()
	if err != nil {
		return 0, false
	}
	cmd := exec.Command(taskset, append([]string{"-c", "0", self}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), pinnedEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	signal.Ignore(os.Interrupt, syscall.SIGTERM) // the child gets them too and cleans up
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), true
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1, true
	}
	return 0, true
}

func (o *options) check() error {
	var errs []error
	if o.n < 1 {
		errs = append(errs, errors.New("-n must be at least 1"))
	}
	if o.c < 1 {
		errs = append(errs, errors.New("-c must be at least 1"))
	}
	if o.rounds < 1 {
		errs = append(errs, errors.New("-rounds must be at least 1"))
	}
	if o.warmup < 0 {
		errs = append(errs, errors.New("-warmup must not be negative"))
	}
	if o.warmup == 0 {
		o.warmup = max(o.n/10, 1000)
	}
	if o.bodySize < 0 || o.bodySize > 1<<20 {
		errs = append(errs, errors.New("-body must be between 0 and 1 MiB"))
	}
	if o.maxIdle < 1 {
		errs = append(errs, errors.New("-max-idle must be at least 1"))
	}
	if o.redis && o.revocations < 1 {
		errs = append(errs, errors.New("-revocations must be at least 1 with -redis"))
	}
	if o.tls && o.handshakes < 1 {
		errs = append(errs, errors.New("-handshakes must be at least 1 with -tls"))
	}
	if o.timeout <= 0 {
		errs = append(errs, errors.New("-timeout must be positive"))
	}
	return errors.Join(errs...)
}
