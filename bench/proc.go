package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// child is a process the bench started and must stop.
type child struct {
	name    string
	cmd     *exec.Cmd
	stdin   io.Closer
	logPath string
	// ready holds the key=value pairs of a helper's ready line.
	ready map[string]string
	done  chan struct{}
}

// proxyCPU, when not empty, is the CPU the proxies under load are pinned
// to (taskset execs the proxy, so its PID is the proxy's).
var proxyCPU string

// startChild runs path with env (the whole environment) and its stderr in
// logPath. With waitReady it waits up to a bound for the helper's ready line.
func startChild(ctx context.Context, name, path string, args, env []string, logPath string, waitReady bool) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	defer logf.Close() // the child holds its own descriptor
	// Plain pipes rather than StdinPipe and StdoutPipe: Wait, which runs
	// concurrently, would close those under a reader.
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	cmd := exec.Command(path, args...)
	if proxyCPU != "" && (name == roleBare || name == roleBareTLS || name == nginxName || strings.HasPrefix(name, targetRezigate)) {
		if taskset, err := exec.LookPath("taskset"); err == nil {
			cmd = exec.Command(taskset, append([]string{"-c", proxyCPU, path}, args...)...)
		}
	}
	cmd.Env = env
	cmd.Stdin = inR
	cmd.Stdout = outW
	cmd.Stderr = logf
	cmd.SysProcAttr = childAttr()
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("bench: start %s: %w", name, err)
	}
	stdout := outR
	c := &child{name: name, cmd: cmd, stdin: inW, logPath: logPath, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
		stdout.Close()
	}()
	go func() {
		_ = cmd.Wait()
		close(c.done)
	}()
	if !waitReady {
		return c, nil
	}
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case line, ok := <-lines:
		if ok {
			if ready, ok := parseReady(line); ok {
				c.ready = ready
				return c, nil
			}
		}
	case <-timer.C:
	case <-ctx.Done():
	}
	c.stop()
	return nil, fmt.Errorf("bench: %s did not start; its log: %s\n%s", name, logPath, tail(logPath))
}

// parseReady reads "ready k=v k=v".
func parseReady(line string) (map[string]string, bool) {
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != readyPrefix {
		return nil, false
	}
	m := make(map[string]string, len(f)-1)
	for _, kv := range f[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, false
		}
		m[k] = v
	}
	return m, true
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the child has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop asks the child to end, then kills it if it has not within a bound.
func (c *child) stop() {
	_ = c.stdin.Close()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// tail returns the last lines of a log file for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// procCPU returns the user plus system CPU time of process pid, all its
// threads included, in clock ticks.
func procCPU(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: cpu time: %w", err)
	}
	return parseStat(b)
}

// parseStat reads utime and stime (fields 14 and 15) from /proc/PID/stat.
// The command name (field 2) may hold spaces and parentheses, so fields are
// counted from its last ")".
func parseStat(b []byte) (int64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("bench: /proc stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field k is f[k-3].
	if len(f) < 13 {
		return 0, errors.New("bench: /proc stat: too few fields")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bench: /proc stat: utime or stime is not a number")
	}
	return utime + stime, nil
}

// procPeakRSS returns the process's peak resident set size (VmHWM) in bytes.
func procPeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: peak rss: %w", err)
	}
	return parseHWM(b)
}

// parseHWM reads "VmHWM:  1234 kB" from /proc/PID/status.
func parseHWM(b []byte) (int64, error) {
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			break
		}
		return kb << 10, nil
	}
	return 0, errors.New("bench: /proc status: no VmHWM line")
}

// clockTicks is the kernel's USER_HZ, the unit of /proc CPU times. It is
// 100 on every mainstream Linux platform; getconf is asked in case.
func clockTicks() int64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 100
}

// loadAvg is the first line of /proc/loadavg, to show how busy the machine
// was; it is empty when unreadable.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
