package middleware

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test's servers, clients and background work must be gone when the
// package's tests end: a Rezi or provider failure must not strand a
// goroutine. Idle keep-alive connections of the test clients are the only
// goroutines allowed to outlive a test, and only until they time out.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}
