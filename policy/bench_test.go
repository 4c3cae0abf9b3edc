package policy_test

import (
	"testing"

	"github.com/rezigate/rezigate/policy"
)

// BenchmarkDecide20Routes judges requests against 20 routes: one matched
// by the last route, one by none (default deny), one by the first route
// through an email.
func BenchmarkDecide20Routes(b *testing.B) {
	p := twentyRoutes()
	u := policy.User{Email: "Lead0@Example.com", Groups: []string{"g1", "g2", "g3", "staff", "team-19"}}
	for _, bc := range []struct{ name, path string }{
		{"last route", "/app19/reports/2026"},
		{"no route", "/nowhere/at/all"},
		{"first route by email", "/app0/x"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if p.Decide("GET", bc.path, u).Rule == -2 {
					b.Fatal("impossible rule")
				}
			}
		})
	}
}

func BenchmarkNormalize(b *testing.B) {
	for _, bc := range []struct{ name, path string }{
		{"normal", "/app19/reports/2026/q1"},
		{"dirty", "//app19/./reports/%2e%2e/%72eports/2026/q1?x=1"},
		{"refused", "/app19/..%2Fadmin"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = strictPolicy.Normalize(bc.path)
			}
		})
	}
}
