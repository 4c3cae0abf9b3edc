package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/rezigate/rezigate/internal/testsupport/redisserver"
)

// demoRedis is the redis-server of `rezigate -demo -demo-redis`: from
// PATH, on a free loopback port, with a random password and nothing kept
// on disk.
type demoRedis struct {
	*redisserver.Server
	dir string // its working directory, removed by stop
}

// startDemoRedis starts redis-server and waits until it accepts
// connections. The password reaches it on standard input, so it is not in
// the process list.
func startDemoRedis(ctx context.Context) (*demoRedis, error) {
	dir, err := os.MkdirTemp("", "rezigate-demo-redis-")
	if err != nil {
		return nil, fmt.Errorf("demo: redis: %w", err)
	}
	s, err := redisserver.Start(ctx, redisserver.Options{Dir: dir})
	if err != nil {
		_ = os.RemoveAll(dir)
		if errors.Is(err, exec.ErrNotFound) {
			return nil, errors.New("demo: -demo-redis needs redis-server on PATH (Debian: apt-get install redis-server)")
		}
		return nil, fmt.Errorf("demo: %w", err)
	}
	return &demoRedis{Server: s, dir: dir}, nil
}

// stop ends the server by its PID, waits for it and removes its
// directory.
func (r *demoRedis) stop() {
	r.Stop()
	_ = os.RemoveAll(r.dir)
}
