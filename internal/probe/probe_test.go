package probe

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestReady: an answer, good or bad, is reused for TTL and then checked
// again; a check is bounded by Timeout and not cancelled with its caller.
// Time is the fake clock of a synctest bubble.
func TestReady(t *testing.T) {
	down := errors.New("store: connection refused")
	cases := []struct {
		name    string
		ttl     time.Duration
		answers []error         // of successive checks
		after   []time.Duration // before each Ready, from the previous one
		want    []bool
		checks  int
	}{
		{"up, reused within the TTL", time.Second, []error{nil}, []time.Duration{0, time.Second - time.Nanosecond}, []bool{true, true}, 1},
		{"down, reused within the TTL", time.Second, []error{down}, []time.Duration{0, time.Millisecond}, []bool{false, false}, 1},
		{"checked again after the TTL", time.Second, []error{nil, down, nil}, []time.Duration{0, time.Second, time.Second}, []bool{true, false, true}, 3},
		{"zero TTL: every call checks", 0, []error{nil, down}, []time.Duration{0, 0}, []bool{true, false}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var checks atomic.Int32
				p := &Probe{TTL: tc.ttl, Timeout: time.Second, Check: func(context.Context) error {
					n := checks.Add(1)
					return tc.answers[n-1]
				}}
				for i, want := range tc.want {
					time.Sleep(tc.after[i])
					if got := p.Ready(context.Background()); got != want {
						t.Errorf("Ready() #%d = %v; want %v", i+1, got, want)
					}
				}
				if n := int(checks.Load()); n != tc.checks {
					t.Errorf("checks = %d; want %d", n, tc.checks)
				}
			})
		})
	}
}

// TestReadyTimeout: a check that does not answer fails once Timeout has
// passed, even when the caller's context is cancelled sooner.
func TestReadyTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &Probe{TTL: time.Second, Timeout: 500 * time.Millisecond, Check: func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		if p.Ready(ctx) {
			t.Error("Ready() = true; want false for a check that never answers")
		}
		if d := time.Since(start); d != 500*time.Millisecond {
			t.Errorf("Ready() took %v; want the Timeout, 500ms, and not the caller's cancellation", d)
		}
	})
}

// TestReadyInFlight: while a check is in flight, a caller with an answer
// to go by gets it at once, and the check runs once.
func TestReadyInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var checks atomic.Int32
		release := make(chan error)
		p := &Probe{TTL: time.Second, Timeout: time.Minute, Check: func(context.Context) error {
			if checks.Add(1) == 1 {
				return nil
			}
			return <-release
		}}
		if !p.Ready(context.Background()) {
			t.Fatal("first Ready() = false; want true")
		}
		time.Sleep(time.Second) // the answer is stale
		var wg sync.WaitGroup
		var slow bool
		wg.Go(func() { slow = p.Ready(context.Background()) })
		synctest.Wait() // that caller's check is in flight
		if !p.Ready(context.Background()) {
			t.Error("Ready() during a check = false; want the last answer, true")
		}
		release <- errors.New("store: down")
		wg.Wait()
		if slow {
			t.Error("Ready() of the checking caller = true; want its check's answer, false")
		}
		if n := checks.Load(); n != 2 {
			t.Errorf("checks = %d; want 2", n)
		}
	})
}
