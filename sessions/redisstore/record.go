package redisstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/rezigate/rezigate/sessions"
)

// The plaintext of a session value (before encryption) is a version byte,
// three times as varint Unix milliseconds (0 for the zero time), then
// length-prefixed UID, Email, SIDHash and RefreshToken, then a count of
// groups and each group length-prefixed; version 2 appends the
// length-prefixed IDToken. It is compact, and decoding does no
// reflection. A session without an ID token is still written in version
// 1, and both versions are read, so sessions stored before the ID token
// was kept stay valid (their sign-out goes without id_token_hint).
const (
	recordVersion        = 1
	recordVersionIDToken = 2
)

const (
	maxRecordLen = 64 << 10
	maxGroups    = 1024
)

var errMalformed = errors.New("redisstore: malformed session record")

func encodeRecord(s *sessions.Session) ([]byte, error) {
	n := 1 + 3*binary.MaxVarintLen64 + binary.MaxVarintLen64
	fields := [...]string{s.UID, s.Email, s.SIDHash, s.RefreshToken}
	for _, f := range fields {
		n += binary.MaxVarintLen64 + len(f)
	}
	for _, g := range s.Groups {
		n += binary.MaxVarintLen64 + len(g)
	}
	if n > maxRecordLen || len(s.Groups) > maxGroups {
		return nil, fmt.Errorf("redisstore: %w", sessions.ErrTooLarge)
	}
	if s.IDToken != "" {
		n += binary.MaxVarintLen64 + len(s.IDToken)
		if n > maxRecordLen {
			return nil, fmt.Errorf("redisstore: %w", sessions.ErrTooLarge)
		}
	}
	b := make([]byte, 0, n)
	if s.IDToken == "" {
		b = append(b, recordVersion)
	} else {
		b = append(b, recordVersionIDToken)
	}
	for _, t := range [...]time.Time{s.Expires, s.CheckedAt, s.CheckDue} {
		b = binary.AppendVarint(b, unixMilli(t))
	}
	for _, f := range fields {
		b = appendString(b, f)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Groups)))
	for _, g := range s.Groups {
		b = appendString(b, g)
	}
	if s.IDToken != "" {
		b = appendString(b, s.IDToken)
	}
	return b, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromUnixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func decodeRecord(b []byte) (sessions.Session, error) {
	var s sessions.Session
	if len(b) == 0 || len(b) > maxRecordLen || (b[0] != recordVersion && b[0] != recordVersionIDToken) {
		return s, errMalformed
	}
	r := reader{b: b[1:]}
	s.Expires = fromUnixMilli(r.varint())
	s.CheckedAt = fromUnixMilli(r.varint())
	s.CheckDue = fromUnixMilli(r.varint())
	s.UID = r.string()
	s.Email = r.string()
	s.SIDHash = r.string()
	s.RefreshToken = r.string()
	n := r.uvarint()
	if n > maxGroups || n > uint64(len(r.b)) {
		return sessions.Session{}, errMalformed
	}
	if n > 0 {
		s.Groups = make([]string, n)
		for i := range s.Groups {
			s.Groups[i] = r.string()
		}
	}
	if b[0] == recordVersionIDToken {
		if s.IDToken = r.string(); s.IDToken == "" {
			r.bad = true // version 2 is written only with a token
		}
	}
	if r.bad || len(r.b) != 0 {
		return sessions.Session{}, errMalformed
	}
	return s, nil
}

// reader reads the fields of a record; after the first malformed field
// every read returns zero and bad is set.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) varint() int64 {
	if r.bad {
		return 0
	}
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *reader) uvarint() uint64 {
	if r.bad {
		return 0
	}
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *reader) string() string {
	l := r.uvarint()
	if r.bad || l > uint64(len(r.b)) {
		r.bad = true
		return ""
	}
	s := string(r.b[:l])
	r.b = r.b[l:]
	return s
}
