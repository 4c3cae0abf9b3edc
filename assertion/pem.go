package assertion

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// pemBegin starts every PEM block.
var pemBegin = []byte("-----BEGIN ")

// knownLabels are PEM types that are named in an error when refused. Any
// other type is reported without its name: the label is text from the
// input, and the input may be mostly secret.
var knownLabels = map[string]bool{
	"RSA PRIVATE KEY":       true,
	"DSA PRIVATE KEY":       true,
	"OPENSSH PRIVATE KEY":   true,
	"PUBLIC KEY":            true,
	"EC PUBLIC KEY":         true,
	"RSA PUBLIC KEY":        true,
	"CERTIFICATE":           true,
	"CERTIFICATE REQUEST":   true,
	"ENCRYPTED PRIVATE KEY": true,
}

// ParsePrivateKeysPEM reads one or more PEM blocks, each an "EC PRIVATE
// KEY" (SEC 1) or a "PRIVATE KEY" (PKCS #8) holding an ECDSA P-256 key,
// and returns the keys in file order, ready for SignerOptions.Keys. "EC
// PARAMETERS" blocks, which openssl ecparam writes before the key, are
// skipped. Only white space may appear between and around the blocks.
//
// Any other block type, an encrypted block, another curve or key type, a
// malformed block or text outside the blocks is an error naming the block
// by its position (1 is the first). Errors never contain the input's
// bytes, so they are safe to log even when the file holds key material.
func ParsePrivateKeysPEM(data []byte) ([]*ecdsa.PrivateKey, error) {
	var keys []*ecdsa.PrivateKey
	rest := data
	for n := 1; ; n++ {
		i := bytes.Index(rest, pemBegin)
		if i < 0 {
			if len(bytes.TrimSpace(rest)) != 0 {
				return nil, textOutside(n - 1)
			}
			break
		}
		if len(bytes.TrimSpace(rest[:i])) != 0 {
			return nil, textOutside(n - 1)
		}
		rest = rest[i:]
		// Decode only up to the next BEGIN line: pem.Decode silently
		// skips a malformed block and returns the next one.
		end := len(rest)
		if j := bytes.Index(rest[len(pemBegin):], pemBegin); j >= 0 {
			end = len(pemBegin) + j
		}
		block, after := pem.Decode(rest[:end])
		if block == nil {
			return nil, fmt.Errorf("assertion: PEM block %d: malformed", n)
		}
		if len(bytes.TrimSpace(after)) != 0 {
			return nil, textOutside(n)
		}
		rest = rest[end:]
		if block.Type == "EC PARAMETERS" {
			n--
			continue
		}
		k, err := parsePrivateKeyBlock(block)
		if err != nil {
			return nil, fmt.Errorf("assertion: PEM block %d: %w", n, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("assertion: no EC PRIVATE KEY or PRIVATE KEY PEM block found")
	}
	return keys, nil
}

func textOutside(after int) error {
	if after == 0 {
		return errors.New("assertion: text before the first PEM block; only PEM blocks and white space are accepted")
	}
	return fmt.Errorf("assertion: text after PEM block %d; only PEM blocks and white space are accepted", after)
}

// parsePrivateKeyBlock returns the P-256 key in b. Parse errors from
// crypto/x509 are not wrapped: they may quote bytes of the key.
func parsePrivateKeyBlock(b *pem.Block) (*ecdsa.PrivateKey, error) {
	if b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, errors.New("encrypted keys are not supported; decrypt the key first")
	}
	var key *ecdsa.PrivateKey
	switch b.Type {
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(b.Bytes)
		if err != nil {
			return nil, errors.New("not a valid EC PRIVATE KEY")
		}
		key = k
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, errors.New("not a valid PKCS #8 PRIVATE KEY")
		}
		switch k := k.(type) {
		case *ecdsa.PrivateKey:
			key = k
		case *rsa.PrivateKey:
			return nil, errors.New("RSA keys are not supported; want an ECDSA P-256 key")
		case ed25519.PrivateKey:
			return nil, errors.New("Ed25519 keys are not supported; want an ECDSA P-256 key")
		default:
			return nil, errors.New("this key type is not supported; want an ECDSA P-256 key")
		}
	default:
		if knownLabels[b.Type] {
			return nil, fmt.Errorf("type %q is not supported; want EC PRIVATE KEY or PRIVATE KEY", b.Type)
		}
		return nil, errors.New("unsupported block type; want EC PRIVATE KEY or PRIVATE KEY")
	}
	if key.Curve != elliptic.P256() {
		name := "this curve"
		switch key.Curve {
		case elliptic.P224(), elliptic.P384(), elliptic.P521():
			name = "curve " + key.Curve.Params().Name
		}
		return nil, fmt.Errorf("%s is not supported; want P-256", name)
	}
	if err := checkPrivateKey(key); err != nil {
		return nil, err
	}
	return key, nil
}
