// Package lockedbuf is a bytes.Buffer that concurrent writers and a
// reading test may share: the log output of handlers running on the
// server's goroutines, or a child process's output.
package lockedbuf

import (
	"bytes"
	"sync"
)

// Buffer collects what is written to it. The zero Buffer is empty and
// ready to use; it must not be copied after first use.
type Buffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

// Write appends p. It never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Writes returns how many Write calls there have been, for a test of a
// writer that batches its output.
func (b *Buffer) Writes() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.writes
}
