package session

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/testsupport/idtoken"
)

var (
	secretA = bytes.Repeat([]byte("a"), 32)
	secretB = bytes.Repeat([]byte("b"), 32)
)

func mustCodec(t testing.TB, secrets ...[]byte) *Codec {
	t.Helper()
	c, err := NewCodec(secrets, time.Hour)
	if err != nil {
		t.Fatalf("NewCodec: %v", err)
	}
	return c
}

func TestRoundTrip(t *testing.T) {
	c := mustCodec(t, secretA)
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	in := Session{Email: "alice@example.com", UID: strings.Repeat("f", 64), Expires: exp}
	v, err := c.Encode("_rezigate", &in)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) > 400 {
		t.Errorf("session cookie is %d bytes; want it well under 1 KB", len(v))
	}
	var out Session
	if err := c.Decode("_rezigate", v, &out); err != nil {
		t.Fatalf("Decode = %v", err)
	}
	if out.Email != in.Email || out.UID != in.UID || !out.Expires.Equal(in.Expires) {
		t.Errorf("Decode = %+v; want %+v", out, in)
	}
	st := State{Nonce: "n", Verifier: "v", Redirect: "/rezi?x=1", Created: exp}
	v, err = c.Encode("_rezigate_s_x", &st)
	if err != nil {
		t.Fatal(err)
	}
	var gotSt State
	if err := c.Decode("_rezigate_s_x", v, &gotSt); err != nil || gotSt != st {
		t.Errorf("Decode(state) = %+v, %v; want %+v", gotSt, err, st)
	}
}

