package assertion

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"regexp"
	"slices"
	"testing"
)

func FuzzVerify(f *testing.F) {
	key := newKey(f)
	kid := kidOf(f, key)
	clk := newClock()
	s := newSigner(f, clk.Now, key)
	v := newVerifier(f, newJWKSServer(f, s.JWKS()).url(), clk.Now)
	want := Claims{Subject: "uid-1", Email: "alice@example.com", Groups: []string{"staff"}}
	good, err := s.Assertion(want)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(unsigned(map[string]any{"alg": "none", "typ": "JWT", "kid": kid}, validClaims(t0)))
	f.Add(hs256(map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}, validClaims(t0), s.JWKS()))
	f.Add(signRaw(f, key, kid, "JWT", map[string]any{"iss": testIssuer, "aud": []any{1, nil}, "exp": "soon", "groups": map[string]any{}}))
	f.Add("e30.e30.")
	f.Add("....")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		got, err := v.Verify(context.Background(), token)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Verify() = %v; want an error matching ErrInvalid", err)
			}
			return
		}
		// Only the genuine assertion (or an encoding variant of it) verifies.
		if got.Subject != want.Subject || got.Email != want.Email || !slices.Equal(got.Groups, want.Groups) {
			t.Fatalf("Verify(%q) accepted claims %+v that were never signed", token, got)
		}
	})
}

// pemErrors are the shapes ParsePrivateKeysPEM's errors may take; anything
// else could be echoing the input.
var pemErrors = regexp.MustCompile(`^assertion: (` +
	`no EC PRIVATE KEY or PRIVATE KEY PEM block found|` +
	`text before the first PEM block; only PEM blocks and white space are accepted|` +
	`text after PEM block [0-9]+; only PEM blocks and white space are accepted|` +
	`PEM block [0-9]+: (malformed|` +
	`encrypted keys are not supported; decrypt the key first|` +
	`not a valid EC PRIVATE KEY|not a valid PKCS #8 PRIVATE KEY|` +
	`(RSA|Ed25519) keys are not supported; want an ECDSA P-256 key|` +
	`this key type is not supported; want an ECDSA P-256 key|` +
	`type "[A-Z ]+" is not supported; want EC PRIVATE KEY or PRIVATE KEY|` +
	`unsupported block type; want EC PRIVATE KEY or PRIVATE KEY|` +
	`(curve P-224|curve P-384|curve P-521|this curve) is not supported; want P-256|` +
	`not a valid P-256 (private|public) key))$`)

func FuzzParsePrivateKeysPEM(f *testing.F) {
	k := newKey(f)
	der, _ := x509.MarshalECPrivateKey(k)
	p8, _ := x509.MarshalPKCS8PrivateKey(k)
	ec := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	f.Add(ec)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))
	f.Add(append(append([]byte{}, ec...), ec...))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der, Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}}))
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\n"))
	f.Add([]byte("garbage"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParsePrivateKeysPEM(data)
		if err != nil {
			if keys != nil {
				t.Fatalf("ParsePrivateKeysPEM() = %d keys and %v", len(keys), err)
			}
			if !pemErrors.MatchString(err.Error()) {
				t.Fatalf("ParsePrivateKeysPEM() error %q is not one of the fixed messages", err)
			}
			return
		}
		if len(keys) == 0 {
			t.Fatal("ParsePrivateKeysPEM() = no keys, no error")
		}
		for i, k := range keys {
			if err := checkPrivateKey(k); err != nil {
				t.Fatalf("key %d: %v", i, err)
			}
		}
	})
}
