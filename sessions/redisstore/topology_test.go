package redisstore

import (
	"context"
	"fmt"
	"testing"

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
