package redisstore

import (
	"testing"

	"github.com/rezigate/rezigate/internal/testsupport/redistest"
)

func benchGet(b *testing.B, cached bool) {
	url := redistest.URL(b)
	opts := testOptions(url, testPrefix(b, url))
	if !cached {
		opts.LocalCacheTTL = -1
	}
	s := newTestStore(b, opts)
	cookie := mustPut(b, s, aliceSession())
	if _, err := s.Get(ctx, cookie); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, cookie); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisGetCached is a signed-in request's session lookup when the
// session is in the local cache: no round trip to Redis.
func BenchmarkRedisGetCached(b *testing.B) { benchGet(b, true) }

// BenchmarkRedisGetUncached is the same lookup with the local cache off:
// one round trip to Redis on loopback.
func BenchmarkRedisGetUncached(b *testing.B) { benchGet(b, false) }
