// Package probe runs a readiness check at most once at a time and reuses
// its answer for a while, so that a readiness endpoint polled by many
// load balancers, or a sign-in that asks first, costs the checked service
// one call a TTL.
package probe

import (
	"context"
	"sync"
	"time"
)

// Probe runs Check at most once at a time and remembers its answer for
// TTL; callers that find a check in flight use the last answer rather
// than wait, and only the very first callers, before any answer, wait for
// one. Set its fields before the first Ready; it must not be copied after.
type Probe struct {
	// Check says whether the service answers; an error means it does
	// not. Ready panics when it is nil.
	Check func(context.Context) error
	// TTL is how long an answer is reused. Zero means none is: every
	// call checks again, unless a check is in flight.
	TTL time.Duration
	// Timeout bounds each Check, which runs on the caller's context
	// without its cancellation, so that one caller going away does not
	// fail the answer every other caller gets. Zero means no bound, which
	// lets a hung service hold the first callers forever: set it.
	Timeout time.Duration

	running sync.Mutex // held while a Check is in flight
	mu      sync.Mutex
	at      time.Time // of the last answer; zero before the first
	ok      bool
}

// Ready reports whether the service answered its last check, checking
// again when that answer is older than TTL and no other caller is
// checking.
func (p *Probe) Ready(ctx context.Context) bool {
	p.mu.Lock()
	at, ok := p.at, p.ok
	p.mu.Unlock()
	if !at.IsZero() && time.Since(at) < p.TTL {
		return ok
	}
	if !at.IsZero() && !p.running.TryLock() {
		return ok
	} else if at.IsZero() {
		p.running.Lock()
	}
	defer p.running.Unlock()
	p.mu.Lock()
	if !p.at.IsZero() && time.Since(p.at) < p.TTL { // another caller just checked
		ok = p.ok
		p.mu.Unlock()
		return ok
	}
	p.mu.Unlock()
	cctx, cancel := context.WithoutCancel(ctx), context.CancelFunc(func() {})
	if p.Timeout > 0 {
		cctx, cancel = context.WithTimeout(cctx, p.Timeout)
	}
	err := p.Check(cctx)
	cancel()
	p.mu.Lock()
	p.at, p.ok = time.Now(), err == nil
	p.mu.Unlock()
	return err == nil
}
