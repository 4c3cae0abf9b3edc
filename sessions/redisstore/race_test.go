package redisstore

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rezigate/rezigate/internal/testsupport/redistest"
	"github.com/rezigate/rezigate/sessions"
)

// TestPutRacingDeleteUser: sign-ins (Put) racing revocations (DeleteUser)
// of the same user never leave a session outside the user's index. After
// hundreds of concurrent Put/DeleteUser pairs have all finished, one more
// DeleteUser leaves no session of the user in Redis and none readable
// through Get, not even from the local cache of the replica that read
// them during the race.
func TestPutRacingDeleteUser(t *testing.T) {
	url := redistest.URL(t)
	prefix := testPrefix(t, url)
	s := newTestStore(t, testOptions(url, prefix))
	const pairs = 400
	sess := aliceSession()
	sess.SIDHash = "" // the uid index only; the sid index is TestPutRacingDeleteSID's
	cookies := make([]string, pairs)
	errs := make([]error, 2*pairs)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range pairs {
		wg.Go(func() {
			<-start
			c, err := s.Put(ctx, sess)
			if errs[2*i] = err; err == nil {
				cookies[i] = c
				_, _ = s.Get(ctx, c) // cached on this replica, if still there
			}
		})
		wg.Go(func() {
			<-start
			_, errs[2*i+1] = s.DeleteUser(ctx, sess.UID)
		})
	}
	close(start)
	wg.Wait()
	failed, failedPuts := 0, 0
	for i, err := range errs {
		if err != nil && !errors.Is(err, sessions.ErrUnavailable) {
			t.Fatalf("call %d during the race = %v; want nil or ErrUnavailable", i, err)
		}
		if err != nil {
			failed++
			if i%2 == 0 {
				failedPuts++
			}
		}
	}
	t.Logf("%d of %d calls during the race gave up with ErrUnavailable", failed, len(errs))
	if _, err := s.DeleteUser(ctx, sess.UID); err != nil {
		t.Fatalf("final DeleteUser = %v", err)
	}
	left, readable := leftAfterRace(t, s, url, prefix, cookies)
	// A Put that failed handed out no cookie; its undo deletes its
	// record unless Redis cannot answer that either.
	if left > failedPuts || readable != 0 {
		t.Errorf("after %d concurrent Put/DeleteUser pairs and one more DeleteUser: %d session records left in Redis (%d Puts failed), %d readable through Get; want none but failed Puts' and 0", pairs, left, failedPuts, readable)
	}
}

// TestPutRacingDeleteSID is TestPutRacingDeleteUser for the index of
// provider sessions: a back-channel logout naming a sid while sessions of
// that sid are being written.
func TestPutRacingDeleteSID(t *testing.T) {
	url := redistest.URL(t)
	prefix := testPrefix(t, url)
	s := newTestStore(t, testOptions(url, prefix))
	const pairs = 400
	sess := aliceSession()
	start := make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Int64
	cookies := make([]string, pairs)
	for i := range pairs {
		sess := sess
		sess.UID = "uid-" + string(rune('a'+i%26)) // the sid index alone must hold them
		wg.Go(func() {
			<-start
			c, err := s.Put(ctx, sess)
			if err != nil {
				failed.Add(1)
				t.Logf("Put: %v", err)
			}
			cookies[i] = c
		})
		wg.Go(func() {
			<-start
			_, _ = s.DeleteSID(ctx, sess.SIDHash)
		})
	}
	close(start)
	wg.Wait()
	if _, err := s.DeleteSID(ctx, sess.SIDHash); err != nil {
		t.Fatalf("final DeleteSID = %v", err)
	}
	left, readable := leftAfterRace(t, s, url, prefix, cookies)
	// A Put that failed (its Redis calls timed out on a loaded machine)
	// handed out no cookie; its undo deletes its record unless Redis
	// cannot answer that either. Every other record must be gone.
	if left > int(failed.Load()) || readable != 0 {
		t.Errorf("after %d concurrent Put/DeleteSID pairs and one more DeleteSID: %d session records left in Redis (%d Puts failed), %d readable through Get; want none but failed Puts' and 0", pairs, left, failed.Load(), readable)
	}
}

// TestRevocationFinishesHalfDone: a revocation that read the user's index
// and then failed (Redis went away before the sessions were deleted) left
// the index whole, so the next DeleteUser still finds and ends them.
func TestRevocationFinishesHalfDone(t *testing.T) {
	url := redistest.URL(t)
	s := newTestStore(t, testOptions(url, testPrefix(t, url)))
	sess := aliceSession()
	cookies := []string{mustPut(t, s, sess), mustPut(t, s, sess)}
	set := s.indexKey(kindUID, s.keys.indexName("uid", sess.UID))
	if err := indexRevoke.Exec(ctx, s.client, []string{set, set + revocationSuffix}, []string{"60000"}).Error(); err != nil {
		t.Fatalf("begin a revocation: %v", err)
	}
	for _, c := range cookies {
		if _, err := s.Get(ctx, c); err != nil {
			t.Fatalf("Get after a half-done revocation = %v; want the session (not deleted yet)", err)
		}
	}
	if n, err := s.DeleteUser(ctx, sess.UID); err != nil || n != 2 {
		t.Fatalf("DeleteUser after a half-done revocation = %d, %v; want 2, nil", n, err)
	}
	for _, c := range cookies {
		if _, err := s.Get(ctx, c); !errors.Is(err, sessions.ErrNotFound) {
			t.Errorf("Get after DeleteUser = %v; want ErrNotFound", err)
		}
	}
	raw := rawClient(t, url)
	if n, _ := raw.Do(ctx, raw.B().Exists().Key(set).Build()).AsInt64(); n != 0 {
		t.Errorf("the index is left after DeleteUser; want it gone with its last session")
	}
}

// leftAfterRace counts the session records left under prefix, and the
// cookies handed out during a race ("" for a Put that failed) that still
// open a session.
func leftAfterRace(t *testing.T, s *Store, url, prefix string, cookies []string) (left, readable int) {
	t.Helper()
	for _, k := range scanKeys(t, rawClient(t, url), prefix) {
		if strings.HasPrefix(k, prefix+kindSession) {
			left++
		}
	}
	for _, c := range cookies {
		if c == "" {
			continue
		}
		if _, err := s.Get(ctx, c); !errors.Is(err, sessions.ErrNotFound) {
			readable++
		}
	}
	return left, readable
}
