package redisstore

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rezigate/rezigate/internal/testsupport/redistest"
	"github.com/rezigate/rezigate/sessions"
)

func TestRecordRoundTrip(t *testing.T) {
	now := time.Now()
	for _, s := range []sessions.Session{
		aliceSession(),
		{UID: "u", Expires: now.Add(time.Minute)}, // zero times, no groups
		{UID: "u", Email: "e", Groups: []string{""}, Expires: now, CheckedAt: time.Unix(0, 1e6), CheckDue: time.Unix(-5, 0)},
	} {
		b, err := encodeRecord(&s)
		if err != nil {
			t.Fatalf("encodeRecord(%+v) = %v", s, err)
		}
		got, err := decodeRecord(b)
		if err != nil || !sameSession(got, s) || got.CheckedAt.IsZero() != s.CheckedAt.IsZero() || (got.Groups == nil) != (s.Groups == nil) {
			t.Errorf("decodeRecord(encodeRecord(%+v)) = %+v, %v", s, got, err)
		}
	}
	// Too large is sessions.ErrTooLarge, which the middleware answers with
	// the 403 page that says why, not a 500.
	for name, s := range map[string]sessions.Session{
		"long field":  {UID: strings.Repeat("x", maxRecordLen)},
		"many groups": {UID: "u", Groups: make([]string, maxGroups+1)},
	} {
		if _, err := encodeRecord(&s); !errors.Is(err, sessions.ErrTooLarge) {
			t.Errorf("encodeRecord(%s) = %v; want sessions.ErrTooLarge", name, err)
		}
	}
}

// FuzzDecodeRecord: the record parser never panics on any bytes, and what
// it accepts encodes back to a record that decodes the same.
func FuzzDecodeRecord(f *testing.F) {
	for _, s := range []sessions.Session{aliceSession(), {UID: "u", Expires: time.Unix(1700000000, 0)}} {
		b, _ := encodeRecord(&s)
		f.Add(b)
	}
	f.Add([]byte{recordVersion})
	f.Add([]byte{recordVersionIDToken, 0, 0, 0, 1, 'u', 0, 0, 0, 0, 0})
	f.Add([]byte{recordVersionIDToken, 0, 0, 0, 1, 'u', 0, 0, 0, 0, 1, 't'})
	f.Add([]byte{recordVersion, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeRecord(b)
		if err != nil {
			return
		}
		again, err := encodeRecord(&s)
		if err != nil {
			t.Fatalf("decodeRecord(%x) = %+v, which does not encode: %v", b, s, err)
		}
		s2, err := decodeRecord(again)
		if err != nil || !sameSession(s, s2) {
			t.Fatalf("decodeRecord(%x) = %+v; its re-encoding decodes as %+v, %v", b, s, s2, err)
		}
	})
}

// FuzzOpenHandle: arbitrary cookie values never panic, and the only handle
// that ever opens is the one sealed in the seed.
func FuzzOpenHandle(f *testing.F) {
	k, err := deriveKeys([][]byte{secretA}, testDeployment, 3600)
	if err != nil {
		f.Fatal(err)
	}
	want := handle{1, 2, 3}
	good, err := k.sealHandle("_rezigate", &want)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("")
	f.Add(good[:len(good)-2])
	f.Add("MTcwMDAwMDAwMHx8")
	f.Fuzz(func(t *testing.T, v string) {
		if h, ok := k.openHandle("_rezigate", v); ok && h != want {
			t.Fatalf("openHandle(%q) = %x; only the sealed handle may open", v, h)
		}
	})
}

func TestSealOpen(t *testing.T) {
	k, err := deriveKeys([][]byte{secretA}, testDeployment, 3600)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("hello")
	v := k.seal("p:s:1", plain)
	if got, ok := k.open("p:s:1", v); !ok || !bytes.Equal(got, plain) {
		t.Fatalf("open(seal) = %q, %v", got, ok)
	}
	if bytes.Contains(v, plain) {
		t.Error("sealed value contains the plaintext")
	}
	if bytes.Equal(v, k.seal("p:s:1", plain)) {
		t.Error("two seals of the same value are equal; want a fresh nonce each time")
	}
	flipped := bytes.Clone(v)
	flipped[len(flipped)-1] ^= 1
	rotated, err := deriveKeys([][]byte{secretB, secretA}, testDeployment, 3600)
	if err != nil {
		t.Fatal(err)
	}
	onlyB, err := deriveKeys([][]byte{secretB}, testDeployment, 3600)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		k    *keys
		key  string
		v    []byte
		ok   bool
	}{
		{"rotated keys open the old value", rotated, "p:s:1", v, true},
		{"other key name", k, "p:s:2", v, false},
		{"tampered", k, "p:s:1", flipped, false},
		{"short", k, "p:s:1", v[:10], false},
		{"empty", k, "p:s:1", nil, false},
		{"removed secret", onlyB, "p:s:1", v, false},
	} {
		if _, ok := tc.k.open(tc.key, tc.v); ok != tc.ok {
			t.Errorf("%s: open ok = %v; want %v", tc.name, ok, tc.ok)
		}
	}
	if a, b := k.indexName("uid", "x"), onlyB.indexName("uid", "x"); a == b {
		t.Error("index names do not depend on the secret")
	}
	if a, b := k.indexName("uid", "ab"), k.indexName("uida", "b"); a == b {
		t.Error("index names of different (kind, id) pairs collide")
	}
}

