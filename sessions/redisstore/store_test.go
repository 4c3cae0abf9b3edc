package redisstore

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/rezigate/rezigate/internal/testsupport/redistest"
	"github.com/rezigate/rezigate/sessions"
)

var ctx = context.Background()

// sameSession compares sessions, times at the millisecond the record keeps.
func sameSession(a, b sessions.Session) bool {
	eq := func(x, y time.Time) bool { return x.Truncate(time.Millisecond).Equal(y.Truncate(time.Millisecond)) }
	return a.UID == b.UID && a.Email == b.Email && slices.Equal(a.Groups, b.Groups) && a.SIDHash == b.SIDHash &&
		a.RefreshToken == b.RefreshToken && a.IDToken == b.IDToken && eq(a.Expires, b.Expires) && eq(a.CheckedAt, b.CheckedAt) && eq(a.CheckDue, b.CheckDue)
}

func aliceSession() sessions.Session {
	now := time.Now()
	return sessions.Session{
		UID: strings.Repeat("f00d", 16), Email: "alice@example.com", Groups: []string{"staff", "hr"},
		SIDHash: sessions.HashSID("provider-session-1"), Expires: now.Add(30 * time.Minute),
		RefreshToken: "refresh-token-of-alice", CheckedAt: now, CheckDue: now.Add(5 * time.Minute),
		IDToken: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl",
	}
}

func mustPut(t testing.TB, s *Store, sess sessions.Session) string {
	t.Helper()
	c, err := s.Put(ctx, sess)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return c
}

func TestPutGetDelete(t *testing.T) {
	url := redistest.URL(t)
	s := newTestStore(t, testOptions(url, testPrefix(t, url)))
	in := aliceSession()
	cookie := mustPut(t, s, in)
	if len(cookie) >= 200 {
		t.Errorf("cookie is %d bytes; want under 200", len(cookie))
	}
	t.Logf("cookie: %d bytes", len(cookie))
	for i := range 2 { // the second Get is answered from the local cache
		got, err := s.Get(ctx, cookie)
		if err != nil || !sameSession(got, in) {
			t.Fatalf("Get #%d = %+v, %v; want %+v", i+1, got, err, in)
		}
	}
	if err := s.Delete(ctx, cookie); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx, cookie); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("Get after Delete = %v; want ErrNotFound", err)
	}
	if err := s.Delete(ctx, cookie); err != nil {
		t.Errorf("second Delete = %v; want nil", err)
	}
	if err := s.Delete(ctx, "not-a-cookie"); err != nil {
		t.Errorf("Delete(garbage) = %v; want nil", err)
	}
}

