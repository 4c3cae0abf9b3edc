package assertion

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"strings"
	"testing"
)

func pemBlock(t testing.TB, typ string, der []byte, headers map[string]string) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der, Headers: headers})
}

func sec1(t testing.TB, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func pkcs8(t testing.TB, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// pemBodies returns the base64 lines of every PEM block in data: the text
// an error must never quote.
func pemBodies(data []byte) []string {
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") && !strings.Contains(line, ":") {
			out = append(out, line)
		}
	}
	return out
}

func TestParsePrivateKeysPEM(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256OID, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7})

	ec1 := pemBlock(t, "EC PRIVATE KEY", sec1(t, k1), nil)
	ec2 := pemBlock(t, "PRIVATE KEY", pkcs8(t, k2), nil)
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	truncated := ec2[:len(ec2)-20]
	badBase64 := []byte(strings.Replace(string(ec1), "\n", "\n!!!!", 2))

	tests := []struct {
		name     string
		in       []byte
		wantKeys []*ecdsa.PrivateKey
		wantErr  string
	}{
		{"SEC 1", ec1, []*ecdsa.PrivateKey{k1}, ""},
		{"PKCS 8", ec2, []*ecdsa.PrivateKey{k2}, ""},
		{"two blocks in order", join(ec2, []byte("\n\n"), ec1), []*ecdsa.PrivateKey{k2, k1}, ""},
		{"openssl ecparam output", join(pemBlock(t, "EC PARAMETERS", p256OID, nil), ec1), []*ecdsa.PrivateKey{k1}, ""},
		{"surrounding white space", join([]byte("\n  \r\n"), ec1, []byte("\n\t\n")), []*ecdsa.PrivateKey{k1}, ""},
		{"P-384 SEC 1", pemBlock(t, "EC PRIVATE KEY", sec1(t, p384), nil), nil, "assertion: PEM block 1: curve P-384 is not supported; want P-256"},
		{"P-384 PKCS 8 after a good key", join(ec1, pemBlock(t, "PRIVATE KEY", pkcs8(t, p384), nil)), nil, "assertion: PEM block 2: curve P-384 is not supported; want P-256"},
		{"RSA PKCS 8", pemBlock(t, "PRIVATE KEY", pkcs8(t, rsaKey), nil), nil, "assertion: PEM block 1: RSA keys are not supported; want an ECDSA P-256 key"},
		{"RSA PKCS 1", pemBlock(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey), nil), nil, `assertion: PEM block 1: type "RSA PRIVATE KEY" is not supported; want EC PRIVATE KEY or PRIVATE KEY`},
		{"Ed25519", pemBlock(t, "PRIVATE KEY", pkcs8(t, edKey), nil), nil, "assertion: PEM block 1: Ed25519 keys are not supported; want an ECDSA P-256 key"},
		{"public key", pemBlock(t, "PUBLIC KEY", []byte("x"), nil), nil, `assertion: PEM block 1: type "PUBLIC KEY" is not supported`},
		{"unknown label is not quoted", pemBlock(t, "SECRET sk_live_abc123", []byte("x"), nil), nil, "assertion: PEM block 1: unsupported block type; want EC PRIVATE KEY or PRIVATE KEY"},
		{"encrypted PKCS 8", pemBlock(t, "ENCRYPTED PRIVATE KEY", []byte("x"), nil), nil, "assertion: PEM block 1: encrypted keys are not supported; decrypt the key first"},
		{"encrypted SEC 1", pemBlock(t, "EC PRIVATE KEY", sec1(t, k1), map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}), nil, "assertion: PEM block 1: encrypted keys are not supported"},
		{"SEC 1 garbage", pemBlock(t, "EC PRIVATE KEY", sec1(t, k1)[:40], nil), nil, "assertion: PEM block 1: not a valid EC PRIVATE KEY"},
		{"PKCS 8 garbage", pemBlock(t, "PRIVATE KEY", sec1(t, k1), nil), nil, "assertion: PEM block 1: not a valid PKCS #8 PRIVATE KEY"},
		{"truncated second block", join(ec1, truncated), nil, "assertion: PEM block 2: malformed"},
		{"broken base64", badBase64, nil, "assertion: PEM block 1: malformed"},
		{"text between blocks", join(ec1, []byte("comment\n"), ec2), nil, "assertion: text after PEM block 1; only PEM blocks and white space are accepted"},
		{"text before", join([]byte("key:\n"), ec1), nil, "assertion: text before the first PEM block"},
		{"text after", join(ec1, []byte("MHcCAQEEIBogus")), nil, "assertion: text after PEM block 1"},
		{"garbage", []byte("MHcCAQEEIBzM1bB5secretsecretsecretsecret"), nil, "assertion: text before the first PEM block"},
		{"empty", nil, nil, "assertion: no EC PRIVATE KEY or PRIVATE KEY PEM block found"},
		{"only parameters", pemBlock(t, "EC PARAMETERS", p256OID, nil), nil, "assertion: no EC PRIVATE KEY or PRIVATE KEY PEM block found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := ParsePrivateKeysPEM(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("ParsePrivateKeysPEM() = %d keys, %v; want error %q", len(keys), err, tc.wantErr)
				}
				if keys != nil {
					t.Errorf("ParsePrivateKeysPEM() returned %d keys with an error", len(keys))
				}
				for _, body := range append(pemBodies(tc.in), "sk_live", "secretsecret", "MHcC", "Bogus") {
					if strings.Contains(err.Error(), body) {
						t.Errorf("error %q echoes the input (%q)", err, body)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePrivateKeysPEM() = %v; want %d keys", err, len(tc.wantKeys))
			}
			if len(keys) != len(tc.wantKeys) {
				t.Fatalf("ParsePrivateKeysPEM() = %d keys; want %d", len(keys), len(tc.wantKeys))
			}
			for i := range keys {
				if !keys[i].Equal(tc.wantKeys[i]) {
					t.Errorf("key %d differs from the one encoded", i)
				}
			}
			if _, err := NewSigner(SignerOptions{Keys: keys, Issuer: testIssuer, Audience: testAudience}); err != nil {
				t.Errorf("NewSigner(parsed keys) = %v", err)
			}
		})
	}
}
