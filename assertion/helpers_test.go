package assertion

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const (
	testIssuer   = "https://gate.example.com"
	testAudience = "rms"
)

// t0 is the tests' starting time, a whole second.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is a settable time source shared by a signer and a verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newSigner(t testing.TB, now func() time.Time, keys ...*ecdsa.PrivateKey) *Signer {
	t.Helper()
	s, err := NewSigner(SignerOptions{Keys: keys, Issuer: testIssuer, Audience: testAudience, Now: now})
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

// jwksServer serves whatever JWK Set was last set, or a status, and
// counts the requests it answers.
type jwksServer struct {
	*httptest.Server
	body   atomic.Pointer[[]byte]
	status atomic.Int32 // 0 means 200 with body
	hits   atomic.Int32
}

func newJWKSServer(t testing.TB, jwks []byte) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.set(jwks)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if st := s.status.Load(); st != 0 {
			w.WriteHeader(int(st))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*s.body.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(jwks []byte) { s.body.Store(&jwks) }

func (s *jwksServer) url() string { return s.URL + JWKSPath }

func newVerifier(t testing.TB, url string, now func() time.Time, mod ...func(*VerifierOptions)) *Verifier {
	t.Helper()
	o := VerifierOptions{JWKSURL: url, Issuer: testIssuer, Audience: testAudience, Now: now, Logger: discardLogger()}
	for _, m := range mod {
		m(&o)
	}
	v, err := NewVerifier(context.Background(), o)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// kidOf returns the kid a Signer gives k.
func kidOf(t testing.TB, k *ecdsa.PrivateKey) string {
	t.Helper()
	kid, err := thumbprint(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return kid
}

// signRaw signs claims with k as ES256, with the given kid and typ ("" omits
// them), so tests can build assertions the Signer never would.
func signRaw(t testing.TB, k *ecdsa.PrivateKey, kid, typ string, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := sig.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// validClaims returns the claims a Signer would write at now.
func validClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": testIssuer, "aud": testAudience, "sub": "uid-1", "email": "alice@example.com",
		"groups": []string{"staff"}, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
}

// b64 and unb64 are the JOSE base64url without padding.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64url %q: %v", s, err)
	}
	return b
}

// decodePart decodes one JSON part (0 header, 1 payload) of a compact JWS.
func decodePart(t testing.TB, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts; want 3", len(parts))
	}
	var m map[string]any
	if err := json.Unmarshal(unb64(t, parts[i]), &m); err != nil {
		t.Fatalf("part %d: %v", i, err)
	}
	return m
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
