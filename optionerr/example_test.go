package optionerr_test

import (
	"fmt"

	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/proxy"
)

// Validate names every invalid field; Fields lets a caller translate each
// back to its own configuration key.
func ExampleFields() {
	err := proxy.Options{}.Validate()
	for _, fe := range optionerr.Fields(err) {
		fmt.Printf("%s.%s: %s\n", fe.Pkg, fe.Field, fe.Msg)
	}
	// Output:
	// proxy.Upstream: required
}
