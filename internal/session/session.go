// Package session encodes rezigate's cookies: the signed-in session and the
// per-attempt sign-in state.
//
// Cookies are sealed with github.com/gorilla/securecookie (AES-256-CTR, then
// HMAC-SHA256 over name, timestamp and ciphertext), with keys derived from
// each configured secret, so a cookie can be neither read nor forged, nor
// moved from one cookie name to another. The first secret seals new
// cookies; every secret opens them, which allows rotation. A Codec made
// by NewBoundCodec derives its keys from the deployment too, so that two
// deployments sharing secrets do not open each other's cookies.
//
// The plaintext is a compact, versioned binary encoding instead of gob:
// a session is a version byte, the expiry and two short strings, so the
// cookie stays far below browser limits and decoding does no reflection.
// A session with groups uses a second version that appends them as a
// count and length-prefixed names; a session without groups is still
// written in the first version, and both versions open.
//
// A session that keeps the provider's ID token (for the id_token_hint of
// RP-initiated logout) uses a third version: the fields, the groups, then
// the token in its smallest form. An ID token is a JWS in compact form,
// three base64url segments; it is kept as the DEFLATE of the three decoded
// segments, which is what lets a 2 KB token fit in a cookie beside the
// identity: base64url grows the bytes by a third and the cookie's own
// sealing grows them by nearly four fifths again. A token that is not a
// canonical compact JWS is kept as it came. Inflating stops at
// maxIDToken bytes, so even a sealed payload (which only a holder of the
// secrets can make) cannot make Deserialize allocate much.
package session

import (
	"bytes"
	"compress/flate"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/rezigate/rezigate/optionerr"
)

// MinSecretLen is the shortest secret accepted, in bytes.
const MinSecretLen = 32

// CheckSecret returns what is wrong with one secret, or "": it must be at
// least MinSecretLen bytes. The message never includes the secret.
func CheckSecret(secret []byte) string {
	if len(secret) < MinSecretLen {
		return fmt.Sprintf("must be at least %d bytes, got %d", MinSecretLen, len(secret))
	}
	return ""
}

// CheckSecrets returns one *optionerr.Error of package pkg for each
// problem with the list of secrets in field: none given ("field:
// required: …"), or one that CheckSecret refuses ("field[i]: …"). It is
// the rule of every option that holds session secrets.
func CheckSecrets(pkg, field string, secrets [][]byte) []error {
	if len(secrets) == 0 {
		return []error{optionerr.New(pkg, field, "required: at least one secret of %d bytes or more", MinSecretLen)}
	}
	var errs []error
	for i, s := range secrets {
		if msg := CheckSecret(s); msg != "" {
			errs = append(errs, optionerr.New(pkg, field+"["+strconv.Itoa(i)+"]", "%s", msg))
		}
	}
	return errs
}

// ErrInvalid means a cookie could not be opened: tampered, sealed with a
// secret no longer configured, expired, or not a cookie of this kind.
// Callers treat it as "not signed in".
var ErrInvalid = errors.New("session: invalid cookie")

// ErrTooLong means a value sealed as a cookie would pass the length
// browsers keep (4096 bytes): a session with too many groups.
var ErrTooLong = errors.New("session: cookie too long")

// Session is what a signed-in browser carries: nothing but the identity
// and when it ends. The provider's tokens are deliberately absent.
type Session struct {
	Email   string
	UID     string
	Expires time.Time
	// Groups are the user's groups kept in the cookie (the caller chooses
	// which); nil means none. Empty names are not allowed.
	Groups []string
	// IDToken is the provider's raw ID token, kept for the id_token_hint
	// of RP-initiated logout; empty means none. At most maxIDToken bytes.
	IDToken string
}

// State is one sign-in attempt in flight, kept in a short-lived cookie so
// any replica can finish the flow.
type State struct {
	Nonce    string
	Verifier string
	Redirect string
	Created  time.Time
}

// Codec seals and opens cookies. It is safe for concurrent use.
type Codec struct {
	codecs []securecookie.Codec
}

// NewCodec returns a Codec for cookies valid for at most maxAge. secrets
// must hold at least one secret of MinSecretLen bytes or more; the first
// seals new cookies.
func NewCodec(secrets [][]byte, maxAge time.Duration) (*Codec, error) {
	return newCodec(secrets, maxAge, "rezigate cookie mac v1", "rezigate cookie enc v1")
}

// NewBoundCodec is NewCodec for cookies bound to one deployment: their
// keys are derived from each secret and from deployment (rezigate passes
// its public URL), so a cookie sealed by another deployment that shares
// the secrets does not open here. deployment must not be empty.
func NewBoundCodec(secrets [][]byte, maxAge time.Duration, deployment string) (*Codec, error) {
	if deployment == "" {
		return nil, errors.New("session: deployment is required")
	}
	return newCodec(secrets, maxAge, "rezigate cookie mac v2\x00"+deployment, "rezigate cookie enc v2\x00"+deployment)
}