func TestDecodeRejects(t *testing.T) {
	a := mustCodec(t, secretA)
	good, err := a.Encode("_rezigate", &Session{Email: "a@example.com", UID: "u", Expires: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(good)
	flipped[len(flipped)/2] ^= 1
	stateVal, _ := a.Encode("_rezigate", &State{Nonce: "n"})
	tests := []struct {
		name   string
		codec  *Codec
		cookie string
		value  string
	}{
		{"tampered", a, "_rezigate", string(flipped)},
		{"other secret", mustCodec(t, secretB), "_rezigate", good},
		{"other cookie name", a, "_other", good},
		{"empty", a, "_rezigate", ""},
		{"garbage", a, "_rezigate", "not-a-cookie"},
		{"state in session slot", a, "_rezigate", stateVal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s Session
			if err := tc.codec.Decode(tc.cookie, tc.value, &s); !errors.Is(err, ErrInvalid) {
				t.Errorf("Decode = %v; want ErrInvalid", err)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	old := mustCodec(t, secretA)
	v, _ := old.Encode("_rezigate", &Session{Email: "a@example.com", UID: "u", Expires: time.Now()})
	var s Session
	if err := mustCodec(t, secretB, secretA).Decode("_rezigate", v, &s); err != nil {
		t.Errorf("cookie sealed with the second secret: Decode = %v; want nil", err)
	}
	if err := mustCodec(t, secretB).Decode("_rezigate", v, &s); !errors.Is(err, ErrInvalid) {
		t.Errorf("cookie sealed with a removed secret: Decode = %v; want ErrInvalid", err)
	}
}

func TestNewCodecRejects(t *testing.T) {
	tests := []struct {
		name    string
		secrets [][]byte
		maxAge  time.Duration
	}{
		{"no secrets", nil, time.Hour},
		{"short secret", [][]byte{[]byte("short")}, time.Hour},
		{"second short", [][]byte{secretA, []byte("x")}, time.Hour},
		{"zero max age", [][]byte{secretA}, 0},
	}
	for _, tc := range tests {
		if _, err := NewCodec(tc.secrets, tc.maxAge); err == nil {
			t.Errorf("%s: NewCodec = nil error; want an error", tc.name)
		} else if strings.Contains(err.Error(), "short") && tc.name != "short secret" && tc.name != "second short" {
			t.Errorf("%s: error %q", tc.name, err)
		}
	}
}

// FuzzDecode: arbitrary cookie values never panic and never authenticate.
func FuzzDecode(f *testing.F) {
	c := mustCodec(f, secretA)
	want := Session{Email: "a@example.com", UID: "u", Expires: time.Now().Truncate(time.Second)}
	good, _ := c.Encode("_rezigate", &want)
	f.Add(good)
	f.Add("")
	f.Add("MTcwMDAwMDAwMHx8")
	f.Add(good[:len(good)-3])
	f.Fuzz(func(t *testing.T, v string) {
		var s Session
		// Only a cookie sealed by Encode opens, so the one identity a
		// fuzzer can ever see decoded is the one sealed in the seed.
		if err := c.Decode("_rezigate", v, &s); err == nil && (s.Email != want.Email || s.UID != want.UID) {
			t.Fatalf("Decode(%q) authenticated as %+v", v, s)
		}
	})
}

// FuzzDeserialize: the plaintext parser never panics on any bytes and
// round-trips what it accepts.
func FuzzDeserialize(f *testing.F) {
	f.Add(appendFields(kindSession, time.Unix(1700000000, 0), "a@example.com", "uid"))
	f.Add(appendFields(kindState, time.Unix(1, 0), "n", "v", "/"))
	f.Add([]byte{1, 0, 200})
	withGroups, _ := serializer{}.Serialize(&Session{Email: "a@example.com", UID: "uid", Expires: time.Unix(1700000000, 0), Groups: []string{"g1", "rms-admins"}})
	f.Add(withGroups)
	f.Add([]byte{3, 0, 0, 0, 0})
	f.Add([]byte{3, 0, 0, 0, 255, 255, 255, 255, 15})
	for _, tok := range []string{"opaque", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"} {
		b, _ := serializer{}.Serialize(&Session{UID: "uid", Expires: time.Unix(1700000000, 0), Groups: []string{"g"}, IDToken: tok})
		f.Add(b)
	}
	f.Add([]byte{4, 0, 0, 0, 0, 1, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Session
		if (serializer{}).Deserialize(b, &s) == nil {
			again, _ := serializer{}.Serialize(&s)
			var s2 Session
			if err := (serializer{}).Deserialize(again, &s2); err != nil || !reflect.DeepEqual(s2, s) {
				t.Fatalf("Deserialize(%x) = %+v; its re-encoding decodes as %+v, %v", b, s, s2, err)
			}
		}
		var st State
		_ = serializer{}.Deserialize(b, &st)
	})
}

func BenchmarkDecode(b *testing.B) {
	c := mustCodec(b, secretA)
	v, _ := c.Encode("_rezigate", &Session{Email: "alice@example.com", UID: strings.Repeat("f", 64), Expires: time.Now().Add(time.Hour)})
	b.ReportAllocs()
	for b.Loop() {
		var s Session
		if err := c.Decode("_rezigate", v, &s); err != nil {
			b.Fatal(err)
		}
	}
}

// A session with groups round-trips in the second version; one without
// is written in the first version exactly as before, and payloads of the
// first version (cookies sealed before groups existed) still open.
func TestGroupsVersion(t *testing.T) {
	exp := time.Unix(1700000000, 0)
	// The first version's payload for {a@example.com, uid, exp}, as
	// written before groups existed.
	v1, _ := hex.DecodeString("0180c49fd50c0d61406578616d706c652e636f6d03756964")
	var old Session
	if err := (serializer{}).Deserialize(v1, &old); err != nil || old.Email != "a@example.com" || old.UID != "uid" || !old.Expires.Equal(exp) || old.Groups != nil {
		t.Errorf("Deserialize(v1) = %+v, %v; want the session without groups", old, err)
	}
	again, _ := serializer{}.Serialize(&Session{Email: "a@example.com", UID: "uid", Expires: exp})
	if !bytes.Equal(again, v1) {
		t.Errorf("Serialize(no groups) = %x; want the first version %x", again, v1)
	}

	c := mustCodec(t, secretA)
	tests := []struct {
		name   string
		groups []string
	}{
		{"one", []string{"rms-admins"}},
		{"several", []string{"b", "a", "Équipe ünicode"}},
		{"none", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Session{Email: "alice@example.com", UID: strings.Repeat("f", 64), Expires: time.Now().Add(time.Hour).Truncate(time.Second), Groups: tc.groups}
			v, err := c.Encode("_rezigate", &in)
			if err != nil {
				t.Fatal(err)
			}
			var out Session
			if err := c.Decode("_rezigate", v, &out); err != nil || !reflect.DeepEqual(out, in) {
				t.Errorf("Decode = %+v, %v; want %+v", out, err, in)
			}
		})
	}
	for _, bad := range []*Session{{UID: "u", Groups: []string{""}}, {UID: "u", Groups: make([]string, maxCookieGroups+1)}} {
		if _, err := (serializer{}).Serialize(bad); err == nil {
			t.Errorf("Serialize(%d groups, first %q) = nil error; want an error", len(bad.Groups), bad.Groups[0])
		}
	}
}

// TestIDTokenVersion: a session with an ID token opens with the very
// token, kept compressed when it is a canonical compact JWS and as it came
// otherwise; a session without one is written as before.
func TestIDTokenVersion(t *testing.T) {
	jws := idtoken.Entra(1, 2048)
	tests := []struct {
		name   string
		tok    string
		groups []string
		form   byte
	}{
		{"JWS", jws, nil, tokenJWS},
		{"JWS with groups", jws, []string{"staff", "rms-admins"}, tokenJWS},
		{"not a JWS", "opaque-token", nil, tokenRaw},
		{"four segments", "a.b.c.d", nil, tokenRaw},
		{"segment not canonical", "eyJhbGciOiJSUzI1NiJ9.e31.c2ln", nil, tokenRaw},
		{"line break in a segment", "eyJhbGciOiJS\nUzI1NiJ9.e30.c2ln", nil, tokenRaw},
		{"padded segment", "eyJhbGciOiJSUzI1NiJ9.e30=.c2ln", nil, tokenRaw},
	}
	c := mustCodec(t, secretA)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Session{Email: "alice@example.com", UID: strings.Repeat("f", 64), Expires: time.Now().Add(time.Hour).Truncate(time.Second), Groups: tc.groups, IDToken: tc.tok}
			b, err := serializer{}.Serialize(&in)
			if err != nil {
				t.Fatal(err)
			}
			if b[0] != kindSessionToken {
				t.Errorf("Serialize kind = %d; want %d", b[0], kindSessionToken)
			}
			if form := b[len(appendFields(kindSessionToken, in.Expires, in.Email, in.UID))+1+len(strings.Join(tc.groups, ""))+len(tc.groups)]; form != tc.form {
				t.Errorf("token form = %d; want %d", form, tc.form)
			}
			v, err := c.Encode("_rezigate", &in)
			if err != nil {
				t.Fatal(err)
			}
			var out Session
			if err := c.Decode("_rezigate", v, &out); err != nil || !reflect.DeepEqual(out, in) {
				t.Errorf("Decode = %+v, %v; want %+v", out, err, in)
			}
		})
	}
	if _, err := (serializer{}).Serialize(&Session{UID: "u", IDToken: strings.Repeat("x", maxIDToken+1)}); err == nil {
		t.Errorf("Serialize(token of %d bytes) = nil error; want an error", maxIDToken+1)
	}
	// A payload that inflates past maxIDToken is refused, not read.
	plain := binary.AppendUvarint(nil, maxIDToken)
	plain = append(plain, make([]byte, maxIDToken)...)
	plain = append(plain, 0, 0)
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestCompression)
	w.Write(plain)
	w.Close()
	bomb := appendFields(kindSessionToken, time.Unix(1, 0), "e", "u")
	bomb = append(bomb, 0, tokenJWS)
	bomb = binary.AppendUvarint(bomb, uint64(z.Len()))
	bomb = append(bomb, z.Bytes()...)
	var s Session
	if err := (serializer{}).Deserialize(bomb, &s); err == nil {
		t.Errorf("Deserialize(token inflating to %d bytes) = %+v; want an error", len(plain), s)
	}
}

