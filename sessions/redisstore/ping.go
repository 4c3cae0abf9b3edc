package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/rueidis"
)

// Ping asks Redis to answer, within ReadTimeout (or ctx, if that ends
// sooner), for a readiness probe. Its error wraps sessions.ErrUnavailable.
// With a Cluster, the nodes asked are those of the Cluster's current
// topology, not the URL's addresses, any of which may be dead for good
// after a failover: the store is ready when any of them answers (a key
// whose primary is down fails on its own, with sessions.ErrUnavailable).
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	if err := s.ping(ctx); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

// ping sends PING: to the server, or with a Cluster to every node of the
// topology at once, returning as soon as one answers. A keyless command
// sent through a Cluster client goes to any address it knows, the URL's
// included, so a dead address listed in the URL would fail it at random.
func (s *Store) ping(ctx context.Context) error {
	if s.client.Mode() != rueidis.ClientModeCluster {
		return s.client.Do(ctx, s.client.B().Ping().Build()).Error()
	}
	nodes := s.client.Nodes()
	if len(nodes) == 0 {
		return errors.New("the Cluster's topology lists no node")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(nodes))
	for _, n := range nodes {
		go func() { errs <- n.Do(ctx, n.B().Ping().Build()).Error() }()
	}
	var first error
	for range nodes {
		err := <-errs
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
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
