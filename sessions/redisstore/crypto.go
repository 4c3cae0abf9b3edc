package redisstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"

	"github.com/gorilla/securecookie"
)

// Key derivation labels. Each secret keys each primitive through its own
// label, followed by a NUL and the deployment, so one secret never keys
// two primitives, no deployment's keys are another's, and none of these
// keys opens a cookie of the cookie store (which derives its own).
const (
	labelHandleMAC = "rezigate redis handle cookie mac v2"
	labelHandleEnc = "rezigate redis handle cookie enc v2"
	labelValue     = "rezigate redis value aes-gcm v2"
	labelIndex     = "rezigate redis index hmac v2"
)

// handleLen is the size of a session handle: 256 random bits.
const handleLen = 32

// handle is a session's random name, the only thing its cookie carries.
type handle [handleLen]byte

// keys holds everything derived from the secrets. keys[0]-style slices
// are in the order of the secrets: the first seals, all open.
type keys struct {
	cookies []securecookie.Codec
	aeads   []cipher.AEAD
	index   [][]byte
}

// deriveKeys derives every key of the deployment from each secret.
func deriveKeys(secrets [][]byte, deployment string, maxAgeSeconds int) (*keys, error) {
	k := &keys{}
	info := func(label string) string { return label + "\x00" + deployment }
	for i, s := range secrets {
		mac, err1 := hkdf.Key(sha256.New, s, nil, info(labelHandleMAC), 32)
		enc, err2 := hkdf.Key(sha256.New, s, nil, info(labelHandleEnc), 32)
		val, err3 := hkdf.Key(sha256.New, s, nil, info(labelValue), 32)
		idx, err4 := hkdf.Key(sha256.New, s, nil, info(labelIndex), 32)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return nil, fmt.Errorf("derive keys of secret %d: %w", i, err)
		}
		sc := securecookie.New(mac, enc)
		sc.SetSerializer(handleSerializer{})
		sc.MaxAge(maxAgeSeconds + 1)
		sc.MaxLength(512)
		k.cookies = append(k.cookies, sc)
		block, err := aes.NewCipher(val)
		if err != nil {
			return nil, fmt.Errorf("value cipher of secret %d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("value cipher of secret %d: %w", i, err)
		}
		k.aeads = append(k.aeads, aead)
		k.index = append(k.index, idx)
	}
	return k, nil
}

// sealHandle returns the cookie value for h.
func (k *keys) sealHandle(name string, h *handle) (string, error) {
	return k.cookies[0].Encode(name, h)
}

// openHandle returns the handle in a cookie value, trying every secret.
func (k *keys) openHandle(name, value string) (handle, bool) {
	var h handle
	if value == "" || len(value) > 512 {
		return h, false
	}
	for _, c := range k.cookies {
		if c.Decode(name, value, &h) == nil {
			return h, true
		}
	}
	return h, false
}

// valueVersion starts every encrypted value.
const valueVersion = 1

// seal encrypts plain for the Redis key called key: a version byte, a
// random nonce, then AES-256-GCM with the key name as additional data, so
// a value copied under another key does not open.
func (k *keys) seal(key string, plain []byte) []byte {
	aead := k.aeads[0]
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plain)+aead.Overhead())
	out[0] = valueVersion
	if _, err := rand.Read(out[1:]); err != nil {
		panic("redisstore: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	return aead.Seal(out, out[1:], plain, []byte(key))
}

// open decrypts a value read from the Redis key called key, trying every
// secret.
func (k *keys) open(key string, sealed []byte) ([]byte, bool) {
	n := k.aeads[0].NonceSize()
	if len(sealed) < 1+n+k.aeads[0].Overhead() || sealed[0] != valueVersion {
		return nil, false
	}
	for _, aead := range k.aeads {
		if plain, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(key)); err == nil {
			return plain, true
		}
	}
	return nil, false
}

// indexNames returns hex HMAC-SHA256 names of the identifier id of kind
// (a uid, a sid hash, a jti), one for each secret, the first secret's
// first. The identifiers themselves are never stored: a reader of the
// Redis data cannot link a key to a known uid without a secret.
func (k *keys) indexNames(kind, id string) []string {
	out := make([]string, len(k.index))
	for i, key := range k.index {
		out[i] = indexName(key, kind, id)
	}
	return out
}

// indexName is indexNames for the first secret only.
func (k *keys) indexName(kind, id string) string {
	return indexName(k.index[0], kind, id)
}

func indexName(key []byte, kind, id string) string {
	m := hmac.New(sha256.New, key)
	writeField(m, kind)
	writeField(m, id)
	return hex.EncodeToString(m.Sum(nil))
}

// writeField writes s length-prefixed, so that no two different field
// lists hash alike.
func writeField(h hash.Hash, s string) {
	var n [8]byte
	l := uint64(len(s))
	for i := range n {
		n[i] = byte(l >> (56 - 8*i))
	}
	h.Write(n[:])
	h.Write([]byte(s))
}

// handleName returns the hex SHA-256 of h under label. A handle has 256
// random bits, so the hash needs no key: it cannot be reversed, and it
// stays the same when the secrets rotate.
func handleName(label string, h *handle) string {
	d := sha256.New()
	d.Write([]byte(label))
	d.Write([]byte{0})
	d.Write(h[:])
	var sum [sha256.Size]byte
	return hex.EncodeToString(d.Sum(sum[:0]))
}

// handleSerializer is the plaintext of a handle cookie: a kind byte and
// the handle.
type handleSerializer struct{}

const kindHandle byte = 'h'

var errNotHandle = errors.New("redisstore: not a session handle")

func (handleSerializer) Serialize(src any) ([]byte, error) {
	h, ok := src.(*handle)
	if !ok {
		return nil, fmt.Errorf("redisstore: cannot encode %T", src)
	}
	return append([]byte{kindHandle}, h[:]...), nil
}

func (handleSerializer) Deserialize(src []byte, dst any) error {
	h, ok := dst.(*handle)
	if !ok || len(src) != 1+handleLen || src[0] != kindHandle {
		return errNotHandle
	}
	copy(h[:], src[1:])
	return nil
}
