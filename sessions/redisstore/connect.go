package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Backoff between the attempts of Connect.
const (
	connectRetryMin = 250 * time.Millisecond
	connectRetryMax = 10 * time.Second
)

// Connect is New retried, with backoff capped at ten seconds, while Redis
// does not answer, until it does or ctx ends: a server that keeps its
// sessions in Redis waits for it at start rather than serve without it.
// Invalid options fail at once, and so does a configuration that Redis
// refuses (an error wrapping ErrMisconfigured: a Sentinel URL naming data
// nodes, a database number on a Cluster, a wrong password, rediss:// at
// a Redis without TLS), which no retry can mend; only a Redis that does not answer is waited for. Each failed attempt is logged at warn
// level on log (nil means slog.Default()); the URL is never logged.
func Connect(ctx context.Context, opts Options, log *slog.Logger) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	for wait := connectRetryMin; ; wait = min(2*wait, connectRetryMax) {
		s, err := New(ctx, opts)
		if err == nil || errors.Is(err, ErrMisconfigured) {
			return s, err
		}
		log.Warn("redisstore: not reachable yet; retrying", "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("redisstore: not reachable: %w", err)
		case <-t.C:
		}
	}
}
