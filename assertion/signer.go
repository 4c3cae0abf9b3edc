package assertion

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/rezigate/rezigate/internal/groupheader"
	"github.com/rezigate/rezigate/optionerr"
)

// Lifetimes of an assertion, applied through SignerOptions.Lifetime.
const (
	// DefaultLifetime is how long an assertion is valid when
	// SignerOptions.Lifetime is zero.
	DefaultLifetime = 5 * time.Minute

	// MaxLifetime is the longest SignerOptions.Lifetime accepted, and the
	// longest exp - iat span a Verifier believes. An assertion is a bearer
	// credential that any upstream hop can see; it must die quickly.
	MaxLifetime = 10 * time.Minute
)

// JWKSPath is the path, below the public URL, at which rezigate serves
// Signer.JWKSHandler.
const JWKSPath = "/.well-known/rezigate/jwks.json"

// reuseMargin is how long before its expiry a cached assertion stops being
// handed out, so that it still has time to cross the upstream's network
// and be checked.
const reuseMargin = time.Minute

// cacheSize bounds the number of cached assertions (one per distinct
// subject, email and group list).
const cacheSize = 10000

// Claims is the identity an assertion carries.
type Claims struct {
	// Subject is the user's stable id (rezigate's uid), the "sub" claim.
	// Signer.Assertion refuses an empty Subject, and Verifier.Verify
	// refuses an assertion without one.
	Subject string

	// Email is the user's email address, the "email" claim. Empty means
	// the identity has none; the claim is then an empty string.
	Email string

	// Groups are the user's group names in the order given, the "groups"
	// claim. Only usable names are signed, by the rule the X-Forwarded-Groups
	// header follows: 1 to 256 bytes of printable ASCII, no comma, no space
	// at either end; any other name is left out of the claim, so that the
	// header and the assertion always carry the same groups. Nil and empty
	// both produce an empty JSON array, and Verify returns nil for an
	// empty array.
	Groups []string
}

// SignerOptions configures a Signer. Issuer and Audience are required.
type SignerOptions struct {
	// Keys are the ECDSA P-256 private keys. The first one signs; all are
	// published by JWKS so that assertions signed by a previous key still
	// verify. To rotate, put the new key first and keep the old one listed
	// until every assertion it signed has expired: Lifetime plus the
	// verifiers' leeway after the new key started signing (at most
	// MaxLifetime + MaxLeeway, 15m); then drop it. ParsePrivateKeysPEM
	// reads them. Empty means NewSigner makes a fresh key, which upstreams
	// pick up through the JWK Set; it lives as long as the Signer, so
	// other replicas cannot share it and a restart replaces it (see
	// Warnings).
	Keys []*ecdsa.PrivateKey

	// Issuer is the "iss" claim: rezigate's public URL. Required; a
	// verifier compares it exactly.
	Issuer string

	// Audience is the "aud" claim: the name the upstream checks for.
	// Required.
	Audience string

	// Lifetime is how long each assertion is valid ("exp" - "iat"). Zero
	// means DefaultLifetime; negative or above MaxLifetime is an error. An
	// assertion is reused until one minute before it expires, so a
	// Lifetime of one minute or less means a fresh signature per request.
	Lifetime time.Duration

	// Now returns the current time. Nil means time.Now; tests set a fixed
	// clock.
	Now func() time.Time
}

// Validate reports every problem with o, joined with errors.Join. Each
// problem reads "assertion: Field: what is wrong" and never contains key
// material. Validate does no I/O and does not modify o.
func (o SignerOptions) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, optionerr.New("assertion", field, format, args...))
	}
	for i, k := range o.Keys {
		if err := checkPrivateKey(k); err != nil {
			add(fmt.Sprintf("Keys[%d]", i), "%v", err)
			continue
		}
		for j := range i {
			if o.Keys[j] != nil && k.PublicKey.Equal(&o.Keys[j].PublicKey) {
				add(fmt.Sprintf("Keys[%d]", i), "duplicate of Keys[%d]", j)
				break
			}
		}
	}
	if o.Issuer == "" {
		add("Issuer", "required")
	}
	if o.Audience == "" {
		add("Audience", "required")
	}
	switch {
	case o.Lifetime < 0:
		add("Lifetime", "must not be negative")
	case o.Lifetime > MaxLifetime:
		add("Lifetime", "must be at most 10m")
	}
	return errors.Join(errs...)
}

// Warnings lists what o allows but a deployment of several replicas
// should not want, each reading "assertion: Field: why", like Validate's
// problems.
func (o SignerOptions) Warnings() []error {
	if len(o.Keys) == 0 {
		return []error{optionerr.New("assertion", "Keys", "empty: a fresh key is made at every start, so this is right for one replica only; give every replica the same keys")}
	}
	return nil
}

// checkPrivateKey reports why k cannot sign ES256 assertions, if it
// cannot. The message never contains key material.
func checkPrivateKey(k *ecdsa.PrivateKey) error {
	if k == nil {
		return errors.New("must not be nil")
	}
	if k.Curve != elliptic.P256() {
		return errors.New("must be a P-256 key")
	}
	if _, err := k.ECDH(); err != nil {
		return errors.New("not a valid P-256 private key")
	}
	if _, err := k.PublicKey.ECDH(); err != nil {
		return errors.New("not a valid P-256 public key")
	}
	return nil
}

