package assertion

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSignerOptionsValidate(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	valid := SignerOptions{Keys: []*ecdsa.PrivateKey{k1, k2}, Issuer: testIssuer, Audience: testAudience}
	tests := []struct {
		name string
		mod  func(*SignerOptions)
		want []string // every problem expected; nil means valid
	}{
		{"valid", func(*SignerOptions) {}, nil},
		{"max lifetime", func(o *SignerOptions) { o.Lifetime = MaxLifetime }, nil},
		{"no keys: a fresh one", func(o *SignerOptions) { o.Keys = nil }, nil},
		{"nil key", func(o *SignerOptions) { o.Keys = []*ecdsa.PrivateKey{k1, nil} }, []string{"assertion: Keys[1]: must not be nil"}},
		{"P-384 key", func(o *SignerOptions) { o.Keys = []*ecdsa.PrivateKey{p384} }, []string{"assertion: Keys[0]: must be a P-256 key"}},
		{"duplicate key", func(o *SignerOptions) { o.Keys = []*ecdsa.PrivateKey{k1, k2, k1} }, []string{"assertion: Keys[2]: duplicate of Keys[0]"}},
		{"no issuer", func(o *SignerOptions) { o.Issuer = "" }, []string{"assertion: Issuer: required"}},
		{"no audience", func(o *SignerOptions) { o.Audience = "" }, []string{"assertion: Audience: required"}},
		{"negative lifetime", func(o *SignerOptions) { o.Lifetime = -time.Second }, []string{"assertion: Lifetime: must not be negative"}},
		{"long lifetime", func(o *SignerOptions) { o.Lifetime = MaxLifetime + time.Second }, []string{"assertion: Lifetime: must be at most 10m"}},
		{"every problem at once", func(o *SignerOptions) { *o = SignerOptions{Lifetime: time.Hour} }, []string{
			"assertion: Issuer: required",
			"assertion: Audience: required",
			"assertion: Lifetime: must be at most 10m",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := valid
			o.Keys = slices.Clone(valid.Keys)
			tc.mod(&o)
			err := o.Validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Validate() = %q; want %q", got, tc.want)
			}
			if _, nerr := NewSigner(o); (nerr == nil) != (tc.want == nil) {
				t.Errorf("NewSigner() error = %v; want error %v", nerr, tc.want != nil)
			}
		})
	}
}

