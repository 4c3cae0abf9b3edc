package redisstore

import (
	"errors"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/rezigate/rezigate/internal/testsupport/redistest"
	"github.com/rezigate/rezigate/sessions"
)

// privateRedis is the URL of a redis-server of t's own, for a test that
// counts the server's GETs (getCalls): those count every client's, and
// the Redis of REZIGATE_TEST_REDIS_URL serves other tests and packages at
// the same time.
func privateRedis(t *testing.T) string {
	t.Helper()
	return redistest.Start(t).URL()
}

// getCalls returns how many GET commands the Redis server has executed,
// from INFO commandstats: what the server saw, not what the client says.
func getCalls(t *testing.T, raw rueidis.Client) int {
	t.Helper()
	info, err := raw.Do(ctx, raw.B().Info().Section("commandstats").Build()).ToString()
	if err != nil {
		t.Fatalf("INFO commandstats: %v", err)
	}
	for line := range strings.Lines(info) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_get:calls=")
		if ok {
			n, err := strconv.Atoi(rest[:strings.IndexByte(rest+",", ',')])
			if err != nil {
				t.Fatalf("cmdstat_get: %q", line)
			}
			return n
		}
	}
	return 0
}

// Two replicas share one Redis. A session read once on B is answered from
// B's memory (the server sees no GET), and when A deletes it, Redis's
// invalidation makes B's next Get miss the cache and find nothing.
func TestLocalCacheAndInvalidation(t *testing.T) {
	url := privateRedis(t)
	prefix := testPrefix(t, url)
	a := newTestStore(t, testOptions(url, prefix))
	b := newTestStore(t, testOptions(url, prefix))
	raw := rawClient(t, url)
	sess := aliceSession()
	cookie := mustPut(t, a, sess)

	if _, err := b.Get(ctx, cookie); err != nil {
		t.Fatalf("B: first Get = %v", err)
	}
	before := getCalls(t, raw)
	const reads = 100
	for range reads {
		if got, err := b.Get(ctx, cookie); err != nil || got.UID != sess.UID {
			t.Fatalf("B: cached Get = %+v, %v", got, err)
		}
	}
	if after := getCalls(t, raw); after != before {
		t.Errorf("Redis executed %d GETs for %d reads of a cached session; want 0", after-before, reads)
	}

	start := time.Now()
	if err := a.Delete(ctx, cookie); err != nil {
		t.Fatalf("A: Delete = %v", err)
	}
	deleted := time.Now()
	var err error
	for {
		if _, err = b.Get(ctx, cookie); err != nil || time.Since(deleted) > 2*time.Second {
			break
		}
		runtime.Gosched()
	}
	latency := time.Since(deleted)
	if !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("B: Get within 2s of A's Delete = %v; want ErrNotFound (the invalidation never arrived)", err)
	}
	t.Logf("invalidation latency: %v after Delete returned (%v after it began)", latency, time.Since(start))
}

// With LocalCacheTTL negative every Get is a round trip.
func TestLocalCacheOff(t *testing.T) {
	url := privateRedis(t)
	opts := testOptions(url, testPrefix(t, url))
	opts.LocalCacheTTL = -1
	s := newTestStore(t, opts)
	raw := rawClient(t, url)
	cookie := mustPut(t, s, aliceSession())
	before := getCalls(t, raw)
	for range 5 {
		if _, err := s.Get(ctx, cookie); err != nil {
			t.Fatal(err)
		}
	}
	if n := getCalls(t, raw) - before; n != 5 {
		t.Errorf("Redis executed %d GETs for 5 uncached reads; want 5", n)
	}
}

// The local cache never outlives the key: the client-side TTL is capped
// by the key's own.
func TestLocalCacheBoundedByKeyTTL(t *testing.T) {
	url := redistest.URL(t)
	opts := testOptions(url, testPrefix(t, url))
	s := newTestStore(t, opts)
	sess := aliceSession()
	sess.Expires = time.Now().Add(300 * time.Millisecond)
	cookie := mustPut(t, s, sess)
	if _, err := s.Get(ctx, cookie); err != nil {
		t.Fatal(err)
	}
	waitForErr(t, s, cookie, sessions.ErrNotFound, 2*time.Second)
}