// A user in 200 groups, of which the cookie keeps the 20 the policy
// names, still has a cookie well under 1 KB.
func TestGroupsCookieSize(t *testing.T) {
	c := mustCodec(t, secretA)
	groups := make([]string, 20)
	for i := range groups {
		groups[i] = fmt.Sprintf("rms-team-%02d", i)
	}
	v, err := c.Encode("__Host-_rezigate", &Session{Email: "alice.longname@example.com", UID: strings.Repeat("f", 64), Expires: time.Now().Add(8 * time.Hour), Groups: groups})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("session cookie with 20 groups of 11 bytes: %d bytes", len(v))
	if len(v) > 768 {
		t.Errorf("session cookie with 20 groups is %d bytes; want at most 800", len(v))
	}
}

// TestBoundCodec: a codec bound to a deployment opens its own cookies
// only: not those of another deployment with the same secrets, nor those
// of an unbound codec, and the other way round.
func TestBoundCodec(t *testing.T) {
	secrets := [][]byte{[]byte(strings.Repeat("s", MinSecretLen))}
	a, err := NewBoundCodec(secrets, time.Hour, "https://a.example.com")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewBoundCodec(secrets, time.Hour, "https://b.example.com")
	unbound, _ := NewCodec(secrets, time.Hour)
	in := &Session{Email: "a@example.com", UID: "u", Expires: time.Now().Add(time.Hour)}
	for _, tc := range []struct {
		name       string
		seal, open *Codec
		want       error
	}{
		{"same deployment", a, a, nil},
		{"other deployment", a, b, ErrInvalid},
		{"bound, opened unbound", a, unbound, ErrInvalid},
		{"unbound, opened bound", unbound, a, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.seal.Encode("_rezigate", in)
			if err != nil {
				t.Fatal(err)
			}
			var out Session
			if err := tc.open.Decode("_rezigate", v, &out); !errors.Is(err, tc.want) {
				t.Errorf("Decode = %v; want %v", err, tc.want)
			}
		})
	}
	if _, err := NewBoundCodec(secrets, time.Hour, ""); err == nil {
		t.Error("NewBoundCodec(deployment \"\") = nil error; want one")
	}
}

