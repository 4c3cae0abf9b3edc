package middleware

import (
	"testing"

	"github.com/rezigate/rezigate/internal/session"
)

// testCodec seals cookies as a's cookie store does, also ones the store
// would refuse to make (expired, or for another secret), for tests.
func testCodec(a *Auth) *session.Codec {
	c, err := session.NewBoundCodec(a.opts.SessionSecrets, a.opts.SessionMaxAge, a.opts.Deployment())
	if err != nil {
		panic("testCodec: " + err.Error())
	}
	return c
}

var _ = testing.Short
