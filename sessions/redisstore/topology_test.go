package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/testsupport/freeport"
	"github.com/rezigate/rezigate/internal/testsupport/redistopo"
	"github.com/rezigate/rezigate/sessions"
)

// TestClusterPingFollowsTopology: with a Cluster URL that lists a dead
// address beside the live nodes (a node failed over and gone for good),
// New (as `rezigate revoke` runs it) and every Ping (the readiness probe)
// succeed, and so does a revocation: keyless commands go to the nodes of
// the Cluster's topology, not to any address of the URL.
func TestClusterPingFollowsTopology(t *testing.T) {
	cl := redistopo.StartCluster(t, 3)
	dead, err := freeport.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	url := cl.URL(fmt.Sprintf("127.0.0.1:%d", dead))
	ctx := context.Background()
	for i := range 10 {
		s, err := New(ctx, testOptions(url, "topology:"))
		if err != nil {
			t.Fatalf("New #%d = %v; want a store", i, err)
		}
		if _, err := s.DeleteUser(ctx, "someone"); err != nil {
			t.Errorf("DeleteUser #%d = %v", i, err)
		}
		s.Close()
	}
	s := newTestStore(t, testOptions(url, "topology:"))
	for i := range 50 {
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping #%d = %v; want nil (the Cluster answers)", i, err)
		}
	}
	if _, err := s.Put(ctx, sessions.Session{UID: "u", Expires: s.now().Add(s.maxAge / 2)}); err != nil {
		t.Errorf("Put = %v", err)
	}
}

// TestSentinelPassword: Sentinels that require a password (their
// requirepass) are reached with SentinelPassword, and the store works
// through them; without it, New fails at once with ErrMisconfigured,
// naming REZIGATE_REDIS_SENTINEL_PASSWORD, and never shows a password.
func TestSentinelPassword(t *testing.T) {
	const sentinelPassword = "sentinel-password-0123456789"
	st := redistopo.StartSentinel(t, redistopo.SentinelOptions{SentinelPassword: sentinelPassword})
	tests := []struct {
		name     string
		password string
		wantErr  string // "" = works
	}{
		{"with the password", sentinelPassword, ""},
		{"without it", "", "REZIGATE_REDIS_SENTINEL_PASSWORD"},
		{"a wrong one", "wrong-sentinel-password", "REZIGATE_REDIS_SENTINEL_PASSWORD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions(st.URL(), "sentinel:")
			opts.SentinelPassword = tc.password
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := Connect(ctx, opts, slog.New(slog.DiscardHandler))
			if tc.wantErr != "" {
				if s != nil {
					s.Close()
				}
				if !errors.Is(err, ErrMisconfigured) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Connect = %v; want ErrMisconfigured naming %s", err, tc.wantErr)
				}
				for _, p := range []string{sentinelPassword, tc.password, st.Primary.Password()} {
					if p != "" && strings.Contains(err.Error(), p) {
						t.Errorf("Connect's error shows a password: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Connect = %v; want a store", err)
			}
			defer s.Close()
			cookie, err := s.Put(ctx, sessions.Session{UID: "u", Expires: s.now().Add(time.Minute)})
			if err != nil {
				t.Fatalf("Put = %v", err)
			}
			if got, err := s.Get(ctx, cookie); err != nil || got.UID != "u" {
				t.Errorf("Get = %v, %v; want the session", got, err)
			}
		})
	}
}
