package redistopo

import (
	"context"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// TestTopologiesAnswer: a client reaches the primary through the
// Sentinels, and writes through the Cluster land on every node's slots.
func TestTopologiesAnswer(t *testing.T) {
	tests := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sentinel", func(t *testing.T) string {
			return StartSentinel(t, SentinelOptions{SentinelPassword: "sentinel-secret"}).URL()
		}},
		{"cluster", func(t *testing.T) string { return StartCluster(t, 3).URL() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opt, err := rueidis.ParseURL(tc.url(t))
			if err != nil {
				t.Fatal(err)
			}
			opt.Sentinel.Password = "sentinel-secret"
			c, err := rueidis.NewClient(opt)
			if err != nil {
				t.Fatalf("NewClient = %v", err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for _, k := range []string{"a", "b", "c", "d", "e"} {
				if err := c.Do(ctx, c.B().Set().Key(k).Value("1").Build()).Error(); err != nil {
					t.Errorf("SET %s = %v", k, err)
				}
			}
		})
	}
}
