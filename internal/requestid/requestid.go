// Package requestid gives every request a short random id that is shown to
// the user on error pages and written to every log line about the request,
// so a support ticket can be matched to the logs.
package requestid

import (
	"context"
	"encoding/base32"
	"encoding/binary"
	"math/rand/v2"
)

type ctxKey struct{}

// Header is the response header that carries the request id.
const Header = "X-Request-Id"

var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

// New returns a fresh random id of 16 characters. Ids only need to be
// unique, not secret, so the fast ChaCha8-based math/rand/v2 generator
// is used rather than a system call per request.
func New() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	var out [16]byte
	enc.Encode(out[:], b[:10])
	return string(out[:])
}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the id stored in ctx, or "" if there is none.
func FromContext(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}
