package assertion

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkAssertionCacheHit is the proxy's per-request cost for a user
// whose assertion is cached; it must not allocate.
func BenchmarkAssertionCacheHit(b *testing.B) {
	clk := newClock()
	s := newSigner(b, clk.Now, newKey(b))
	c := Claims{Subject: "uid-1", Email: "alice@example.com", Groups: []string{"staff", "hr", "rms-admins"}}
	if _, err := s.Assertion(c); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Assertion(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAssertionSign is a cache miss: a new identity, one signature.
func BenchmarkAssertionSign(b *testing.B) {
	clk := newClock()
	s := newSigner(b, clk.Now, newKey(b))
	c := Claims{Subject: "uid-1", Email: "alice@example.com", Groups: []string{"staff", "hr", "rms-admins"}}
	subjects := make([]string, 1<<16)
	for i := range subjects {
		subjects[i] = "uid-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Subject = subjects[i%len(subjects)]
		i++
		if _, err := s.Assertion(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is an upstream's per-request cost.
func BenchmarkVerify(b *testing.B) {
	clk := newClock()
	s := newSigner(b, clk.Now, newKey(b))
	v := newVerifier(b, newJWKSServer(b, s.JWKS()).url(), clk.Now)
	tok, _ := s.Assertion(Claims{Subject: "uid-1", Email: "alice@example.com", Groups: []string{"staff", "hr", "rms-admins"}})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAssertionCacheHitAllocs(t *testing.T) {
	clk := newClock()
	s := newSigner(t, clk.Now, newKey(t))
	c := Claims{Subject: "uid-1", Email: "alice@example.com", Groups: []string{"staff", "hr"}}
	first, _ := s.Assertion(c)
	var got string
	if n := testing.AllocsPerRun(100, func() { got, _ = s.Assertion(c) }); n != 0 {
		t.Errorf("Assertion(cached) allocates %v times per call; want 0", n)
	}
	if got != first {
		t.Errorf("Assertion(cached) returned a new assertion")
	}
}