// waitForErr polls Get until it returns want, for at most limit, and fails
// if it ever returns ErrNotFound while want is ErrUnavailable (a store
// that cannot answer must never sign the user out). It returns how long
// it took.
func waitForErr(t *testing.T, s *Store, cookie string, want error, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		_, err := s.Get(ctx, cookie)
		if errors.Is(err, want) {
			return time.Since(start)
		}
		if err != nil && !errors.Is(err, sessions.ErrUnavailable) && !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Get = %v; want nil, ErrNotFound or ErrUnavailable", err)
		}
		if want == sessions.ErrUnavailable && errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Get = %v while Redis is down; want ErrUnavailable, never ErrNotFound", err)
		}
		if time.Since(start) > limit {
			t.Fatalf("Get = %v after %v; want %v", err, limit, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// Redis crashes: the store says ErrUnavailable (never ErrNotFound) within
// its read timeout, for every operation; when Redis is back it recovers by
// itself.
func TestFailClosedCrash(t *testing.T) {
	srv := redistest.Start(t)
	opts := testOptions(srv.URL(), "rzt:")
	opts.ReadTimeout, opts.DialTimeout = 300*time.Millisecond, 300*time.Millisecond
	s := newTestStore(t, opts)
	cookie := mustPut(t, s, aliceSession())
	if _, err := s.Get(ctx, cookie); err != nil { // cached now
		t.Fatal(err)
	}

	srv.Stop()
	took := waitForErr(t, s, cookie, sessions.ErrUnavailable, 2*time.Second)
	t.Logf("Redis killed: Get returned ErrUnavailable after %v", took)
	start := time.Now()
	if _, err := s.Put(ctx, aliceSession()); !errors.Is(err, sessions.ErrUnavailable) {
		t.Errorf("Put = %v; want ErrUnavailable", err)
	}
	if err := s.Delete(ctx, cookie); !errors.Is(err, sessions.ErrUnavailable) {
		t.Errorf("Delete = %v; want ErrUnavailable", err)
	}
	if _, err := s.DeleteUser(ctx, "u"); !errors.Is(err, sessions.ErrUnavailable) {
		t.Errorf("DeleteUser = %v; want ErrUnavailable", err)
	}
	if _, err := s.SeenJTI(ctx, "j", time.Minute); !errors.Is(err, sessions.ErrUnavailable) {
		t.Errorf("SeenJTI = %v; want ErrUnavailable", err)
	}
	if _, err := s.LookupJTI(ctx, "j"); !errors.Is(err, sessions.ErrUnavailable) {
		t.Errorf("LookupJTI = %v; want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("five calls against a dead Redis took %v; want each bounded by ReadTimeout (300ms)", d)
	}

	srv.Restart() // empty: nothing was kept on disk
	took = waitForErr(t, s, cookie, sessions.ErrNotFound, 5*time.Second)
	t.Logf("Redis restarted: store answered again after %v", took)
	again := mustPut(t, s, aliceSession())
	if _, err := s.Get(ctx, again); err != nil {
		t.Errorf("Get after recovery = %v; want the new session", err)
	}
}

// Redis hangs (SIGSTOP): an uncached Get fails with ErrUnavailable within
// the read timeout; a cached one stops being served once the client
// notices, within the local cache's TTL; after SIGCONT everything works,
// with the data intact.
func TestFailClosedHang(t *testing.T) {
	srv := redistest.Start(t)
	opts := testOptions(srv.URL(), "rzt:")
	opts.ReadTimeout, opts.DialTimeout, opts.LocalCacheTTL = 300*time.Millisecond, 300*time.Millisecond, 2*time.Second
	s := newTestStore(t, opts)
	cached := mustPut(t, s, aliceSession())
	uncached := mustPut(t, s, aliceSession())
	if _, err := s.Get(ctx, cached); err != nil {
		t.Fatal(err)
	}

	srv.Signal(syscall.SIGSTOP)
	start := time.Now()
	if _, err := s.Get(ctx, uncached); !errors.Is(err, sessions.ErrUnavailable) {
		t.Errorf("Get(uncached) while Redis hangs = %v; want ErrUnavailable", err)
	}
	uncachedTook := time.Since(start)
	if uncachedTook > 2*time.Second {
		t.Errorf("Get(uncached) while Redis hangs took %v; want about ReadTimeout (300ms)", uncachedTook)
	}
	took := waitForErr(t, s, cached, sessions.ErrUnavailable, opts.LocalCacheTTL+time.Second)
	t.Logf("Redis hung: uncached Get failed after %v; cached Get stopped %v later", uncachedTook, took)

	srv.Signal(syscall.SIGCONT)
	waitForErr(t, s, uncached, nil, 5*time.Second)
	if _, err := s.Get(ctx, cached); err != nil {
		t.Errorf("Get(cached) after SIGCONT = %v; want the session", err)
	}
}

// A replica's own writes are visible to its next Get at once, although
// Redis's invalidation of its cached copy may arrive a moment later.
func TestOwnWritesSeenAtOnce(t *testing.T) {
	url := redistest.URL(t)
	s := newTestStore(t, testOptions(url, testPrefix(t, url)))
	for i := range 200 {
		sess := aliceSession()
		cookie := mustPut(t, s, sess)
		if _, err := s.Get(ctx, cookie); err != nil { // cached
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, cookie, func(s sessions.Session) (sessions.Session, error) {
			s.RefreshToken = "rotated"
			return s, nil
		}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, cookie); err != nil || got.RefreshToken != "rotated" {
			t.Fatalf("round %d: Get right after Update = %q, %v; want the rotated token", i, got.RefreshToken, err)
		}
		if err := s.Delete(ctx, cookie); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, cookie); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("round %d: Get right after Delete = %v; want ErrNotFound", i, err)
		}
	}
	for i := range 50 {
		sess := aliceSession()
		sess.UID = "uid-" + strconv.Itoa(i)
		cookie := mustPut(t, s, sess)
		if _, err := s.Get(ctx, cookie); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteUser(ctx, sess.UID); err != nil || n != 1 {
			t.Fatalf("DeleteUser = %d, %v", n, err)
		}
		if _, err := s.Get(ctx, cookie); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("round %d: Get right after DeleteUser = %v; want ErrNotFound", i, err)
		}
	}
}
