package handoff

import (
	"context"
	"time"

	"golang.org/x/time/rate"

	"github.com/rezigate/rezigate/internal/lru"
)

// limiterSize is how many uids' buckets are kept. A bucket idle for the
// limiter's period is full again, so dropping it loses nothing; only when
// more uids than this are active within one period does the least
// recently seen one start again with a full bucket.
const limiterSize = 10000

// limiter is the in-process Limiter of Options.RateLimit: a token bucket
// (golang.org/x/time/rate) per uid, the buckets held in a size-bounded LRU
// (lru.Cache) so that memory stays bounded under churn without ever
// scanning them all. It counts in this process only: with replicas, each
// allows the limit.
type limiter struct {
	perMin int
	every  rate.Limit

	buckets *lru.Cache[string, *rate.Limiter] // each rate.Limiter locks itself
}

// newLimiter returns a limiter that lets each key make perMinute requests
// per period, all at once or spread out; perMinute must be positive.
func newLimiter(perMinute int, per time.Duration) *limiter {
	return newLimiterSize(perMinute, per, limiterSize)
}

func newLimiterSize(perMinute int, per time.Duration, size int) *limiter {
	return &limiter{
		perMin:  perMinute,
		every:   rate.Every(per / time.Duration(perMinute)),
		buckets: lru.New[string, *rate.Limiter](size),
	}
}

// Allow is allow for a uid; it never fails.
func (l *limiter) Allow(_ context.Context, uid string) (bool, time.Duration, error) {
	ok, retry := l.allow(uid)
	return ok, retry, nil
}

// allow takes a token for key, or reports how long until one is free.
// That wait is rounded up to whole seconds and is at least one second,
// as a Retry-After header states it.
func (l *limiter) allow(key string) (bool, time.Duration) {
	return l.allowAt(key, time.Now())
}

// allowAt is allow at the given time.
func (l *limiter) allowAt(key string, now time.Time) (bool, time.Duration) {
	b := l.buckets.GetOrAdd(key, func() *rate.Limiter { return rate.NewLimiter(l.every, l.perMin) })
	res := b.ReserveN(now, 1)
	d := res.DelayFrom(now)
	if d <= 0 {
		return true, 0
	}
	res.CancelAt(now)
	return false, retryAfter(d)
}

// retryAfter rounds a wait up to whole seconds, at least one.
func retryAfter(d time.Duration) time.Duration {
	s := (d + time.Second - 1) / time.Second
	return max(s, 1) * time.Second
}
