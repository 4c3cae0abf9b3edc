package deploy

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/redis/rueidis"

	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/sessions/redisstore"
)

// sentinelVariantHeading starts the commented Sentinel variant at the end
// of the Redis manifest.
const sentinelVariantHeading = "# Variant: Redis with Sentinel"

// TestRedisSentinelVariant checks the commented Sentinel variant of the
// Redis manifest: its REZIGATE_REDIS_URL names the three pods' sentinels
// through the governing Service and the master set the sentinels monitor,
// with the server's password; the store accepts it; and the settings a
// failover depends on are there (masterauth for the replicas, the
// sentinels' timeouts, hostnames announced instead of pod IPs, the
// sentinel password's variable).
func TestRedisSentinelVariant(t *testing.T) {
	data, err := os.ReadFile(redisManifestPath)
	if err != nil {
		t.Fatal(err)
	}
	_, variant, ok := strings.Cut(string(data), sentinelVariantHeading)
	if !ok {
		t.Fatalf("%s has no %q section", redisManifestPath, sentinelVariantHeading)
	}
	o := loadRedisObjects(t)
	var raw, monitor string
	for line := range strings.SplitSeq(variant, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#"))
		if v, ok := strings.CutPrefix(line, redisURLVar+": "); ok && strings.Contains(v, "master_set=") && raw == "" {
			raw = strings.Trim(v, `"`)
		}
		if v, ok := strings.CutPrefix(line, "sentinel monitor "); ok {
			monitor = v
		}
	}
	if raw == "" {
		t.Fatalf("the Sentinel variant sets no %s with master_set", redisURLVar)
	}
	opt, err := rueidis.ParseURL(raw)
	if err != nil {
		t.Fatalf("the Sentinel variant's %s does not parse", redisURLVar)
	}
	f := strings.Fields(monitor)
	if len(f) != 4 {
		t.Fatalf("the Sentinel variant's sentinel monitor line = %q; want NAME HOST PORT QUORUM", monitor)
	}
	if opt.Sentinel.MasterSet != f[0] {
		t.Errorf("master_set = %q; want %q, the name the sentinels monitor", opt.Sentinel.MasterSet, f[0])
	}
	var want []string
	for i := range 3 {
		want = append(want, fmt.Sprintf("%s-%d.%s:26379", o.statefulSet.Metadata.Name, i, o.redisService.Metadata.Name))
	}
	if got := slices.Sorted(slices.Values(opt.InitAddress)); !slices.Equal(got, want) {
		t.Errorf("the Sentinel variant's URL names %v; want the sentinels of the three pods %v", got, want)
	}
	if opt.Password != o.redisSecret.StringData[redisPasswordKey] {
		t.Errorf("the Sentinel variant's URL password differs from Secret %s %s; want the same", o.redisSecret.Metadata.Name, redisPasswordKey)
	}
	for _, fe := range optionerr.Fields(redisstore.Options{URL: raw}.Validate()) {
		if fe.Field == "URL" {
			t.Errorf("the store refuses the Sentinel variant's URL: %s", fe.Msg)
		}
	}
	for _, s := range []string{
		"masterauth", "replicaof rezigate-redis-0.rezigate-redis 6379", "replica-announce-ip",
		"sentinel resolve-hostnames yes", "sentinel announce-hostnames yes", "sentinel auth-pass " + f[0],
		"sentinel down-after-milliseconds " + f[0], "sentinel failover-timeout " + f[0],
		"--sentinel", "REZIGATE_REDIS_SENTINEL_PASSWORD", "docs/redis.md",
	} {
		if !strings.Contains(variant, s) {
			t.Errorf("the Sentinel variant does not mention %q", s)
		}
	}
}
