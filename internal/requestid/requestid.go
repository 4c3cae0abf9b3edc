// Package requestid gives every request a short random id that is shown to
// the user on error pages and written to every log line about the request,
// so a support ticket can be matched to the logs.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/base32"
)

type ctxKey struct{}

// Header is the response header that carries the request id.
const Header = "X-Request-Id"

var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

// New returns a fresh random id of 16 characters.
func New() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return enc.EncodeToString(b[:])
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