// TestCheckSecrets: the one rule for session secrets, which the cookie
// and Redis stores, the middleware and NewCodec all apply.
func TestCheckSecrets(t *testing.T) {
	long := bytes.Repeat([]byte("k"), MinSecretLen)
	tests := []struct {
		name    string
		secrets [][]byte
		want    []string
	}{
		{"one", [][]byte{long}, nil},
		{"two", [][]byte{long, long}, nil},
		{"none", nil, []string{"p: S: required: at least one secret of 32 bytes or more"}},
		{"empty list", [][]byte{}, []string{"p: S: required: at least one secret of 32 bytes or more"}},
		{"short second", [][]byte{long, long[:31]}, []string{"p: S[1]: must be at least 32 bytes, got 31"}},
		{"two short", [][]byte{nil, []byte("x")}, []string{"p: S[0]: must be at least 32 bytes, got 0", "p: S[1]: must be at least 32 bytes, got 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, err := range CheckSecrets("p", "S", tc.secrets) {
				got = append(got, err.Error())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("CheckSecrets(%d secrets) = %q; want %q", len(tc.secrets), got, tc.want)
			}
		})
	}
	if _, err := NewCodec(nil, time.Hour); err == nil || !strings.Contains(err.Error(), "secrets: required") {
		t.Errorf("NewCodec(no secrets) = %v; want the CheckSecrets error", err)
	}
}