func TestRecentWrites(t *testing.T) {
	now := time.Unix(1000, 0)
	r := newRecentWrites(time.Second)
	if r.has("a", now) {
		t.Fatal("empty set has a")
	}
	r.add(now, "a")
	if !r.has("a", now.Add(999*time.Millisecond)) || r.has("b", now) {
		t.Error("has after add is wrong")
	}
	if r.has("a", now.Add(time.Second)) {
		t.Error("entry outlived the TTL")
	}
	// Past the bound every key counts as recent until the TTL ends.
	for i := range maxRecent + 1 {
		r.add(now, string(rune('a'+i%26))+strings.Repeat("x", i))
	}
	if !r.has("never-added", now) || r.has("never-added", now.Add(time.Second)) {
		t.Error("overflow does not make every key recent for exactly the TTL")
	}
	if len(r.m) > maxRecent {
		t.Errorf("recentWrites holds %d keys; want at most %d", len(r.m), maxRecent)
	}
	off := newRecentWrites(-1)
	off.add(now, "a")
	if off.has("a", now) {
		t.Error("with the cache off nothing needs remembering")
	}
}

// New fails fast and says nothing of the password when Redis cannot be
// reached, and leaves no goroutine behind.
func TestNewUnreachable(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(), ignoreDelayedRefresh)
	port, err := freePort() // nothing listens there now
	if err != nil {
		t.Fatal(err)
	}
	o := validOptions()
	o.URL = "redis://:" + testPassword + "@127.0.0.1:" + strconv.Itoa(port) + "/0"
	o.DialTimeout, o.ReadTimeout = 300*time.Millisecond, 300*time.Millisecond
	start := time.Now()
	s, err := New(context.Background(), o)
	if err == nil {
		s.Close()
		t.Fatal("New against a closed port = nil error")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("New took %v; want it bounded by DialTimeout", d)
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Errorf("New error %q shows the password", err)
	}
	if _, err := New(context.Background(), Options{}); err == nil {
		t.Error("New(Options{}) = nil error")
	}
}

// Close stops every goroutine the client started.
func TestCloseStopsGoroutines(t *testing.T) {
	url := redistest.URL(t)
	opts := testOptions(url, testPrefix(t, url))
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	c := mustPut(t, s, aliceSession())
	if _, err := s.Get(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.Get(context.Background(), c); !errors.Is(err, sessions.ErrUnavailable) {
		t.Errorf("Get after Close = %v; want ErrUnavailable", err)
	}
}

// TestOpenedCookiesEvictsLeastRecentlyUsed: a full openedCookies drops
// the one value used longest ago, as the middleware's cache does, and
// keeps the rest, the values in use among them.
func TestOpenedCookiesEvictsLeastRecentlyUsed(t *testing.T) {
	o := newOpenedCookies()
	for i := range maxOpened {
		o.put(strconv.Itoa(i), handle{byte(i)})
	}
	if _, ok := o.get("0"); !ok { // in use: no longer the least recently used
		t.Fatal("get(0) = miss; want a hit")
	}
	o.put("new", handle{})
	kept := 0
	for i := range maxOpened {
		if _, ok := o.get(strconv.Itoa(i)); ok {
			kept++
		}
	}
	if _, ok := o.get("1"); ok || kept != maxOpened-1 {
		t.Errorf("after one put into a full openedCookies, %d of %d old values are kept (1 kept: %v); want all but the least recently used, 1", kept, maxOpened, ok)
	}
	if _, ok := o.get("0"); !ok {
		t.Errorf("get(0) = miss; want the value in use kept")
	}
}

func TestOpenedCookiesBounded(t *testing.T) {
	o := newOpenedCookies()
	for i := range maxOpened + 10 {
		o.put(strconv.Itoa(i), handle{byte(i), byte(i >> 8)})
	}
	if n := o.lru.Len(); n > maxOpened {
		t.Errorf("openedCookies holds %d values; want at most %d", n, maxOpened)
	}
	n := maxOpened + 9
	if h, ok := o.get(strconv.Itoa(n)); !ok || h != (handle{byte(n), byte(n >> 8)}) {
		t.Errorf("get(last) = %x, %v; want the value just put", h, ok)
	}
}

// TestRecordIDToken: a session with an ID token is written in version 2,
// which holds it; one without is still written in version 1, and a
// version 1 record (stored before ID tokens were kept) still reads.
func TestRecordIDToken(t *testing.T) {
	with := aliceSession()
	without := aliceSession()
	without.IDToken = ""
	for _, tc := range []struct {
		name    string
		s       sessions.Session
		version byte
	}{
		{"with an ID token", with, recordVersionIDToken},
		{"without", without, recordVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := encodeRecord(&tc.s)
			if err != nil || b[0] != tc.version {
				t.Fatalf("encodeRecord = %x, %v; want version %d", b[:1], err, tc.version)
			}
			got, err := decodeRecord(b)
			if err != nil || !sameSession(got, tc.s) {
				t.Errorf("decodeRecord = %+v, %v; want %+v", got, err, tc.s)
			}
		})
	}
	// A version 2 record is written only with a token.
	b, _ := encodeRecord(&without)
	b[0] = recordVersionIDToken
	if s, err := decodeRecord(append(b, 0)); err == nil {
		t.Errorf("decodeRecord(version 2, empty token) = %+v; want an error", s)
	}
}
