package lockedbuf

import (
	"strings"
	"sync"
	"testing"
)

func TestConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("x\n"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got, want := strings.Count(b.String(), "x\n"), 800; got != want || b.Writes() != want {
		t.Errorf("after 800 writes: %d lines, Writes() = %d; want %d", got, b.Writes(), want)
	}
}
