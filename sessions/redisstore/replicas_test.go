package redisstore

import (
	"context"
	"errors"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/rezigate/rezigate/internal/testsupport/redistest"
	"github.com/rezigate/rezigate/internal/testsupport/redistopo"
	"github.com/rezigate/rezigate/sessions"
)

// onReplica reports whether key exists on the replica, asked directly.
func onReplica(t *testing.T, st *redistopo.Sentinel, key string) bool {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress: []string{"127.0.0.1:" + strconv.Itoa(st.Replica.Port())}, Password: st.Replica.Password(),
		ForceSingleClient: true, DisableCache: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n, err := c.Do(context.Background(), c.B().Exists().Key(key).Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// TestRevocationsWaitForReplica: with a replica, a sign-out, a sign-out
// everywhere, a back-channel logout and a logout token's record return
// only once the replica has them (the key is gone there the moment the
// call returns); with the replica hung (SIGSTOP), each fails with
// sessions.ErrUnavailable instead of reporting success, while storing a
// session (Put) still works.
func TestRevocationsWaitForReplica(t *testing.T) {
	st := redistopo.StartSentinel(t, redistopo.SentinelOptions{})
	s := newTestStore(t, testOptions(st.URL(), "replicas:"))
	ctx := context.Background()
	put := func(uid, sid string) (cookie, key string) {
		t.Helper()
		cookie, err := s.Put(ctx, sessions.Session{UID: uid, SIDHash: sid, Expires: s.now().Add(time.Minute)})
		if err != nil {
			t.Fatalf("Put = %v", err)
		}
		h, _ := s.keys.openHandle(s.name, cookie)
		return cookie, s.sessionKey(&h)
	}
	revocations := []struct {
		name   string
		revoke func(cookie string) error
	}{
		{"sign-out", func(cookie string) error { return s.Delete(ctx, cookie) }},
		{"sign out everywhere", func(string) error { _, err := s.DeleteUser(ctx, "uid-everywhere"); return err }},
		{"back-channel logout", func(string) error { _, err := s.DeleteSID(ctx, "sid-backchannel"); return err }},
	}
	uids := map[string][2]string{"sign-out": {"uid-signout", ""}, "sign out everywhere": {"uid-everywhere", ""}, "back-channel logout": {"uid-bc", "sid-backchannel"}}
	for _, rv := range revocations {
		t.Run(rv.name, func(t *testing.T) {
			cookie, key := put(uids[rv.name][0], uids[rv.name][1])
			if err := rv.revoke(cookie); err != nil {
				t.Fatalf("revocation = %v; want nil", err)
			}
			if onReplica(t, st, key) {
				t.Errorf("the session is still on the replica when the revocation returned")
			}
		})
	}
	if seen, err := s.SeenJTI(ctx, "jti-1", time.Minute); err != nil || seen {
		t.Fatalf("SeenJTI = %v, %v; want false, nil", seen, err)
	}

	st.Replica.Signal(syscall.SIGSTOP)
	defer st.Replica.Signal(syscall.SIGCONT)
	for _, rv := range revocations {
		t.Run(rv.name+" with the replica hung", func(t *testing.T) {
			cookie, _ := put(uids[rv.name][0], uids[rv.name][1])
			if err := rv.revoke(cookie); !errors.Is(err, sessions.ErrUnavailable) {
				t.Errorf("revocation = %v; want an error wrapping sessions.ErrUnavailable", err)
			}
		})
	}
	if _, err := s.SeenJTI(ctx, "jti-2", time.Minute); !errors.Is(err, sessions.ErrUnavailable) {
		t.Errorf("SeenJTI with the replica hung = %v; want sessions.ErrUnavailable", err)
	}
}

// BenchmarkSignOut measures Delete (a sign-out) against a lone Redis,
// which it never waits for, and through Sentinels to a primary with a
// replica, where it waits for the replica's acknowledgement (WAIT).
func BenchmarkSignOut(b *testing.B) {
	for _, bc := range []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"lone redis", func(b *testing.B) string { return redistest.Start(b).URL() }},
		{"with replica", func(b *testing.B) string { return redistopo.StartSentinel(b, redistopo.SentinelOptions{}).URL() }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			url := bc.url(b)
			s := newTestStore(b, testOptions(url, "bench:"))
			ctx := context.Background()
			cookies := make([]string, b.N)
			for i := range cookies {
				c, err := s.Put(ctx, sessions.Session{UID: "bench", Expires: s.now().Add(time.Minute)})
				if err != nil {
					b.Fatal(err)
				}
				cookies[i] = c
			}
			b.ResetTimer()
			for i := range b.N {
				if err := s.Delete(ctx, cookies[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
