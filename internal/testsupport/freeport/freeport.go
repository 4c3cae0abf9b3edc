// Package freeport picks loopback ports for servers that a test or the
// bench starts in another process, which must be told their port (and
// others their URL) before they bind it.
//
// A port picked by listening on 127.0.0.1:0 comes from the kernel's
// ephemeral range, the range every outgoing connection and every other
// ":0" listener on the machine also draws from, so under load another
// process often takes it between the pick and the bind. Ports here come
// from just below that range, where nothing is handed out by the kernel:
// only a process that asks for that very port can take it.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// span is how many ports below the ephemeral range are drawn from.
const span = 10000

// attempts bounds the ports tried before giving up.
const attempts = 200

// Linux's default ephemeral range starts here; rangeFile says otherwise.
const defaultEphemeralLow = 32768

// rangeFile holds the kernel's ephemeral port range on Linux.
var rangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

// Loopback returns a port on 127.0.0.1 that was free a moment ago: one
// it could listen on, outside the kernel's ephemeral range.
func Loopback() (int, error) {
	low := ephemeralLow()
	if low <= 1024+span/10 { // no room below the range: take one of the kernel's
		return kernelPort()
	}
	first := max(1025, low-span)
	for range attempts {
		p := first + rand.IntN(low-first)
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
			_ = l.Close()
			return p, nil
		}
	}
	return 0, errors.New("freeport: no free loopback port below the ephemeral range")
}

// Distinct returns n different ports as Loopback does.
func Distinct(n int) ([]int, error) {
	seen := map[int]bool{}
	out := make([]int, 0, n)
	for len(out) < n {
		p, err := Loopback()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

func ephemeralLow() int {
	data, err := os.ReadFile(rangeFile)
	if err != nil {
		return defaultEphemeralLow
	}
	low, err := strconv.Atoi(strings.Fields(string(data) + " x")[0])
	if err != nil || low < 1 || low > 65535 {
		return defaultEphemeralLow
	}
	return low
}

func kernelPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("freeport: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
