package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rezigate/rezigate/internal/testsupport/redistopo"
)

// TestCheckRefusesRedisMisconfiguration: -check, and `rezigate revoke`,
// refuse a Sentinel URL whose host is a Redis data node, and a rediss://
// URL at a Redis that speaks plain TCP (whose TLS handshake only times
// out), naming REZIGATE_REDIS_URL, instead of accepting it (-check) or
// retrying for ever; the password never shows.
func TestCheckRefusesRedisMisconfiguration(t *testing.T) {
	st := redistopo.StartSentinel(t, redistopo.SentinelOptions{})
	cfg := writeConfig(t, "127.0.0.1:4180", "http://127.0.0.1:9", "", "")
	urls := []struct {
		name, url, want string
	}{
		{"sentinel URL at a data node", fmt.Sprintf("redis://:%s@127.0.0.1:%d/0?master_set=%s", st.Primary.Password(), st.Primary.Port(), redistopo.MasterSet), "must be Sentinels"},
		{"rediss URL at a plain Redis", fmt.Sprintf("rediss://:%s@127.0.0.1:%d/0", st.Primary.Password(), st.Primary.Port()), "that speaks plain TCP: use redis://"},
	}
	commands := []struct {
		name string
		args []string
	}{
		{"check", []string{"-config", cfg, "-check"}},
		{"revoke", []string{"revoke", "-config", cfg, "-uid", strings.Repeat("a", 64)}},
	}
	for _, u := range urls {
		env := append(secretEnv(), "REZIGATE_SESSION_STORE=redis", "REZIGATE_REDIS_URL="+u.url)
		for _, tc := range commands {
			t.Run(u.name+"/"+tc.name, func(t *testing.T) {
				code, stdout, stderr := runBinary(t, env, tc.args...)
				if code != 1 || !strings.Contains(stderr, "REZIGATE_REDIS_URL: ") || !strings.Contains(stderr, u.want) {
					t.Errorf("rezigate %v: status %d, stderr:\n%s\nwant status 1 and a problem naming REZIGATE_REDIS_URL with a hint containing %q", tc.args, code, stderr, u.want)
				}
				if strings.Contains(stdout+stderr, st.Primary.Password()) {
					t.Errorf("rezigate %v printed the Redis password", tc.args)
				}
			})
		}
	}
}
