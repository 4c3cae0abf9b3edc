package freeport

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestLoopback(t *testing.T) {
	low := ephemeralLow()
	for range 20 {
		p, err := Loopback()
		if err != nil {
			t.Fatal(err)
		}
		if low > 1024+span/10 && (p >= low || p < low-span || p <= 1024) {
			t.Errorf("Loopback() = %d; want a port in [%d, %d)", p, low-span, low)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("listen on the port Loopback gave: %v", err)
		}
		l.Close()
	}
}

func TestDistinct(t *testing.T) {
	ps, err := Distinct(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ps {
		if seen[p] {
			t.Errorf("Distinct(5) = %v: %d twice", ps, p)
		}
		seen[p] = true
	}
}

func TestEphemeralLow(t *testing.T) {
	old := rangeFile
	t.Cleanup(func() { rangeFile = old })
	dir := t.TempDir()
	for content, want := range map[string]int{
		"40000\t60999\n": 40000,
		"":               defaultEphemeralLow,
		"x y":            defaultEphemeralLow,
		"0 1":            defaultEphemeralLow,
		"1500 2000":      1500,
	} {
		rangeFile = filepath.Join(dir, "range")
		if err := os.WriteFile(rangeFile, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := ephemeralLow(); got != want {
			t.Errorf("ephemeralLow() with %q = %d; want %d", content, got, want)
		}
	}
	rangeFile = filepath.Join(dir, "missing")
	if got := ephemeralLow(); got != defaultEphemeralLow {
		t.Errorf("ephemeralLow() without the file = %d; want %d", got, defaultEphemeralLow)
	}
	rangeFile = filepath.Join(dir, "range") // 1500: no room below, the kernel picks
	if p, err := Loopback(); err != nil || p == 0 {
		t.Errorf("Loopback() with a low range = %d, %v", p, err)
	}
}
