// Package logwriter batches log lines before they reach the operating
// system. A busy proxy writes one access-log line per request; one write
// system call per line costs more CPU than proxying the request itself.
// Lines are flushed at most Interval after they were written, when the
// buffer fills, and on Close, so nothing is lost on a clean shutdown.
package logwriter

import (
	"io"
	"sync"
	"time"
)

// DefaultInterval is how long a line may wait in the buffer.
const DefaultInterval = 100 * time.Millisecond

const maxBuffered = 64 << 10

// Writer is a concurrency-safe buffered io.Writer with a background flush.
// The zero Writer is not usable: make one with New.
type Writer struct {
	mu        sync.Mutex
	out       io.Writer
	buf       []byte
	closeOnce sync.Once // closes stop
	stop      chan struct{}
	done      chan struct{}
}

// New returns a Writer that flushes to out every interval (zero means
// DefaultInterval). Call Close to flush and stop it.
func New(out io.Writer, interval time.Duration) *Writer {
	if interval <= 0 {
		interval = DefaultInterval
	}
	w := &Writer{out: out, stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop(interval)
	return w
}

func (w *Writer) loop(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = w.Flush()
		case <-w.stop:
			return
		}
	}
}

// Write buffers p; it never blocks on the output unless the buffer is full.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) >= maxBuffered {
		return len(p), w.flushLocked()
	}
	return len(p), nil
}

// Flush writes out everything buffered.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.out.Write(w.buf)
	w.buf = w.buf[:0]
	return err
}

// Close stops the background flush and flushes what is left. It is safe
// to call any number of times, from any goroutine: every call returns
// once the background flush has stopped and what was written before it
// is flushed; only the first call stops the background flush.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() { close(w.stop) })
	<-w.done
	return w.Flush()
}
