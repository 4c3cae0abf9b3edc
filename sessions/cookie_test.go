package sessions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/session"
	"github.com/rezigate/rezigate/internal/testsupport/idtoken"
	"github.com/rezigate/rezigate/optionerr"
)

var (
	ctx     = context.Background()
	secretA = bytes.Repeat([]byte("a"), 32)
	secretB = bytes.Repeat([]byte("b"), 32)
)

// testDeployment is the Deployment of the tests' stores, and testCookie
// the name their cookies are set under (the default, Secure).
const (
	testDeployment = "https://rms.example.com"
	testCookie     = "__Host-_rezigate"
)

func newCookieStore(t testing.TB, secrets ...[]byte) *CookieStore {
	t.Helper()
	s, err := NewCookieStore(CookieOptions{Settings: Settings{Deployment: testDeployment, Secrets: secrets, MaxAge: time.Hour}})
	if err != nil {
		t.Fatalf("NewCookieStore: %v", err)
	}
	return s
}

func TestCookieStoreRoundTrip(t *testing.T) {
	s := newCookieStore(t, secretA)
	exp := time.Now().Add(30 * time.Minute).Truncate(time.Second)
	in := Session{UID: strings.Repeat("f", 64), Email: "alice@example.com", Expires: exp,
		Groups: []string{"staff"}, SIDHash: HashSID("sid"), CheckedAt: time.Now(), CheckDue: exp}
	v, err := s.Put(ctx, in)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := s.Get(ctx, v)
	want := Session{UID: in.UID, Email: in.Email, Expires: exp}
	if err != nil || got.UID != want.UID || got.Email != want.Email || !got.Expires.Equal(want.Expires) ||
		got.Groups != nil || got.SIDHash != "" || !got.CheckedAt.IsZero() || !got.CheckDue.IsZero() {
		t.Errorf("Get = %+v, %v; want %+v (only UID, Email and Expires kept)", got, err, want)
	}
}

// Put keeps only the groups KeepGroups lists; a session without any is
// sealed as before groups existed.
func TestCookieStoreKeepGroups(t *testing.T) {
	exp := time.Now().Add(30 * time.Minute).Truncate(time.Second)
	codec, err := session.NewBoundCodec([][]byte{secretA}, time.Hour, testDeployment)
	if err != nil {
		t.Fatal(err)
	}
	many := make([]string, 200)
	for i := range many {
		many[i] = fmt.Sprintf("corp-group-%03d", i)
	}
	named := make([]string, 20)
	for i := range named {
		named[i] = many[i*10]
	}
	tests := []struct {
		name   string
		keep   []string
		groups []string
		want   []string
	}{
		{"nil keeps none", nil, []string{"staff"}, nil},
		{"listed kept in order", []string{"b", "a"}, []string{"a", "x", "b"}, []string{"a", "b"}},
		{"repeats once", []string{"a"}, []string{"a", "a"}, []string{"a"}},
		{"none listed", []string{"a"}, []string{"x", "y"}, nil},
		{"200 groups, 20 named", named, many, named},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewCookieStore(CookieOptions{Settings: Settings{Deployment: testDeployment, Secrets: [][]byte{secretA}, MaxAge: time.Hour}, KeepGroups: tc.keep})
			if err != nil {
				t.Fatal(err)
			}
			v, err := s.Put(ctx, Session{UID: strings.Repeat("f", 64), Email: "alice@example.com", Expires: exp, Groups: tc.groups})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, v)
			if err != nil || !slices.Equal(got.Groups, tc.want) {
				t.Errorf("Get groups = %q, %v; want %q", got.Groups, err, tc.want)
			}
			if len(v) >= 1024 {
				t.Errorf("cookie is %d bytes; want under 1 KB", len(v))
			}
			if tc.name == "200 groups, 20 named" {
				t.Logf("cookie for a user in 200 groups, 20 of them named: %d bytes", len(v))
			}
			if tc.want == nil { // the first version, readable by the old codec too
				var back session.Session
				if err := codec.Decode(testCookie, v, &back); err != nil || back.Groups != nil {
					t.Errorf("codec.Decode = %+v, %v; want a session without groups", back, err)
				}
			}
		})
	}
	if _, err := NewCookieStore(CookieOptions{Settings: Settings{Deployment: testDeployment, Secrets: [][]byte{secretA}, MaxAge: time.Hour}, KeepGroups: []string{"a", ""}}); err == nil {
		t.Error("NewCookieStore(KeepGroups with an empty name) = nil error; want one")
	}
}

