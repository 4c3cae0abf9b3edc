package logwriter

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rezigate/rezigate/internal/testsupport/lockedbuf"
)

func TestBatchesAndFlushes(t *testing.T) {
	out := &lockedbuf.Buffer{}
	w := New(out, time.Hour) // no tick during the test: only explicit flushes
	for i := 0; i < 100; i++ {
		w.Write([]byte("line\n"))
	}
	if got := out.String(); got != "" {
		t.Fatalf("output before any flush = %q; want nothing yet", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, writes := out.String(), out.Writes()
	if got != strings.Repeat("line\n", 100) || writes != 1 {
		t.Errorf("after Close: %d bytes in %d writes; want 500 bytes in 1 write", len(got), writes)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v; want nil", err)
	}
}

// TestIntervalFlush: a line waits for the interval, then is written by
// the background flush. The bubble's clock moves only when every
// goroutine in it waits, so "not yet" and "now" are exact.
func TestIntervalFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 10 * time.Millisecond
		out := &lockedbuf.Buffer{}
		w := New(out, interval)
		defer w.Close()
		w.Write([]byte("x\n"))
		time.Sleep(interval - time.Nanosecond)
		synctest.Wait()
		if got := out.String(); got != "" {
			t.Fatalf("output before the interval = %q; want nothing yet", got)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait() // the background flush has run
		if got, writes := out.String(), out.Writes(); got != "x\n" || writes != 1 {
			t.Errorf("after the interval: %q in %d writes; want %q in 1", got, writes, "x\n")
		}
	})
}

func TestFullBufferFlushes(t *testing.T) {
	out := &lockedbuf.Buffer{}
	w := New(out, time.Hour)
	defer w.Close()
	w.Write(bytes.Repeat([]byte("y"), maxBuffered))
	if got := out.String(); len(got) != maxBuffered {
		t.Errorf("after a full buffer, %d bytes written; want %d", len(got), maxBuffered)
	}
}

// TestCloseConcurrent: Close may be called any number of times from any
// goroutine; every call returns once everything written before it is
// out, and the output is written once.
func TestCloseConcurrent(t *testing.T) {
	const rounds, closers = 50000, 8
	for range rounds {
		out := &lockedbuf.Buffer{}
		w := New(out, time.Hour)
		w.Write([]byte("line\n"))
		start := make(chan struct{})
		errs := make(chan error, closers)
		var wg sync.WaitGroup
		for range closers {
			wg.Go(func() {
				<-start
				errs <- w.Close()
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("Close = %v; want nil", err)
			}
		}
		if got, writes := out.String(), out.Writes(); got != "line\n" || writes != 1 {
			t.Fatalf("after concurrent Closes: %q in %d writes; want %q in 1", got, writes, "line\n")
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close after Close = %v; want nil", err)
		}
	}
}
