package redisstore

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"go.uber.org/goleak"

	"github.com/rezigate/rezigate/internal/testsupport/freeport"
	"github.com/rezigate/rezigate/internal/testsupport/redistest"
	"github.com/rezigate/rezigate/sessions"
)

// The client's goroutines must all be gone when the tests end: every
// store is closed by its test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, ignoreDelayedRefresh, ignoreDelayedClose)
}

// ignoreDelayedClose: when a Cluster's topology drops a connection (a
// dead address of the URL), rueidis closes it five seconds later from a
// goroutine of its own, which then ends by itself.
var ignoreDelayedClose = goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*clusterClient)._refresh.func2")

// ignoreDelayedRefresh: when rueidis.NewClient fails to connect, it leaves
// one goroutine asleep for a random delay of under a second before a last
// cluster refresh, which then ends by itself.
var ignoreDelayedRefresh = goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*call).DelayDo.func1")

var (
	secretA = bytes.Repeat([]byte("a"), 32)
	secretB = bytes.Repeat([]byte("b"), 32)
)

// freePort returns a loopback port that nothing listened on a moment ago.
var freePort = freeport.Loopback

// testPrefix returns a key prefix of t's own, its keys deleted when t
// ends.
func testPrefix(t testing.TB, url string) string {
	t.Helper()
	return redistest.Prefix(t, url, "rzt")
}

// rawClient is a plain client without local caching, for looking at what
// the store wrote. It is closed when t ends.
func rawClient(t testing.TB, url string) rueidis.Client {
	t.Helper()
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		t.Fatalf("ParseURL: %v", err)
	}
	opt.DisableCache = true
	opt.Dialer.Timeout = 2 * time.Second
	opt.ConnWriteTimeout = 2 * time.Second
	c, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatalf("connect to Redis: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// scanKeys returns every key under prefix.
func scanKeys(t testing.TB, c rueidis.Client, prefix string) []string {
	t.Helper()
	var keys []string
	var cursor uint64
	for {
		e, err := c.Do(context.Background(), c.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
		if err != nil {
			t.Fatalf("SCAN: %v", err)
		}
		keys = append(keys, e.Elements...)
		if cursor = e.Cursor; cursor == 0 {
			return keys
		}
	}
}

// testDeployment is the Deployment of the tests' stores.
const testDeployment = "https://rms.example.com"

// testOptions returns the Options of a store for tests: one hour
// sessions, the first secret only.
func testOptions(url, prefix string) Options {
	return Options{Settings: sessions.Settings{Deployment: testDeployment, Secrets: [][]byte{secretA}, MaxAge: time.Hour}, URL: url, Prefix: prefix}
}

// newTestStore builds a store and closes it when t ends.
func newTestStore(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