// The cookie store's cookies are exactly those of session.NewBoundCodec
// for its deployment: each opens the other's.
func TestCookieStoreSameCookiesAsCodec(t *testing.T) {
	codec, err := session.NewBoundCodec([][]byte{secretA}, time.Hour, testDeployment)
	if err != nil {
		t.Fatal(err)
	}
	s := newCookieStore(t, secretA)
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	old, err := codec.Encode(testCookie, &session.Session{Email: "a@example.com", UID: "u1", Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, old); err != nil || got.UID != "u1" || got.Email != "a@example.com" || !got.Expires.Equal(exp) {
		t.Errorf("Get(cookie of the codec) = %+v, %v", got, err)
	}
	v, err := s.Put(ctx, Session{UID: "u2", Email: "b@example.com", Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	var back session.Session
	if err := codec.Decode(testCookie, v, &back); err != nil || back.UID != "u2" || back.Email != "b@example.com" || !back.Expires.Equal(exp) {
		t.Errorf("codec.Decode(cookie of the store) = %+v, %v", back, err)
	}
}

func TestCookieStoreRejects(t *testing.T) {
	s := newCookieStore(t, secretA)
	now := time.Now()
	s.now = func() time.Time { return now }
	good, err := s.Put(ctx, Session{UID: "u", Email: "a@example.com", Expires: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(good)
	flipped[len(flipped)/2] ^= 1
	later := newCookieStore(t, secretA)
	later.now = func() time.Time { return now.Add(time.Minute) }
	codec, _ := session.NewBoundCodec([][]byte{secretA}, time.Hour, testDeployment)
	noUID, _ := codec.Encode(testCookie, &session.Session{Email: "a@example.com", Expires: now.Add(time.Minute)})
	tests := []struct {
		name   string
		s      *CookieStore
		cookie string
	}{
		{"tampered", s, string(flipped)},
		{"empty", s, ""},
		{"garbage", s, "garbage"},
		{"other secret", newCookieStore(t, secretB), good},
		{"expired", later, good},
		{"no uid", s, noUID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := tc.s.Get(ctx, tc.cookie); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get = %+v, %v; want ErrNotFound", got, err)
			}
		})
	}
	if _, err := s.Get(ctx, good); err != nil {
		t.Errorf("Get(good) = %v", err)
	}
}

// TestCookieStoreDeployment: two deployments with the same secrets and
// cookie name do not open each other's cookies (a cookie of the other is
// no session: ErrNotFound), and a cookie sealed before sessions were
// bound to a deployment no longer opens (those users sign in once more).
func TestCookieStoreDeployment(t *testing.T) {
	store := func(deployment string) *CookieStore {
		s, err := NewCookieStore(CookieOptions{Settings: Settings{Deployment: deployment, Secrets: [][]byte{secretA}, MaxAge: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := store("https://a.example.com"), store("https://b.example.com")
	exp := time.Now().Add(time.Hour)
	v, err := a.Put(ctx, Session{UID: "u", Email: "a@example.com", Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	unbound, _ := session.NewCodec([][]byte{secretA}, time.Hour)
	old, _ := unbound.Encode(testCookie, &session.Session{Email: "a@example.com", UID: "u", Expires: exp})
	for _, tc := range []struct {
		name   string
		s      *CookieStore
		cookie string
		want   error
	}{
		{"own deployment", a, v, nil},
		{"other deployment", b, v, ErrNotFound},
		{"sealed before deployments", a, old, ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := tc.s.Get(ctx, tc.cookie); !errors.Is(err, tc.want) {
				t.Errorf("Get = %+v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if got := a.Settings().Deployment; got != "https://a.example.com" {
		t.Errorf("Settings().Deployment = %q; want the one configured", got)
	}
}

func TestCookieStorePutRejects(t *testing.T) {
	s := newCookieStore(t, secretA)
	now := time.Now()
	tests := []struct {
		name string
		in   Session
		want error // nil: any error
	}{
		{"refresh token", Session{UID: "u", Expires: now.Add(time.Minute), RefreshToken: "rt"}, ErrNotSupported},
		{"no uid", Session{Expires: now.Add(time.Minute)}, nil},
		{"expired", Session{UID: "u", Expires: now.Add(-time.Minute)}, nil},
		{"beyond max age", Session{UID: "u", Expires: now.Add(2 * time.Hour)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := s.Put(ctx, tc.in)
			if err == nil || v != "" || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("Put = %q, %v; want an error (%v)", v, err, tc.want)
			}
		})
	}
}

func TestCookieStoreCannotRevoke(t *testing.T) {
	s := newCookieStore(t, secretA)
	if err := s.Delete(ctx, "anything"); err != nil {
		t.Errorf("Delete = %v; want nil", err)
	}
	var store Store = s
	if _, ok := store.(Revoker); ok {
		t.Error("the cookie store is a Revoker; it cannot delete the sessions it does not keep")
	}
}

func TestCookieStoreRotation(t *testing.T) {
	v, err := newCookieStore(t, secretA).Put(ctx, Session{UID: "u", Expires: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newCookieStore(t, secretB, secretA).Get(ctx, v); err != nil {
		t.Errorf("rotated store: Get(old cookie) = %v; want the session", err)
	}
	if _, err := newCookieStore(t, secretB).Get(ctx, v); !errors.Is(err, ErrNotFound) {
		t.Errorf("store without the old secret: Get = %v; want ErrNotFound", err)
	}
}

func TestCookieOptionsValidate(t *testing.T) {
	valid := CookieOptions{Settings: Settings{Deployment: testDeployment, Secrets: [][]byte{secretA}, CookieName: "_rezigate", MaxAge: time.Hour}}
	tests := []struct {
		name   string
		mod    func(*CookieOptions)
		fields []string
	}{
		{"valid", func(*CookieOptions) {}, nil},
		{"defaults", func(o *CookieOptions) { o.Settings.CookieName, o.Settings.MaxAge = "", 0 }, nil},
		{"no secrets", func(o *CookieOptions) { o.Settings.Secrets = nil }, []string{"Settings.Secrets"}},
		{"short second secret", func(o *CookieOptions) { o.Settings.Secrets = [][]byte{secretA, []byte("x")} }, []string{"Settings.Secrets[1]"}},
		{"host prefix name", func(o *CookieOptions) { o.Settings.CookieName = "__Host-_rezigate" }, []string{"Settings.CookieName"}},
		{"name with space", func(o *CookieOptions) { o.Settings.CookieName = "a b" }, []string{"Settings.CookieName"}},
		{"name with =", func(o *CookieOptions) { o.Settings.CookieName = "a=b" }, []string{"Settings.CookieName"}},
		{"long name", func(o *CookieOptions) { o.Settings.CookieName = strings.Repeat("n", 65) }, []string{"Settings.CookieName"}},
		{"negative max age", func(o *CookieOptions) { o.Settings.MaxAge = -1 }, []string{"Settings.MaxAge"}},
		{"no deployment", func(o *CookieOptions) { o.Settings.Deployment = "" }, []string{"Settings.Deployment"}},
		{"empty group kept", func(o *CookieOptions) { o.KeepGroups = []string{"a", ""} }, []string{"KeepGroups[1]"}},
		{"all wrong", func(o *CookieOptions) { *o = CookieOptions{} }, []string{"Settings.Deployment", "Settings.Secrets"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := valid
			tc.mod(&o)
			err := o.Validate()
			var got []string
			for _, fe := range optionerr.Fields(err) {
				got = append(got, fe.Field)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.fields) {
				t.Errorf("Validate() = %v; want errors for %v", err, tc.fields)
			}
			if _, nerr := NewCookieStore(o); (nerr == nil) != (tc.fields == nil) {
				t.Errorf("NewCookieStore = %v; want an error exactly when Validate fails", nerr)
			}
		})
	}
}

func TestCookieOptionsRedacted(t *testing.T) {
	secret := []byte(strings.Repeat("Z", 40))
	o := CookieOptions{Settings: Settings{Deployment: testDeployment, Secrets: [][]byte{secret}, MaxAge: time.Hour}}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("opts", "o", o)
	s, _ := NewCookieStore(o)
	for _, out := range []string{fmt.Sprintf("%v", o), fmt.Sprintf("%+v", o), fmt.Sprintf("%#v", o), logged.String(), fmt.Sprint(s),
		fmt.Sprintf("%+v", o.Settings), fmt.Sprintf("%#v", s.Settings())} {
		if strings.Contains(out, string(secret)) || strings.Contains(out, "90, 90") {
			t.Errorf("prints as %s; the secret shows", out)
		}
	}
}

func TestHashSID(t *testing.T) {
	if HashSID("") != "" {
		t.Error(`HashSID("") != ""`)
	}
	a, b := HashSID("sid-1"), HashSID("sid-2")
	if a == b || len(a) != 64 || strings.Contains(a, "sid-1") || a != HashSID("sid-1") {
		t.Errorf("HashSID = %q, %q; want distinct, stable 64-hex-digit hashes", a, b)
	}
}

// FuzzCookieGet: arbitrary cookie values never panic, and the only session
// that ever opens is the one sealed in the seed.
func FuzzCookieGet(f *testing.F) {
	s := newCookieStore(f, secretA)
	good, err := s.Put(ctx, Session{UID: "u", Email: "a@example.com", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("")
	f.Add(good[:len(good)-3])
	f.Fuzz(func(t *testing.T, v string) {
		if got, err := s.Get(ctx, v); err == nil && (got.UID != "u" || got.Email != "a@example.com") {
			t.Fatalf("Get(%q) = %+v", v, got)
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(%q) = %v; want ErrNotFound", v, err)
		}
	})
}

// BenchmarkCookieGet is a signed-in request's session lookup with the
// cookie store: open and verify the sealed cookie.
func BenchmarkCookieGet(b *testing.B) {
	s := newCookieStore(b, secretA)
	v, err := s.Put(ctx, Session{UID: strings.Repeat("f", 64), Email: "alice@example.com", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, v); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCookieStoreIDTokenSize measures the session cookie that keeps an ID
// token for the id_token_hint of sign-out: with tokens the size of real
// RS256 ID tokens (900 to 1,400 bytes for most providers, up to about
// 2 KB for Entra ID), the whole cookie (name=value, what browsers limit to
// 4096 bytes) stays under 4096 bytes and keeps the token; a token too
// large for any cookie, or one beside groups that leave it no room, is
// dropped and the session kept.
func TestCookieStoreIDTokenSize(t *testing.T) {
	named := make([]string, 20)
	for i := range named {
		named[i] = fmt.Sprintf("rms-team-%02d", i)
	}
	var crowded []string // groups that fill most of a cookie
	for i := range 80 {
		crowded = append(crowded, fmt.Sprintf("a-long-group-name-%03d", i))
	}
	tests := []struct {
		name      string
		token     int // bytes
		groups    []string
		keepToken bool
	}{
		{"1,250-byte token", 0, nil, true},
		{"1,400-byte token", 1400, nil, true},
		{"2 KB token", 2048, nil, true}, // the contract: under 4096 with the token kept
		{"2 KB token and 20 kept groups", 2048, named, true},
		{"3 KB token", 3072, nil, true},
		{"6 KB token", 6144, nil, false},
		{"10 KB token", 10 << 10, nil, false},
		{"2 KB token beside 80 kept groups", 2048, crowded, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewCookieStore(CookieOptions{Settings: Settings{Deployment: testDeployment, Secrets: [][]byte{secretA}, MaxAge: 8 * time.Hour}, KeepGroups: tc.groups})
			if err != nil {
				t.Fatal(err)
			}
			tok := idtoken.Entra(1, tc.token)
			in := Session{UID: strings.Repeat("f", 64), Email: "alice.longname@contoso.example", Expires: time.Now().Add(8 * time.Hour), Groups: tc.groups, IDToken: tok}
			v, err := s.Put(ctx, in)
			if err != nil {
				t.Fatalf("Put(%d-byte token) = %v", len(tok), err)
			}
			header := testCookie + "=" + v
			t.Logf("%d-byte ID token, %d kept groups: cookie %d bytes (name=value)", len(tok), len(tc.groups), len(header))
			if len(header) > 4096 {
				t.Errorf("cookie with a %d-byte ID token is %d bytes; want at most 4096", len(tok), len(header))
			}
			got, err := s.Get(ctx, v)
			if err != nil || len(got.Groups) != len(tc.groups) {
				t.Fatalf("Get = %+v, %v; want the session with its %d groups", got, err, len(tc.groups))
			}
			if kept := got.IDToken == tok; kept != tc.keepToken || (!kept && got.IDToken != "") {
				t.Errorf("Get kept the ID token: %v (len %d); want %v", kept, len(got.IDToken), tc.keepToken)
			}
		})
	}
}