// rfc7638 computes the thumbprint from the RFC's definition, independently
// of go-jose.
func rfc7638(pub *ecdsa.PublicKey) string {
	b, err := pub.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	in := fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`, b64(b[1:33]), b64(b[33:]))
	sum := sha256.Sum256([]byte(in))
	return b64(sum[:])
}

func TestAssertionHeaderAndClaims(t *testing.T) {
	k := newKey(t)
	clk := newClock()
	clk.Add(700 * time.Millisecond) // iat is truncated to the second
	s := newSigner(t, clk.Now, k, newKey(t))
	tests := []struct {
		name       string
		claims     Claims
		wantGroups []any
	}{
		{"groups", Claims{Subject: "uid-1", Email: "alice@example.com", Groups: []string{"staff", "hr"}}, []any{"staff", "hr"}},
		{"nil groups", Claims{Subject: "uid-2", Email: "bob@example.com"}, []any{}},
		{"empty groups", Claims{Subject: "uid-3", Email: "carol@example.com", Groups: []string{}}, []any{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := s.Assertion(tc.claims)
			if err != nil {
				t.Fatalf("Assertion(%+v) = %v", tc.claims, err)
			}
			h := decodePart(t, tok, 0)
			wantH := map[string]any{"alg": "ES256", "typ": "JWT", "kid": rfc7638(&k.PublicKey)}
			if fmt.Sprint(h) != fmt.Sprint(wantH) {
				t.Errorf("header = %v; want %v", h, wantH)
			}
			p := decodePart(t, tok, 1)
			want := map[string]any{
				"iss": testIssuer, "aud": testAudience, "sub": tc.claims.Subject, "email": tc.claims.Email,
				"groups": tc.wantGroups, "iat": float64(t0.Unix()), "exp": float64(t0.Add(DefaultLifetime).Unix()),
			}
			if fmt.Sprint(p) != fmt.Sprint(want) {
				t.Errorf("claims = %v; want %v", p, want)
			}
			if _, ok := p["groups"].([]any); !ok {
				t.Errorf("groups = %#v; want a JSON array", p["groups"])
			}
		})
	}
}

func TestAssertionLifetime(t *testing.T) {
	clk := newClock()
	s, err := NewSigner(SignerOptions{Keys: []*ecdsa.PrivateKey{newKey(t)}, Issuer: testIssuer, Audience: testAudience, Lifetime: 90 * time.Second, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Assertion(Claims{Subject: "u"})
	if err != nil {
		t.Fatal(err)
	}
	p := decodePart(t, tok, 1)
	if got, want := p["exp"].(float64)-p["iat"].(float64), 90.0; got != want {
		t.Errorf("exp - iat = %v; want %v", got, want)
	}
}

func TestAssertionRequiresSubject(t *testing.T) {
	s := newSigner(t, nil, newKey(t))
	if tok, err := s.Assertion(Claims{Email: "alice@example.com"}); err == nil || tok != "" {
		t.Errorf("Assertion(no subject) = %q, %v; want an error", tok, err)
	}
}

func TestAssertionCacheReuse(t *testing.T) {
	clk := newClock()
	s := newSigner(t, clk.Now, newKey(t))
	c := Claims{Subject: "uid-1", Email: "alice@example.com", Groups: []string{"a", "b"}}
	first, err := s.Assertion(c)
	if err != nil {
		t.Fatal(err)
	}
	mustSign := func(c Claims) string {
		t.Helper()
		tok, err := s.Assertion(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// The caller may reuse its slice; the cache must not see the change.
	c.Groups[0] = "changed"
	if got := mustSign(Claims{Subject: "uid-1", Email: "alice@example.com", Groups: []string{"changed", "b"}}); got == first {
		t.Errorf("Assertion(other groups) returned the cached assertion of the old groups")
	}
	same := Claims{Subject: "uid-1", Email: "alice@example.com", Groups: []string{"a", "b"}}

	tests := []struct {
		name    string
		advance time.Duration
		claims  Claims
		reuse   bool
	}{
		{"same claims, same time", 0, same, true},
		{"3m59s later", 3*time.Minute + 59*time.Second, same, true},
		{"other subject", 0, Claims{Subject: "uid-2", Email: "alice@example.com", Groups: []string{"a", "b"}}, false},
		{"other email", 0, Claims{Subject: "uid-1", Email: "mallory@example.com", Groups: []string{"a", "b"}}, false},
		{"groups reordered", 0, Claims{Subject: "uid-1", Email: "alice@example.com", Groups: []string{"b", "a"}}, false},
		{"groups joined", 0, Claims{Subject: "uid-1", Email: "alice@example.com", Groups: []string{"ab"}}, false},
		{"one minute before exp", time.Second, same, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk.Add(tc.advance)
			got := mustSign(tc.claims)
			if (got == first) != tc.reuse {
				t.Errorf("at %v: Assertion(%+v) reused = %v; want %v", clk.Now().Sub(t0), tc.claims, got == first, tc.reuse)
			}
		})
	}
	// After the refresh, the new assertion is reused in turn.
	second := mustSign(same)
	if second == first {
		t.Fatal("the assertion was not renewed a minute before exp")
	}
	if got := mustSign(same); got != second {
		t.Errorf("the renewed assertion is not reused")
	}
	if p := decodePart(t, second, 1); int64(p["iat"].(float64)) != t0.Add(4*time.Minute).Unix() {
		t.Errorf("renewed iat = %v; want %v", p["iat"], t0.Add(4*time.Minute).Unix())
	}
	// A clock that goes back before iat gets a fresh assertion.
	clk.Add(-time.Hour)
	if got := mustSign(same); got == second {
		t.Errorf("after the clock went back: the cached assertion (iat in the future) was reused")
	}
}

func TestAssertionShortLifetimeNotCached(t *testing.T) {
	clk := newClock()
	s, err := NewSigner(SignerOptions{Keys: []*ecdsa.PrivateKey{newKey(t)}, Issuer: testIssuer, Audience: testAudience, Lifetime: time.Minute, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.Assertion(Claims{Subject: "u"})
	b, _ := s.Assertion(Claims{Subject: "u"})
	if a == b || s.cache.len() != 0 {
		t.Errorf("Lifetime 1m: reused = %v, cache len %d; want a fresh signature each time and an empty cache", a == b, s.cache.len())
	}
}

func TestCacheBounded(t *testing.T) {
	c := newCache(2)
	until := t0.Add(time.Hour)
	claims := []Claims{{Subject: "a"}, {Subject: "b"}, {Subject: "c"}}
	c.put(1, claims[0], "A", t0, until)
	c.put(2, claims[1], "B", t0, until)
	if _, ok := c.get(1, claims[0], t0); !ok { // a is now the most recent
		t.Fatal("get(a) missed")
	}
	c.put(3, claims[2], "C", t0, until)
	if c.len() != 2 {
		t.Errorf("len = %d; want 2", c.len())
	}
	for i, want := range []bool{true, false, true} {
		if _, ok := c.get(uint64(i+1), claims[i], t0); ok != want {
			t.Errorf("get(%s) hit = %v; want %v", claims[i].Subject, ok, want)
		}
	}
}

// TestCacheCollision: claims that share a hash with a cached entry but
// differ in any part never get its assertion.
func TestCacheCollision(t *testing.T) {
	c := newCache(4)
	cached := Claims{Subject: "a", Email: "a@example.com", Groups: []string{"x", "y"}}
	c.put(1, cached, "A", t0, t0.Add(time.Hour))
	for _, tc := range []struct {
		name string
		c    Claims
	}{
		{"other subject", Claims{Subject: "b", Email: "a@example.com", Groups: []string{"x", "y"}}},
		{"other email", Claims{Subject: "a", Email: "b@example.com", Groups: []string{"x", "y"}}},
		{"no email", Claims{Subject: "a", Groups: []string{"x", "y"}}},
		{"other groups", Claims{Subject: "a", Email: "a@example.com", Groups: []string{"x"}}},
		{"groups reordered", Claims{Subject: "a", Email: "a@example.com", Groups: []string{"y", "x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tok, ok := c.get(1, tc.c, t0); ok {
				t.Errorf("get = %q, hit; want a miss", tok)
			}
		})
	}
	if tok, ok := c.get(1, cached, t0); !ok || tok != "A" {
		t.Errorf("get of the cached claims = %q, %v; want A, hit", tok, ok)
	}
}

func TestJWKS(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	s := newSigner(t, nil, k1, k2)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(s.JWKS(), &set); err != nil {
		t.Fatalf("JWKS() is not JSON: %v", err)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS() has %d keys; want 2", len(set.Keys))
	}
	for i, k := range []*ecdsa.PrivateKey{k1, k2} {
		b, _ := k.PublicKey.Bytes()
		want := map[string]any{"kty": "EC", "crv": "P-256", "x": b64(b[1:33]), "y": b64(b[33:]), "kid": rfc7638(&k.PublicKey), "alg": "ES256", "use": "sig"}
		if fmt.Sprint(set.Keys[i]) != fmt.Sprint(want) {
			t.Errorf("JWKS().keys[%d] = %v; want %v", i, set.Keys[i], want)
		}
	}
	got := s.JWKS()
	got[0] = 'X'
	if s.JWKS()[0] != '{' {
		t.Errorf("modifying the result of JWKS() changed the Signer's copy")
	}
}

func TestJWKSHandler(t *testing.T) {
	s := newSigner(t, nil, newKey(t))
	srv := httptest.NewServer(s.JWKSHandler())
	defer srv.Close()
	tests := []struct {
		method     string
		wantStatus int
		wantBody   string
		wantHeader map[string]string
	}{
		{http.MethodGet, 200, string(s.JWKS()), map[string]string{"Content-Type": "application/json", "Cache-Control": "public, max-age=300"}},
		{http.MethodHead, 200, "", map[string]string{"Content-Type": "application/json", "Cache-Control": "public, max-age=300"}},
		{http.MethodPost, 405, "", map[string]string{"Allow": "GET, HEAD"}},
		{http.MethodDelete, 405, "", map[string]string{"Allow": "GET, HEAD"}},
	}
	for _, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+JWKSPath, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || string(body) != tc.wantBody {
				t.Errorf("%s = %d %q; want %d %q", tc.method, resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			for k, v := range tc.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %s = %q; want %q", tc.method, k, got, v)
				}
			}
			if tc.wantStatus == 200 && resp.Header.Get("Content-Length") != fmt.Sprint(len(s.JWKS())) {
				t.Errorf("%s: Content-Length = %q; want %d", tc.method, resp.Header.Get("Content-Length"), len(s.JWKS()))
			}
		})
	}
}

func TestSignerErrorsNeverContainKeys(t *testing.T) {
	// Validate's messages are fixed text plus indexes; make sure a key
	// printed with %v (which would show D) cannot have slipped in.
	k := newKey(t)
	err := SignerOptions{Keys: []*ecdsa.PrivateKey{k, k}}.Validate()
	if err == nil {
		t.Fatal("Validate() = nil; want errors")
	}
	d, _ := k.Bytes()
	for _, leak := range []string{new(big.Int).SetBytes(d).String(), b64(d)} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("Validate() = %q; contains the private key", err)
		}
	}
}

// TestFreshKey: without Keys, NewSigner signs with a key of its own that
// the JWK Set publishes, a different one per Signer, and Warnings says so.
func TestFreshKey(t *testing.T) {
	kid := func(s *Signer) string {
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
			} `json:"keys"`
		}
		if err := json.Unmarshal(s.JWKS(), &set); err != nil || len(set.Keys) != 1 {
			t.Fatalf("JWKS() = %s, %v; want one key", s.JWKS(), err)
		}
		tok, err := s.Assertion(Claims{Subject: "uid-1"})
		if err != nil {
			t.Fatal(err)
		}
		if h := decodePart(t, tok, 0); h["kid"] != set.Keys[0].Kid {
			t.Errorf("assertion kid %v; want the published %s", h["kid"], set.Keys[0].Kid)
		}
		return set.Keys[0].Kid
	}
	a, b := newSigner(t, nil), newSigner(t, nil)
	if kid(a) == kid(b) {
		t.Error("two Signers without Keys share a key")
	}
	o := SignerOptions{Issuer: testIssuer, Audience: testAudience}
	if w := o.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0].Error(), "assertion: Keys: empty:") {
		t.Errorf("Warnings() without keys = %v; want one about Keys", w)
	}
	o.Keys = []*ecdsa.PrivateKey{newKey(t)}
	if w := o.Warnings(); w != nil {
		t.Errorf("Warnings() with a key = %v; want none", w)
	}
}