func newCodec(secrets [][]byte, maxAge time.Duration, macLabel, encLabel string) (*Codec, error) {
	if errs := CheckSecrets("session", "secrets", secrets); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if maxAge <= 0 {
		return nil, errors.New("session: max age must be positive")
	}
	c := &Codec{}
	for _, s := range secrets {
		sc := securecookie.New(derive(s, macLabel), derive(s, encLabel))
		sc.SetSerializer(serializer{})
		sc.MaxAge(int(maxAge.Seconds()) + 1)
		sc.MaxLength(4096)
		c.codecs = append(c.codecs, sc)
	}
	return c, nil
}

// derive gives separate MAC and encryption keys per secret, so one secret
// never keys two primitives.
func derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Encode seals v, a *Session or *State, for the cookie called name.
func (c *Codec) Encode(name string, v any) (string, error) {
	s, err := c.codecs[0].Encode(name, v)
	if err != nil {
		// securecookie's own length error is unexported; its text is the
		// only way to tell it from a serialisation failure.
		if strings.Contains(err.Error(), "the value is too long") {
			return "", ErrTooLong
		}
		return "", fmt.Errorf("session: encode: %w", err)
	}
	return s, nil
}

// Decode opens value, read from the cookie called name, into dst, a
// *Session or *State. Every failure is ErrInvalid.
func (c *Codec) Decode(name, value string, dst any) error {
	for _, sc := range c.codecs {
		if sc.Decode(name, value, dst) == nil {
			return nil
		}
	}
	return ErrInvalid
}

const (
	kindSession byte = 1
	kindState   byte = 2
	// kindSessionGroups is a session followed by its groups.
	kindSessionGroups byte = 3
	// kindSessionToken is a session followed by its groups (a count,
	// maybe 0) and its ID token (see appendIDToken).
	kindSessionToken byte = 4
)

// The forms of an ID token in a kindSessionToken payload: a form byte,
// then a length-prefixed body.
const (
	// tokenRaw is the token as it came.
	tokenRaw byte = 0
	// tokenJWS is DEFLATE of the three base64url-decoded segments of a
	// compact JWS, each length-prefixed.
	tokenJWS byte = 1
)

// maxIDToken bounds the ID token a cookie keeps, and what inflating one
// may produce.
const maxIDToken = 16 << 10

// maxCookieGroups bounds the group count a cookie may claim, so a
// malformed count cannot make Deserialize allocate much.
const maxCookieGroups = 1000

// serializer is the compact encoding: a kind byte, a unix time in seconds
// as a varint, then length-prefixed strings.
type serializer struct{}

func (serializer) Serialize(src any) ([]byte, error) {
	switch v := src.(type) {
	case *Session:
		if len(v.Groups) == 0 && v.IDToken == "" {
			return appendFields(kindSession, v.Expires, v.Email, v.UID), nil
		}
		if len(v.Groups) > maxCookieGroups {
			return nil, fmt.Errorf("session: more than %d groups", maxCookieGroups)
		}
		if len(v.IDToken) > maxIDToken {
			return nil, fmt.Errorf("session: ID token longer than %d bytes", maxIDToken)
		}
		kind := kindSessionGroups
		if v.IDToken != "" {
			kind = kindSessionToken
		}
		b := appendFields(kind, v.Expires, v.Email, v.UID)
		b = binary.AppendUvarint(b, uint64(len(v.Groups)))
		for _, g := range v.Groups {
			if g == "" {
				return nil, errors.New("session: empty group name")
			}
			b = binary.AppendUvarint(b, uint64(len(g)))
			b = append(b, g...)
		}
		if kind == kindSessionToken {
			return appendIDToken(b, v.IDToken)
		}
		return b, nil
	case *State:
		return appendFields(kindState, v.Created, v.Nonce, v.Verifier, v.Redirect), nil
	}
	return nil, fmt.Errorf("session: cannot encode %T", src)
}

