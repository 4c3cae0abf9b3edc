package assertion_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/rezigate/rezigate/assertion"
)

// fixedClock makes the examples' output independent of the time they run.
func fixedClock() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }

// tamper changes one character of the token's signature.
func tamper(token string) string {
	b := []byte(token)
	i := len(b) - 10
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// The proxy signs one assertion per identity and serves the public keys.
func ExampleSigner() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // or assertion.ParsePrivateKeysPEM
	if err != nil {
		log.Fatal(err)
	}
	s, err := assertion.NewSigner(assertion.SignerOptions{
		Keys:     []*ecdsa.PrivateKey{key},
		Issuer:   "https://gate.example.com",
		Audience: "rms",
		Now:      fixedClock,
	})
	if err != nil {
		log.Fatal(err)
	}
	alice := assertion.Claims{Subject: "uid-1", Email: "alice@example.com", Groups: []string{"staff"}}
	first, _ := s.Assertion(alice)
	second, _ := s.Assertion(alice)
	fmt.Println("reused:", first == second)

	var set struct {
		Keys []struct{ Kty, Crv, Alg, Use, Kid string }
	}
	if err := json.Unmarshal(s.JWKS(), &set); err != nil {
		log.Fatal(err)
	}
	for _, k := range set.Keys {
		fmt.Println(k.Kty, k.Crv, k.Alg, k.Use, len(k.Kid))
	}
	// Output:
	// reused: true
	// EC P-256 ES256 sig 43
}

// An upstream verifies an assertion against the keys rezigate publishes.
func ExampleVerifier() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, err := assertion.NewSigner(assertion.SignerOptions{
		Keys: []*ecdsa.PrivateKey{key}, Issuer: "https://gate.example.com", Audience: "rms", Now: fixedClock,
	})
	if err != nil {
		log.Fatal(err)
	}
	gate := httptest.NewServer(s.JWKSHandler()) // rezigate, serving assertion.JWKSPath
	defer gate.Close()

	ctx := context.Background()
	v, err := assertion.NewVerifier(ctx, assertion.VerifierOptions{
		JWKSURL:  gate.URL + assertion.JWKSPath,
		Issuer:   "https://gate.example.com",
		Audience: "rms",
		Now:      fixedClock,
	})
	if err != nil {
		log.Fatal(err)
	}
	token, _ := s.Assertion(assertion.Claims{Subject: "uid-1", Email: "alice@example.com", Groups: []string{"staff", "hr"}})
	got, err := v.Verify(ctx, token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Subject, got.Email, got.Groups)
	fmt.Println("valid for", got.Expiry.Sub(got.IssuedAt))

	_, err = v.Verify(ctx, tamper(token))
	fmt.Println(err)
	// Output:
	// uid-1 alice@example.com [staff hr]
	// valid for 5m0s
	// assertion: invalid: bad signature
}

// Require guards an upstream's handler: only requests with a valid
// assertion reach it, and the handler reads the identity from the context.
func ExampleRequire() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := assertion.NewSigner(assertion.SignerOptions{
		Keys: []*ecdsa.PrivateKey{key}, Issuer: "https://gate.example.com", Audience: "rms", Now: fixedClock,
	})
	gate := httptest.NewServer(s.JWKSHandler())
	defer gate.Close()
	v, err := assertion.NewVerifier(context.Background(), assertion.VerifierOptions{
		JWKSURL: gate.URL + assertion.JWKSPath, Issuer: "https://gate.example.com", Audience: "rms", Now: fixedClock,
	})
	if err != nil {
		log.Fatal(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := assertion.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s\n", user.Email)
	})
	h := assertion.Require(v, assertion.DefaultHeader)(app)

	token, _ := s.Assertion(assertion.Claims{Subject: "uid-1", Email: "alice@example.com"})
	for _, send := range []string{token, ""} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if send != "" {
			r.Header.Set(assertion.DefaultHeader, send)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		body, _ := io.ReadAll(w.Result().Body)
		fmt.Printf("%d %s", w.Code, body)
	}
	// Output:
	// 200 hello alice@example.com
	// 401 {"error":"unauthorized"}
}