// Signer issues identity assertions. It is safe for concurrent use.
type Signer struct {
	jose     jose.Signer
	issuer   string
	audience jwt.Audience
	lifetime time.Duration
	now      func() time.Time
	jwks     []byte
	seed     maphash.Seed
	cache    *cache
}

// NewSigner checks opts and returns a Signer using them. The caller may
// reuse opts.Keys afterwards; the Signer does not modify them.
func NewSigner(opts SignerOptions) (*Signer, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if len(opts.Keys) == 0 {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("assertion: Keys: generate a key: %w", err)
		}
		opts.Keys = []*ecdsa.PrivateKey{k}
	}
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(opts.Keys))}
	for i, k := range opts.Keys {
		kid, err := thumbprint(&k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("assertion: Keys[%d]: thumbprint: %w", i, err)
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key: &k.PublicKey, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig",
		})
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("assertion: encode JWK Set: %w", err)
	}
	sig, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: opts.Keys[0], KeyID: set.Keys[0].KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("assertion: create signer: %w", err)
	}
	s := &Signer{
		jose:     sig,
		issuer:   opts.Issuer,
		audience: jwt.Audience{opts.Audience},
		lifetime: opts.Lifetime,
		now:      opts.Now,
		jwks:     jwks,
		seed:     maphash.MakeSeed(),
		cache:    newCache(cacheSize),
	}
	if s.lifetime == 0 {
		s.lifetime = DefaultLifetime
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// thumbprint returns the RFC 7638 SHA-256 thumbprint of pub, base64url
// without padding: the "kid" of the key.
func thumbprint(pub *ecdsa.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// payload is the private part of the claims set.
type payload struct {
	Email  string   `json:"email"`
	Groups []string `json:"groups"`
}

// Assertion returns a compact JWS (a JWT) for c, signed with the first key:
// header alg ES256, typ JWT and kid; claims iss, aud, sub, email, groups,
// iat and exp. The same string is returned for the same c until one minute
// before it expires, so a busy user costs one signature per few minutes,
// not one per request; the cache holds at most 10000 identities and drops
// the least recently used. The error is non-nil only when c.Subject is
// empty or signing fails; it never contains the token.
func (s *Signer) Assertion(c Claims) (string, error) {
	if c.Subject == "" {
		return "", errors.New("assertion: Subject: required")
	}
	now := s.now()
	h := s.hashClaims(c)
	if tok, ok := s.cache.get(h, c, now); ok {
		return tok, nil
	}
	iat := now.Truncate(time.Second)
	exp := iat.Add(s.lifetime).Truncate(time.Second)
	groups := make([]string, len(c.Groups))
	copy(groups, c.Groups)
	signed := groupheader.Keep(groups) // not nil: "groups" is [], never null
	tok, err := jwt.Signed(s.jose).
		Claims(jwt.Claims{
			Issuer:   s.issuer,
			Audience: s.audience,
			Subject:  c.Subject,
			IssuedAt: jwt.NewNumericDate(iat),
			Expiry:   jwt.NewNumericDate(exp),
		}).
		Claims(payload{Email: c.Email, Groups: signed}).
		Serialize()
	if err != nil {
		return "", fmt.Errorf("assertion: sign: %w", err)
	}
	s.cache.put(h, Claims{Subject: c.Subject, Email: c.Email, Groups: groups}, tok, iat, exp.Add(-reuseMargin))
	return tok, nil
}

// hashClaims hashes the subject, the email and the group list, mixing
// in each string's hash in order, so that ["ab"], ["a", "b"] and ["b",
// "a"] almost always hash differently. Equal claims give equal hashes;
// the cache still compares the claims, so a collision only costs a
// signature, never a wrong assertion.
func (s *Signer) hashClaims(c Claims) uint64 {
	h := uint64(len(c.Groups))
	h = (h^maphash.String(s.seed, c.Subject))*0x9E3779B97F4A7C15 + 1
	h = (h^maphash.String(s.seed, c.Email))*0x9E3779B97F4A7C15 + 1
	for _, g := range c.Groups {
		h = (h^maphash.String(s.seed, g))*0x9E3779B97F4A7C15 + 1
	}
	return h
}

// JWKS returns the public keys as a JWK Set ({"keys":[…]}), the signing
// key first; each key has kty, crv, x, y, kid, alg "ES256" and use "sig".
// The result is a fresh copy the caller may keep or modify.
func (s *Signer) JWKS() []byte {
	return append([]byte(nil), s.jwks...)
}

// JWKSHandler returns a handler that serves JWKS to GET and HEAD requests
// with Content-Type application/json and Cache-Control public,
// max-age=300, whatever the request path; other methods get 405. rezigate
// mounts it at JWKSPath.
func (s *Signer) JWKSHandler() http.Handler {
	length := strconv.Itoa(len(s.jwks))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			h.Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(s.jwks)
		}
	})
}