func appendFields(kind byte, t time.Time, fields ...string) []byte {
	n := 1 + binary.MaxVarintLen64
	for _, f := range fields {
		n += binary.MaxVarintLen64 + len(f)
	}
	b := make([]byte, 0, n)
	b = append(b, kind)
	b = binary.AppendVarint(b, t.Unix())
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

func (serializer) Deserialize(src []byte, dst any) error {
	switch v := dst.(type) {
	case *Session:
		if len(src) > 0 && (src[0] == kindSessionGroups || src[0] == kindSessionToken) {
			return deserializeGroups(src, v)
		}
		f, t, _, err := readFields(src, kindSession, 2)
		if err != nil {
			return err
		}
		*v = Session{Email: f[0], UID: f[1], Expires: t}
		return nil
	case *State:
		f, t, _, err := readFields(src, kindState, 3)
		if err != nil {
			return err
		}
		*v = State{Nonce: f[0], Verifier: f[1], Redirect: f[2], Created: t}
		return nil
	}
	return fmt.Errorf("session: cannot decode into %T", dst)
}

var errMalformed = errors.New("session: malformed cookie payload")

// deserializeGroups reads a kindSessionGroups or kindSessionToken
// payload into v.
func deserializeGroups(src []byte, v *Session) error {
	kind := src[0]
	f, t, rest, err := readFields(src, kind, 2)
	if err != nil {
		return err
	}
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > maxCookieGroups || n > uint64(len(rest)-k) {
		return errMalformed
	}
	rest = rest[k:]
	var groups []string
	if n > 0 {
		groups = make([]string, n)
	}
	for i := range groups {
		l, k := binary.Uvarint(rest)
		if k <= 0 || l == 0 || l > uint64(len(rest)-k) {
			return errMalformed
		}
		groups[i] = string(rest[k : k+int(l)])
		rest = rest[k+int(l):]
	}
	var tok string
	if kind == kindSessionToken {
		if tok, rest, err = readIDToken(rest); err != nil {
			return err
		}
	}
	if len(rest) != 0 {
		return errMalformed
	}
	*v = Session{Email: f[0], UID: f[1], Expires: t, Groups: groups, IDToken: tok}
	return nil
}

var jwsEncoding = base64.RawURLEncoding.Strict()

// appendIDToken appends tok, not empty, in its smallest form: tokenJWS
// when tok is a compact JWS whose segments decode and encode back to tok
// exactly, else tokenRaw.
func appendIDToken(b []byte, tok string) ([]byte, error) {
	if z, ok := deflateJWS(tok); ok {
		b = append(b, tokenJWS)
		b = binary.AppendUvarint(b, uint64(len(z)))
		return append(b, z...), nil
	}
	b = append(b, tokenRaw)
	b = binary.AppendUvarint(b, uint64(len(tok)))
	return append(b, tok...), nil
}

var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestCompression)
	return w
}}

func deflateJWS(tok string) ([]byte, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	var plain []byte
	for _, p := range parts {
		d, err := jwsEncoding.DecodeString(p)
		// The decoder skips line breaks; only a canonical segment comes
		// back as it was.
		if err != nil || jwsEncoding.EncodeToString(d) != p {
			return nil, false
		}
		plain = binary.AppendUvarint(plain, uint64(len(d)))
		plain = append(plain, d...)
	}
	var z bytes.Buffer
	w := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(w)
	w.Reset(&z)
	if _, err := w.Write(plain); err != nil {
		return nil, false
	}
	if err := w.Close(); err != nil {
		return nil, false
	}
	return z.Bytes(), true
}

// readIDToken reads a token written by appendIDToken from b and returns
// what follows it. A token must not be empty.
func readIDToken(b []byte) (tok string, rest []byte, err error) {
	if len(b) == 0 {
		return "", nil, errMalformed
	}
	form := b[0]
	l, k := binary.Uvarint(b[1:])
	if k <= 0 || l == 0 || l > uint64(len(b)-1-k) {
		return "", nil, errMalformed
	}
	body, rest := b[1+k:1+k+int(l)], b[1+k+int(l):]
	switch form {
	case tokenRaw:
		if len(body) > maxIDToken {
			return "", nil, errMalformed
		}
		return string(body), rest, nil
	case tokenJWS:
		tok, ok := inflateJWS(body)
		if !ok {
			return "", nil, errMalformed
		}
		return tok, rest, nil
	}
	return "", nil, errMalformed
}

func inflateJWS(z []byte) (string, bool) {
	r := flate.NewReader(bytes.NewReader(z))
	defer r.Close()
	plain, err := io.ReadAll(io.LimitReader(r, maxIDToken+1))
	if err != nil || len(plain) > maxIDToken {
		return "", false
	}
	var sb strings.Builder
	for i := range 3 {
		l, k := binary.Uvarint(plain)
		if k <= 0 || l > uint64(len(plain)-k) {
			return "", false
		}
		if i > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(jwsEncoding.EncodeToString(plain[k : k+int(l)]))
		plain = plain[k+int(l):]
	}
	if len(plain) != 0 || sb.Len() > maxIDToken {
		return "", false
	}
	return sb.String(), true
}

// readFields reads the kind byte, the time and n strings from b; rest is
// what follows them, which must be empty unless the kind has more.
func readFields(b []byte, kind byte, n int) (out []string, t time.Time, rest []byte, err error) {
	if len(b) == 0 || b[0] != kind {
		return nil, time.Time{}, nil, errMalformed
	}
	b = b[1:]
	sec, k := binary.Varint(b)
	if k <= 0 {
		return nil, time.Time{}, nil, errMalformed
	}
	b = b[k:]
	out = make([]string, n)
	for i := range out {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, time.Time{}, nil, errMalformed
		}
		out[i] = string(b[k : k+int(l)])
		b = b[k+int(l):]
	}
	if len(b) != 0 && kind != kindSessionGroups && kind != kindSessionToken {
		return nil, time.Time{}, nil, errMalformed
	}
	return out, time.Unix(sec, 0), b, nil
}
