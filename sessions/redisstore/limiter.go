package redisstore

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/rezigate/rezigate/optionerr"
)

// DefaultWindow is LimiterOptions.Window when it is zero.
const DefaultWindow = time.Minute

// LimiterOptions configure NewLimiter.
type LimiterOptions struct {
	// Limit is how many calls one uid may make per Window, summed over
	// every replica. It must be positive.
	Limit int
	// Window is the length of a counting window. Zero means DefaultWindow;
	// otherwise at least a second and at most the store's MaxAge.
	Window time.Duration
}

// Validate reports every problem with o at once, as *optionerr.Error
// values reading "redisstore: Field: what is wrong".
func (o LimiterOptions) Validate() error {
	var errs []error
	if o.Limit <= 0 {
		errs = append(errs, optionerr.New("redisstore", "Limit", "must be positive"))
	}
	if o.Window < 0 {
		errs = append(errs, optionerr.New("redisstore", "Window", "must not be negative"))
	} else if o.Window != 0 && o.Window < time.Second {
		errs = append(errs, optionerr.New("redisstore", "Window", "must be at least 1s"))
	}
	return errors.Join(errs...)
}

// Limiter limits how often each uid may do something across all
// replicas: a fixed window per uid, counted in Redis under an HMAC of the
// uid, that starts with the uid's first call and lasts Window. Every call
// counts, refused ones too, so hammering does not open the door sooner.
// At a window's edge a uid can make up to twice Limit calls in a short
// time; no more. It is safe for concurrent use.
type Limiter struct {
	s      *Store
	limit  int64
	window time.Duration
}

// NewLimiter returns a Limiter kept in s's Redis.
func NewLimiter(s *Store, opts LimiterOptions) (*Limiter, error) {
	if s == nil {
		return nil, errors.New("redisstore: limiter: nil store")
	}
	err := opts.Validate()
	if opts.Window > s.maxAge {
		err = errors.Join(err, optionerr.New("redisstore", "Window", "must be at most the store's MaxAge (%v)", s.maxAge))
	}
	if err != nil {
		return nil, err
	}
	if opts.Window == 0 {
		opts.Window = DefaultWindow
	}
	return &Limiter{s: s, limit: int64(opts.Limit), window: opts.Window}, nil
}

// countCall counts one call in the window key, starting the window when
// the key is new (or has somehow lost its TTL), and returns the count and
// the window's remaining milliseconds.
var countCall = rueidis.NewLuaScript(`
local n = redis.call('INCR', KEYS[1])
local t = redis.call('PTTL', KEYS[1])
if t < 0 then
  t = tonumber(ARGV[1])
  redis.call('PEXPIRE', KEYS[1], t)
end
return {n, t}`)

// Allow counts one call of uid and reports whether it is within the
// limit; when it is not, retryAfter says when the window ends. When Redis
// cannot answer, ok is false and err wraps sessions.ErrUnavailable.
func (l *Limiter) Allow(ctx context.Context, uid string) (ok bool, retryAfter time.Duration, err error) {
	key := l.s.prefix + kindRate + l.s.keys.indexName("rate", uid)
	ctx, cancel := l.s.op(ctx)
	defer cancel()
	v, err := countCall.Exec(ctx, l.s.client, []string{key}, []string{strconv.FormatInt(l.window.Milliseconds(), 10)}).AsIntSlice()
	if err != nil || len(v) != 2 {
		if err == nil {
			err = errors.New("unexpected reply")
		}
		return false, 0, unavailable("limiter", err)
	}
	if v[0] <= l.limit {
		return true, 0, nil
	}
	return false, time.Duration(v[1]) * time.Millisecond, nil
}