func TestPutRejects(t *testing.T) {
	url := redistest.URL(t)
	s := newTestStore(t, testOptions(url, testPrefix(t, url)))
	now := time.Now()
	tests := []struct {
		name string
		s    sessions.Session
	}{
		{"no uid", sessions.Session{Email: "a@example.com", Expires: now.Add(time.Minute)}},
		{"expired", sessions.Session{UID: "u", Expires: now.Add(-time.Second)}},
		{"no expiry", sessions.Session{UID: "u"}},
		{"beyond max age", sessions.Session{UID: "u", Expires: now.Add(2 * time.Hour)}},
		{"too many groups", sessions.Session{UID: "u", Expires: now.Add(time.Minute), Groups: make([]string, maxGroups+1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := s.Put(ctx, tc.s)
			if err == nil || c != "" {
				t.Fatalf("Put = %q, %v; want an error", c, err)
			}
			if errors.Is(err, sessions.ErrUnavailable) {
				t.Errorf("Put = %v; want a plain error, not ErrUnavailable", err)
			}
		})
	}
}

func TestGetRejects(t *testing.T) {
	url := redistest.URL(t)
	prefix := testPrefix(t, url)
	s := newTestStore(t, testOptions(url, prefix))
	raw := rawClient(t, url)
	good := mustPut(t, s, aliceSession())
	flipped := []byte(good)
	flipped[len(flipped)/2] ^= 1

	other := testOptions(url, prefix)
	other.Settings.Secrets = [][]byte{secretB}
	otherSecret := mustPut(t, newTestStore(t, other), aliceSession())
	renamed := testOptions(url, prefix)
	renamed.Settings.CookieName = "_other"
	otherName := mustPut(t, newTestStore(t, renamed), aliceSession())
	cs, err := sessions.NewCookieStore(sessions.CookieOptions{Settings: sessions.Settings{Deployment: testDeployment, Secrets: [][]byte{secretA}, MaxAge: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	cookieStoreCookie, err := cs.Put(ctx, sessions.Session{UID: "u", Email: "a@example.com", Expires: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}

	// A value changed at rest, and a value moved under another session's key.
	tamperedAtRest := mustPut(t, s, aliceSession())
	h, _ := s.keys.openHandle(s.name, tamperedAtRest)
	key := s.sessionKey(&h)
	v, err := raw.Do(ctx, raw.B().Get().Key(key).Build()).AsBytes()
	if err != nil {
		t.Fatal(err)
	}
	v[len(v)-1] ^= 1
	if err := raw.Do(ctx, raw.B().Set().Key(key).Value(rueidis.BinaryString(v)).Keepttl().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	moved := mustPut(t, s, sessions.Session{UID: "mallory", Expires: time.Now().Add(time.Minute)})
	hm, _ := s.keys.openHandle(s.name, moved)
	hg, _ := s.keys.openHandle(s.name, good)
	goodVal, _ := raw.Do(ctx, raw.B().Get().Key(s.sessionKey(&hg)).Build()).AsBytes()
	if err := raw.Do(ctx, raw.B().Set().Key(s.sessionKey(&hm)).Value(rueidis.BinaryString(goodVal)).Keepttl().Build()).Error(); err != nil {
		t.Fatal(err)
	}

	tests := []struct{ name, cookie string }{
		{"tampered", string(flipped)},
		{"empty", ""},
		{"garbage", "not-a-cookie"},
		{"truncated", good[:len(good)-4]},
		{"very long", strings.Repeat("A", 5000)},
		{"other secret", otherSecret},
		{"other cookie name", otherName},
		{"cookie store's cookie", cookieStoreCookie},
		{"value changed at rest", tamperedAtRest},
		{"value moved to another key", moved},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := s.Get(ctx, tc.cookie); !errors.Is(err, sessions.ErrNotFound) {
				t.Errorf("Get = %+v, %v; want ErrNotFound", got, err)
			}
		})
	}
	// And the cookie store does not open a handle cookie.
	if got, err := cs.Get(ctx, good); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("CookieStore.Get(handle cookie) = %+v, %v; want ErrNotFound", got, err)
	}
	if _, err := s.Get(ctx, good); err != nil {
		t.Errorf("Get(good) = %v; want the session, untouched by the others", err)
	}
}

func TestDeleteUser(t *testing.T) {
	url := redistest.URL(t)
	prefix := testPrefix(t, url)
	s := newTestStore(t, testOptions(url, prefix))
	alice := aliceSession()
	a1 := mustPut(t, s, alice)
	alice.SIDHash = sessions.HashSID("provider-session-2")
	a2 := mustPut(t, s, alice)
	bob := aliceSession()
	bob.UID, bob.Email = "bob-uid", "bob@example.com"
	b1 := mustPut(t, s, bob)
	for _, c := range []string{a1, a2, b1} { // cached on this replica
		if _, err := s.Get(ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	n, err := s.DeleteUser(ctx, alice.UID)
	if err != nil || n != 2 {
		t.Fatalf("DeleteUser(alice) = %d, %v; want 2, nil", n, err)
	}
	for _, c := range []string{a1, a2} {
		if _, err := s.Get(ctx, c); !errors.Is(err, sessions.ErrNotFound) {
			t.Errorf("Get(alice's session) after DeleteUser = %v; want ErrNotFound", err)
		}
	}
	if got, err := s.Get(ctx, b1); err != nil || got.UID != bob.UID {
		t.Errorf("Get(bob's session) = %+v, %v; want bob's session", got, err)
	}
	if n, err := s.DeleteUser(ctx, alice.UID); err != nil || n != 0 {
		t.Errorf("DeleteUser(alice) again = %d, %v; want 0, nil", n, err)
	}
	if n, err := s.DeleteUser(ctx, "nobody"); err != nil || n != 0 {
		t.Errorf("DeleteUser(nobody) = %d, %v; want 0, nil", n, err)
	}
	raw := rawClient(t, url)
	if n, _ := raw.Do(ctx, raw.B().Exists().Key(s.indexKey(kindUID, s.keys.indexName("uid", alice.UID))).Build()).AsInt64(); n != 0 {
		t.Errorf("alice's index still exists after DeleteUser")
	}
}

func TestDeleteSID(t *testing.T) {
	url := redistest.URL(t)
	s := newTestStore(t, testOptions(url, testPrefix(t, url)))
	alice := aliceSession()
	alice.SIDHash = sessions.HashSID("sid-1")
	a1 := mustPut(t, s, alice)
	a2 := mustPut(t, s, alice) // a second session of the same provider session
	alice.SIDHash = sessions.HashSID("sid-2")
	a3 := mustPut(t, s, alice)
	alice.SIDHash = ""
	a4 := mustPut(t, s, alice)

	n, err := s.DeleteSID(ctx, sessions.HashSID("sid-1"))
	if err != nil || n != 2 {
		t.Fatalf("DeleteSID(sid-1) = %d, %v; want 2, nil", n, err)
	}
	for _, tc := range []struct {
		name, cookie string
		want         error
	}{{"sid-1 first", a1, sessions.ErrNotFound}, {"sid-1 second", a2, sessions.ErrNotFound}, {"sid-2", a3, nil}, {"no sid", a4, nil}} {
		if _, err := s.Get(ctx, tc.cookie); !errors.Is(err, tc.want) {
			t.Errorf("Get(%s) after DeleteSID = %v; want %v", tc.name, err, tc.want)
		}
	}
	if _, err := s.DeleteSID(ctx, ""); err == nil {
		t.Error("DeleteSID(\"\") = nil error; want an error")
	}
}

// fillStore writes one key of every kind the store has.
func fillStore(t *testing.T, s *Store, sess sessions.Session, token, jti string) (cookie string) {
	t.Helper()
	cookie = mustPut(t, s, sess)
	if _, err := s.LockSession(ctx, cookie, 30*time.Second); err != nil {
		t.Fatalf("LockSession: %v", err)
	}
	if _, err := s.SeenJTI(ctx, jti, 10*time.Minute); err != nil {
		t.Fatalf("SeenJTI: %v", err)
	}
	tc, err := NewTokenCache(s, TokenCacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tc.Put(ctx, sess.Email, sess.UID, token, time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("TokenCache.Put: %v", err)
	}
	l, err := NewLimiter(s, LimiterOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Allow(ctx, sess.UID); err != nil {
		t.Fatalf("Allow: %v", err)
	}
	return cookie
}

func TestEveryKeyHasTTL(t *testing.T) {
	url := redistest.URL(t)
	prefix := testPrefix(t, url)
	s := newTestStore(t, testOptions(url, prefix))
	sess := aliceSession()
	sess.Expires = time.Now().Add(time.Hour) // the longest allowed
	fillStore(t, s, sess, "rezi-token", "jti-1")
	raw := rawClient(t, url)
	keys := scanKeys(t, raw, prefix)
	kinds := map[string]bool{}
	for _, k := range keys {
		kinds[k[len(prefix):len(prefix)+2]] = true
		ms, err := raw.Do(ctx, raw.B().Pttl().Key(k).Build()).AsInt64()
		if err != nil {
			t.Fatalf("PTTL %s: %v", k, err)
		}
		if ms <= 0 || time.Duration(ms)*time.Millisecond > time.Hour {
			t.Errorf("key %s has PTTL %dms; want 0 < TTL <= MaxAge (1h)", k, ms)
		}
	}
	for _, kind := range []string{kindSession, kindLock, kindUID, kindSID, kindJTI, kindToken, kindRate} {
		if !kinds[kind] {
			t.Errorf("no %q key written; the test must see every kind (got keys %q)", kind, keys)
		}
	}
}

func TestNothingReadableAtRest(t *testing.T) {
	url := redistest.URL(t)
	prefix := testPrefix(t, url)
	s := newTestStore(t, testOptions(url, prefix))
	sess := aliceSession()
	const sid, token, jti = "provider-session-1", "rezi-token-of-alice-0123456789", "logout-token-jti-42"
	sess.SIDHash = sessions.HashSID(sid)
	cookie := fillStore(t, s, sess, token, jti)
	h, ok := s.keys.openHandle(s.name, cookie)
	if !ok {
		t.Fatal("cannot open own cookie")
	}
	secrets := map[string]string{
		"email": sess.Email, "email local part": "alice", "uid": sess.UID, "sid": sid, "sid hash": sess.SIDHash,
		"refresh token": sess.RefreshToken, "rezi token": token, "jti": jti, "group": "staff",
		"handle": string(h[:]), "handle hex": hex.EncodeToString(h[:]),
		"handle base64": base64.RawURLEncoding.EncodeToString(h[:]), "handle std base64": base64.RawStdEncoding.EncodeToString(h[:]),
		"cookie": cookie,
	}
	raw := rawClient(t, url)
	var seen int
	check := func(what, data string) {
		seen++
		for name, v := range secrets {
			if strings.Contains(data, v) {
				t.Errorf("%s contains the %s", what, name)
			}
		}
	}
	for _, k := range scanKeys(t, raw, prefix) {
		check("key name "+k, k)
		typ, err := raw.Do(ctx, raw.B().Type().Key(k).Build()).ToString()
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case "string":
			v, err := raw.Do(ctx, raw.B().Get().Key(k).Build()).ToString()
			if err != nil {
				t.Fatal(err)
			}
			check("value of "+k, v)
		case "set":
			m, err := raw.Do(ctx, raw.B().Smembers().Key(k).Build()).AsStrSlice()
			if err != nil {
				t.Fatal(err)
			}
			check("members of "+k, strings.Join(m, "\n"))
		default:
			t.Errorf("key %s has type %s; the store writes only strings and sets", k, typ)
		}
	}
	if seen < 7*2 {
		t.Errorf("checked %d keys and values; want at least one key of each of the 7 kinds", seen)
	}
}

func TestSecretRotation(t *testing.T) {
	url := redistest.URL(t)
	prefix := testPrefix(t, url)
	old := newTestStore(t, testOptions(url, prefix)) // secret A
	rotated := testOptions(url, prefix)
	rotated.Settings.Secrets = [][]byte{secretB, secretA}
	both := newTestStore(t, rotated)
	onlyB := testOptions(url, prefix)
	onlyB.Settings.Secrets = [][]byte{secretB}
	newOnly := newTestStore(t, onlyB)

	sess := aliceSession()
	sess.SIDHash = sessions.HashSID("sid-rot")
	oldCookie := mustPut(t, old, sess)
	if got, err := both.Get(ctx, oldCookie); err != nil || !sameSession(got, sess) {
		t.Fatalf("rotated store: Get(cookie of the old secret) = %+v, %v; want the session", got, err)
	}
	newCookie := mustPut(t, both, sess)
	if _, err := newOnly.Get(ctx, newCookie); err != nil {
		t.Errorf("store with only the new secret: Get(cookie sealed after rotation) = %v; want the session", err)
	}
	if _, err := newOnly.Get(ctx, oldCookie); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("store with only the new secret: Get(cookie of the removed secret) = %v; want ErrNotFound", err)
	}
	if _, err := old.Get(ctx, newCookie); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("old store: Get(cookie of a secret it lacks) = %v; want ErrNotFound", err)
	}
	// The rotated store finds sessions indexed under either secret.
	if n, err := both.DeleteSID(ctx, sess.SIDHash); err != nil || n != 2 {
		t.Errorf("rotated store: DeleteSID = %d, %v; want 2 (one indexed under each secret)", n, err)
	}
	if _, err := both.SeenJTI(ctx, "jti-old", time.Minute); err != nil {
		t.Fatal(err)
	}
	if seen, err := old.SeenJTI(ctx, "jti-before", time.Minute); err != nil || seen {
		t.Fatalf("SeenJTI = %v, %v; want false", seen, err)
	}
	if seen, err := both.SeenJTI(ctx, "jti-before", time.Minute); err != nil || !seen {
		t.Errorf("rotated store: SeenJTI(jti seen under the old secret) = %v, %v; want true", seen, err)
	}
}

func TestUpdate(t *testing.T) {
	url := redistest.URL(t)
	prefix := testPrefix(t, url)
	a := newTestStore(t, testOptions(url, prefix))
	b := newTestStore(t, testOptions(url, prefix))
	sess := aliceSession()
	cookie := mustPut(t, a, sess)
	if _, err := b.Get(ctx, cookie); err != nil { // b caches it
		t.Fatal(err)
	}
	rotate := func(token string) func(sessions.Session) (sessions.Session, error) {
		return func(s sessions.Session) (sessions.Session, error) {
			s.RefreshToken, s.CheckedAt = token, time.Now()
			return s, nil
		}
	}
	got, err := a.Update(ctx, cookie, rotate("rotated-1"))
	if err != nil || got.RefreshToken != "rotated-1" {
		t.Fatalf("Update = %+v, %v; want RefreshToken rotated-1", got, err)
	}
	waitFor(t, "replica b to see the rotated token", func() bool {
		s, err := b.Get(ctx, cookie)
		return err == nil && s.RefreshToken == "rotated-1"
	})

	// Another writer gets in between read and write: this one loses.
	var inner error
	_, err = a.Update(ctx, cookie, func(s sessions.Session) (sessions.Session, error) {
		_, inner = b.Update(ctx, cookie, rotate("rotated-by-b"))
		s.RefreshToken = "rotated-by-a"
		return s, nil
	})
	if inner != nil {
		t.Fatalf("inner Update = %v", inner)
	}
	if !errors.Is(err, sessions.ErrConflict) {
		t.Errorf("outer Update = %v; want ErrConflict", err)
	}
	waitFor(t, "a to see b's token", func() bool {
		s, err := a.Get(ctx, cookie)
		return err == nil && s.RefreshToken == "rotated-by-b"
	})

	if _, err := a.Update(ctx, cookie, func(s sessions.Session) (sessions.Session, error) {
		s.UID = "someone-else"
		return s, nil
	}); err == nil || errors.Is(err, sessions.ErrConflict) {
		t.Errorf("Update changing UID = %v; want a refusal", err)
	}
	boom := errors.New("provider said no")
	if _, err := a.Update(ctx, cookie, func(s sessions.Session) (sessions.Session, error) { return s, boom }); !errors.Is(err, boom) {
		t.Errorf("Update with failing fn = %v; want it wrapped", err)
	}
	raw := rawClient(t, url)
	h, _ := a.keys.openHandle(a.name, cookie)
	if ms, _ := raw.Do(ctx, raw.B().Pttl().Key(a.sessionKey(&h)).Build()).AsInt64(); ms <= 0 {
		t.Errorf("PTTL after Update = %d; want the TTL kept", ms)
	}
	if err := a.Delete(ctx, cookie); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Update(ctx, cookie, rotate("x")); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("Update of a deleted session = %v; want ErrNotFound", err)
	}
}

// waitFor polls cond until it holds, for at most 2 seconds.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 2*time.Second {
			t.Fatalf("waited 2s for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
	return time.Since(start)
}

func TestLock(t *testing.T) {
	url := redistest.URL(t)
	prefix := testPrefix(t, url)
	a := newTestStore(t, testOptions(url, prefix))
	b := newTestStore(t, testOptions(url, prefix))
	cookie := mustPut(t, a, aliceSession())
	other := mustPut(t, a, aliceSession())

	la, err := a.LockSession(ctx, cookie, 30*time.Second)
	if err != nil {
		t.Fatalf("a: LockSession = %v", err)
	}
	if _, err := b.LockSession(ctx, cookie, 30*time.Second); !errors.Is(err, sessions.ErrLocked) {
		t.Errorf("b: LockSession while a holds it = %v; want ErrLocked", err)
	}
	if _, err := a.LockSession(ctx, cookie, 30*time.Second); !errors.Is(err, sessions.ErrLocked) {
		t.Errorf("a: LockSession again = %v; want ErrLocked", err)
	}
	lo, err := b.LockSession(ctx, other, 30*time.Second)
	if err != nil {
		t.Errorf("b: LockSession of another session = %v; want nil", err)
	} else if _, err := lo.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if held, err := la.Release(ctx); err != nil || !held {
		t.Fatalf("a: Release = %v, %v; want true, nil", held, err)
	}
	lb, err := b.LockSession(ctx, cookie, 30*time.Second)
	if err != nil {
		t.Fatalf("b: LockSession after a released = %v", err)
	}
	// a's lock is gone; releasing it again must not free b's.
	if held, err := la.Release(ctx); err != nil || held {
		t.Errorf("a: stale Release = %v, %v; want false, nil", held, err)
	}
	if _, err := a.LockSession(ctx, cookie, 30*time.Second); !errors.Is(err, sessions.ErrLocked) {
		t.Errorf("a: LockSession while b holds it = %v; want ErrLocked", err)
	}
	if held, err := lb.Release(ctx); err != nil || !held {
		t.Errorf("b: Release = %v, %v; want true, nil", held, err)
	}
	if _, err := a.LockSession(ctx, "garbage", time.Second); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("LockSession(garbage) = %v; want ErrNotFound", err)
	}
	for _, ttl := range []time.Duration{0, -time.Second, MaxLockTTL + time.Second} {
		if _, err := a.LockSession(ctx, cookie, ttl); err == nil {
			t.Errorf("LockSession(ttl %v) = nil error; want an error", ttl)
		}
	}
}

func TestSeenJTI(t *testing.T) {
	url := redistest.URL(t)
	prefix := testPrefix(t, url)
	a := newTestStore(t, testOptions(url, prefix))
	b := newTestStore(t, testOptions(url, prefix))
	tests := []struct {
		name  string
		s     *Store
		jti   string
		ttl   time.Duration
		seen  bool
		error bool
	}{
		{"first use", a, "jti-1", time.Minute, false, false},
		{"replay, same replica", a, "jti-1", time.Minute, true, false},
		{"replay, other replica", b, "jti-1", time.Minute, true, false},
		{"another token", b, "jti-2", time.Minute, false, false},
		{"empty jti", a, "", time.Minute, false, true},
		{"zero ttl", a, "jti-3", 0, false, true},
		{"ttl beyond max age", a, "jti-3", 2 * time.Hour, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			looked, lerr := tc.s.LookupJTI(ctx, tc.jti)
			seen, err := tc.s.SeenJTI(ctx, tc.jti, tc.ttl)
			if (err != nil) != tc.error || seen != tc.seen {
				t.Errorf("SeenJTI(%q, %v) = %v, %v; want %v, error %v", tc.jti, tc.ttl, seen, err, tc.seen, tc.error)
			}
			if (lerr != nil) != (tc.jti == "") || looked != tc.seen {
				t.Errorf("LookupJTI(%q) before SeenJTI = %v, %v; want %v", tc.jti, looked, lerr, tc.seen)
			}
		})
	}
}

func TestLimiterAcrossReplicas(t *testing.T) {
	url := redistest.URL(t)
	prefix := testPrefix(t, url)
	var limiters [2]*Limiter
	for i := range limiters {
		l, err := NewLimiter(newTestStore(t, testOptions(url, prefix)), LimiterOptions{Limit: 5, Window: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		limiters[i] = l
	}
	for i := range 5 {
		ok, retry, err := limiters[i%2].Allow(ctx, "alice")
		if err != nil || !ok || retry != 0 {
			t.Fatalf("call %d: Allow = %v, %v, %v; want true, 0, nil", i+1, ok, retry, err)
		}
	}
	for i := range 3 { // refused calls count too, on either replica
		ok, retry, err := limiters[i%2].Allow(ctx, "alice")
		if err != nil || ok || retry <= 0 || retry > time.Minute {
			t.Errorf("call %d: Allow = %v, %v, %v; want false, 0 < retryAfter <= 1m, nil", 6+i, ok, retry, err)
		}
	}
	if ok, _, err := limiters[1].Allow(ctx, "bob"); err != nil || !ok {
		t.Errorf("another uid: Allow = %v, %v; want true, nil", ok, err)
	}
}

func TestTokenCache(t *testing.T) {
	url := redistest.URL(t)
	prefix := testPrefix(t, url)
	a, err := NewTokenCache(newTestStore(t, testOptions(url, prefix)), TokenCacheOptions{Margin: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewTokenCache(newTestStore(t, testOptions(url, prefix)), TokenCacheOptions{Margin: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	putAt := time.Now()
	exp := putAt.Add(10 * time.Minute)
	if err := a.Put(ctx, "alice@example.com", "u1", "tok-1", exp); err != nil {
		t.Fatal(err)
	}
	if tok, ok, err := b.Get(ctx, "alice@example.com", "u1"); err != nil || !ok || tok != "tok-1" {
		t.Errorf("other replica: Get = %q, %v, %v; want tok-1", tok, ok, err)
	}
	for _, tc := range []struct{ email, uid string }{{"alice@example.com", "u2"}, {"bob@example.com", "u1"}, {"alice@example.com\x00u", "1"}} {
		if tok, ok, err := b.Get(ctx, tc.email, tc.uid); err != nil || ok {
			t.Errorf("Get(%q, %q) = %q, %v, %v; want a miss", tc.email, tc.uid, tok, ok, err)
		}
	}
	// A token within Margin of its expiry is not stored.
	if err := a.Put(ctx, "carol@example.com", "u3", "tok-3", time.Now().Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.Get(ctx, "carol@example.com", "u3"); ok {
		t.Error("token expiring within the margin was cached")
	}
	raw := rawClient(t, url)
	ms, _ := raw.Do(ctx, raw.B().Pttl().Key(a.key("alice@example.com", "u1")).Build()).AsInt64()
	if max := exp.Add(-time.Minute).Sub(putAt); ms <= 0 || time.Duration(ms)*time.Millisecond > max {
		t.Errorf("token PTTL = %dms; want 0 < TTL <= exp - margin (%v)", ms, max)
	}
	if err := a.Put(ctx, "dave@example.com", "u4", "tok-4", time.Now().Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	ms, _ = raw.Do(ctx, raw.B().Pttl().Key(a.key("dave@example.com", "u4")).Build()).AsInt64()
	if time.Duration(ms)*time.Millisecond > MaxTokenTTL {
		t.Errorf("token PTTL = %dms; want at most MaxTokenTTL", ms)
	}
	if _, err := NewTokenCache(nil, TokenCacheOptions{}); err == nil {
		t.Error("NewTokenCache(nil) = nil error")
	}
	if _, err := NewTokenCache(a.s, TokenCacheOptions{Margin: -1}); err == nil {
		t.Error("NewTokenCache(negative margin) = nil error")
	}
}
