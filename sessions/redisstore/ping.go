package redisstore

import (
	"context"
	"time"
)

// Ping asks Redis to answer, within ReadTimeout (or ctx, if that ends
// sooner), for a readiness probe. Its error wraps sessions.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	if err := s.ping(ctx); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

// ping sends PING.
func (s *Store) ping(ctx context.Context) error {
	return s.client.Do(ctx, s.client.B().Ping().Build()).Error()
}

// TryLockSession is LockSession with the lock's Release handed back as a
// function, so that a caller can take the lock through an interface of its
// own, without importing this package (and its Redis client).
func (s *Store) TryLockSession(ctx context.Context, cookie string, ttl time.Duration) (release func(context.Context) (bool, error), err error) {
	l, err := s.LockSession(ctx, cookie, ttl)
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}
