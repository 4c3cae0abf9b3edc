package assertion

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/rezigate/rezigate/internal/httpurl"
)

// Defaults and limits of VerifierOptions.
const (
	// DefaultLeeway is the clock skew tolerated when VerifierOptions.Leeway
	// is zero.
	DefaultLeeway = 30 * time.Second

	// MaxLeeway is the largest VerifierOptions.Leeway accepted.
	MaxLeeway = 5 * time.Minute

	// DefaultRefreshInterval is how often the JWK Set is fetched again
	// when VerifierOptions.RefreshInterval is zero.
	DefaultRefreshInterval = 5 * time.Minute

	// MinRefetchInterval is the shortest time between two fetches of the
	// JWK Set, whatever triggers them: a flood of assertions naming
	// unknown keys costs the JWKS URL at most one request per interval.
	MinRefetchInterval = 10 * time.Second
)

// Limits on what a Verifier reads.
const (
	maxTokenLen  = 32 << 10 // bytes of one assertion
	maxJWKSBytes = 1 << 20  // bytes of one JWK Set response
	fetchTimeout = 10 * time.Second
)

// sentinel is an error a caller branches on with errors.Is. A sentinel
// with a parent also matches its parent.
type sentinel struct {
	msg    string
	parent error
}

func (e *sentinel) Error() string { return e.msg }

func (e *sentinel) Is(target error) bool { return e.parent != nil && target == e.parent }

// Errors returned by Verifier.Verify. Every error Verify returns matches
// ErrInvalid; some also match a more specific one. None contains the
// token or any claim from it.
var (
	// ErrInvalid means the assertion must not be trusted: missing,
	// malformed, too large, not ES256, signed by an unknown key, a bad
	// signature, the wrong issuer or audience, issued in the future,
	// expired, or without a subject.
	ErrInvalid error = &sentinel{msg: "assertion: invalid"}

	// ErrExpired means the assertion was genuine but its exp has passed,
	// beyond the leeway. It also matches ErrInvalid.
	ErrExpired error = &sentinel{msg: "assertion: expired", parent: ErrInvalid}

	// ErrUnknownKey means the assertion names a key ("kid") that is not in
	// the JWK Set, even after fetching it again (or fetching was refused
	// because the last fetch is less than MinRefetchInterval old). It also
	// matches ErrInvalid.
	ErrUnknownKey error = &sentinel{msg: "assertion: unknown signing key", parent: ErrInvalid}
)

// VerifierOptions configures a Verifier. The zero value is not usable:
// JWKSURL, Issuer and Audience are required.
type VerifierOptions struct {
	// JWKSURL is where the signer's public keys are published: rezigate's
	// public URL + JWKSPath. Required. It must be an absolute https URL
	// without user info, query or fragment: whoever can answer it can
	// mint identities. Plain http is accepted only for a loopback host
	// (127.0.0.0/8, ::1, localhost), such as a rezigate sidecar.
	JWKSURL string

	// Issuer is the exact "iss" an assertion must carry: rezigate's
	// public_url. Required.
	Issuer string

	// Audience must be one of the assertion's "aud" values. Required.
	Audience string

	// HTTPClient fetches the JWK Set. Nil means a client with a 10s
	// timeout. A given client is copied and its CheckRedirect replaced so
	// that redirects are never followed (a redirect could lead to plain
	// http); every fetch is also bounded by 10s.
	HTTPClient *http.Client

	// Leeway is the clock skew allowed between signer and verifier when
	// checking "exp" and "iat". Zero means DefaultLeeway; negative or
	// above MaxLeeway is an error.
	Leeway time.Duration

	// RefreshInterval is how old the JWK Set may grow before a Verify call
	// fetches it again, so a key dropped by the signer stops verifying.
	// Zero means DefaultRefreshInterval; negative or below
	// MinRefetchInterval is an error. An assertion naming an unknown key
	// triggers an earlier fetch, at most once per MinRefetchInterval.
	RefreshInterval time.Duration

	// Now returns the current time for the claim checks and the refresh
	// schedule. Nil means time.Now; tests set explicit clocks.
	Now func() time.Time

	// Logger receives failed JWK Set refreshes and the middleware's
	// refusals (never a token). Nil means slog.Default().
	Logger *slog.Logger
}

// Validate reports every problem with o, joined with errors.Join; each
// problem reads "assertion: Field: what is wrong". It does no I/O.
func (o VerifierOptions) Validate() error {
	var errs []error
	if err := validateJWKSURL(o.JWKSURL); err != nil {
		errs = append(errs, err)
	}
	if o.Issuer == "" {
		errs = append(errs, errors.New("assertion: Issuer: required"))
	}
	if o.Audience == "" {
		errs = append(errs, errors.New("assertion: Audience: required"))
	}
	switch {
	case o.Leeway < 0:
		errs = append(errs, errors.New("assertion: Leeway: must not be negative"))
	case o.Leeway > MaxLeeway:
		errs = append(errs, errors.New("assertion: Leeway: must be at most 5m"))
	}
	if o.RefreshInterval < 0 || (o.RefreshInterval > 0 && o.RefreshInterval < MinRefetchInterval) {
		errs = append(errs, errors.New("assertion: RefreshInterval: must be zero (5m) or at least 10s"))
	}
	return errors.Join(errs...)
}

func validateJWKSURL(raw string) error {
	if _, err := httpurl.Parse(raw, httpurl.RequireSecure|httpurl.NoQuery); err != nil {
		return fmt.Errorf("assertion: JWKSURL: %w", err)
	}
	return nil
}

// keySet is one fetched JWK Set.
type keySet struct {
	keys    map[string]*ecdsa.PublicKey // by kid
	fetched time.Time
}

// Verifier checks assertions against the signer's published keys. It is
// safe for concurrent use; it holds no goroutine and needs no Close.
type Verifier struct {
	opts   VerifierOptions // defaults applied
	client *http.Client
	log    *slog.Logger
	keys   atomic.Pointer[keySet]

	// fetching is a one-slot semaphore held while the JWK Set is fetched;
	// lastFetch, guarded by it, is when the last fetch started.
	fetching  chan struct{}
	lastFetch time.Time
}

// NewVerifier checks opts, fetches the JWK Set once with ctx and returns a
// Verifier, or an error if the set cannot be fetched or holds no usable
// key. Later fetches happen inside Verify: see RefreshInterval.
func NewVerifier(ctx context.Context, opts VerifierOptions) (*Verifier, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Leeway == 0 {
		opts.Leeway = DefaultLeeway
	}
	if opts.RefreshInterval == 0 {
		opts.RefreshInterval = DefaultRefreshInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	v := &Verifier{opts: opts, log: opts.Logger, fetching: make(chan struct{}, 1)}
	if v.log == nil {
		v.log = slog.Default()
	}
	if opts.HTTPClient != nil {
		c := *opts.HTTPClient
		v.client = &c
	} else {
		v.client = &http.Client{Timeout: fetchTimeout}
	}
	v.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	v.fetching <- struct{}{}
	defer func() { <-v.fetching }()
	if err := v.fetchLocked(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

// Verified is a checked assertion: its identity and validity period.
type Verified struct {
	Claims

	// IssuedAt and Expiry are the "iat" and "exp" claims.
	IssuedAt, Expiry time.Time
}

// Verify checks token and returns what it asserts. It accepts only a
// compact JWS with alg ES256, typ JWT, a kid found in the JWK Set, a valid
// signature, iss equal to Issuer, aud containing Audience, a non-empty
// sub, iat not later than now + Leeway, exp not earlier than now - Leeway
// and exp - iat at most MaxLifetime. An unknown kid makes it fetch the JWK
// Set again (at most once per MinRefetchInterval), and a set older than
// RefreshInterval is fetched again first; ctx bounds those fetches. Every
// error matches ErrInvalid (see ErrExpired and ErrUnknownKey) and never
// contains the token.
func (v *Verifier) Verify(ctx context.Context, token string) (Verified, error) {
	if token == "" {
		return Verified{}, fmt.Errorf("%w: empty", ErrInvalid)
	}
	if len(token) > maxTokenLen {
		return Verified{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalid, maxTokenLen)
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		// go-jose's parse errors may quote the header, so they stay out.
		return Verified{}, fmt.Errorf("%w: not a compact JWS with alg ES256", ErrInvalid)
	}
	if len(tok.Headers) != 1 {
		return Verified{}, fmt.Errorf("%w: not exactly one signature", ErrInvalid)
	}
	h := tok.Headers[0]
	if typ := h.ExtraHeaders[jose.HeaderType]; typ != "JWT" {
		return Verified{}, fmt.Errorf("%w: typ is not JWT", ErrInvalid)
	}
	if h.KeyID == "" {
		return Verified{}, fmt.Errorf("%w: no kid", ErrInvalid)
	}
	v.refreshIfStale(ctx)
	pub, err := v.key(ctx, h.KeyID)
	if err != nil {
		return Verified{}, err
	}
	var std jwt.Claims
	var priv struct {
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
	}
	if err := tok.Claims(pub, &std, &priv); err != nil {
		if errors.Is(err, jose.ErrCryptoFailure) {
			return Verified{}, fmt.Errorf("%w: bad signature", ErrInvalid)
		}
		return Verified{}, fmt.Errorf("%w: malformed claims", ErrInvalid)
	}
	return v.check(std, priv.Email, priv.Groups)
}

// check applies the claim rules to a payload whose signature is valid.
func (v *Verifier) check(std jwt.Claims, email string, groups []string) (Verified, error) {
	switch {
	case std.Issuer != v.opts.Issuer:
		return Verified{}, fmt.Errorf("%w: wrong issuer", ErrInvalid)
	case !std.Audience.Contains(v.opts.Audience):
		return Verified{}, fmt.Errorf("%w: wrong audience", ErrInvalid)
	case std.Subject == "":
		return Verified{}, fmt.Errorf("%w: no subject", ErrInvalid)
	case std.IssuedAt == nil:
		return Verified{}, fmt.Errorf("%w: no iat", ErrInvalid)
	case std.Expiry == nil:
		return Verified{}, fmt.Errorf("%w: no exp", ErrInvalid)
	}
	now, leeway := v.opts.Now(), v.opts.Leeway
	iat, exp := std.IssuedAt.Time(), std.Expiry.Time()
	switch {
	case !exp.After(iat) || exp.Sub(iat) > MaxLifetime:
		return Verified{}, fmt.Errorf("%w: exp - iat is not within (0, %v]", ErrInvalid, MaxLifetime)
	case iat.After(now.Add(leeway)):
		return Verified{}, fmt.Errorf("%w: issued in the future", ErrInvalid)
	case std.NotBefore != nil && std.NotBefore.Time().After(now.Add(leeway)):
		return Verified{}, fmt.Errorf("%w: not valid yet", ErrInvalid)
	case !now.Add(-leeway).Before(exp):
		return Verified{}, ErrExpired
	}
	if len(groups) == 0 {
		groups = nil
	}
	return Verified{
		Claims:   Claims{Subject: std.Subject, Email: email, Groups: groups},
		IssuedAt: iat,
		Expiry:   exp,
	}, nil
}

// refreshIfStale fetches the JWK Set when it is older than
// RefreshInterval, unless another fetch is running or the last one is
// recent. A failure keeps the current keys and is logged.
func (v *Verifier) refreshIfStale(ctx context.Context) {
	if age := v.opts.Now().Sub(v.keys.Load().fetched); age >= 0 && age < v.opts.RefreshInterval {
		return
	}
	select {
	case v.fetching <- struct{}{}:
	default:
		return // another caller is fetching; use the current keys meanwhile
	}
	defer func() { <-v.fetching }()
	if v.recentFetchLocked() {
		return
	}
	if err := v.fetchLocked(ctx); err != nil {
		v.log.Warn("assertion: JWK Set refresh failed; keeping the previous keys", "err", err)
	}
}

// key returns the public key named kid, fetching the set again if kid is
// unknown and the last fetch is not recent.
func (v *Verifier) key(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	set := v.keys.Load()
	if k := set.keys[kid]; k != nil {
		return k, nil
	}
	select {
	case v.fetching <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrUnknownKey, ctx.Err())
	}
	defer func() { <-v.fetching }()
	if cur := v.keys.Load(); cur != set {
		// Someone fetched while we waited; that fetch is recent.
		if k := cur.keys[kid]; k != nil {
			return k, nil
		}
	}
	if v.recentFetchLocked() {
		return nil, ErrUnknownKey
	}
	if err := v.fetchLocked(ctx); err != nil {
		v.log.Warn("assertion: JWK Set fetch for an unknown key failed", "err", err)
		return nil, fmt.Errorf("%w: %w", ErrUnknownKey, err)
	}
	if k := v.keys.Load().keys[kid]; k != nil {
		return k, nil
	}
	return nil, ErrUnknownKey
}

// recentFetchLocked reports whether the last fetch started less than
// MinRefetchInterval ago. The caller holds v.fetching.
func (v *Verifier) recentFetchLocked() bool {
	d := v.opts.Now().Sub(v.lastFetch)
	return !v.lastFetch.IsZero() && d >= 0 && d < MinRefetchInterval
}

// fetchLocked fetches the JWK Set and installs it. The caller holds
// v.fetching.
func (v *Verifier) fetchLocked(ctx context.Context) error {
	now := v.opts.Now()
	v.lastFetch = now
	keys, err := v.fetch(ctx)
	if err != nil {
		return fmt.Errorf("assertion: fetch JWK Set: %w", err)
	}
	v.keys.Store(&keySet{keys: keys, fetched: now})
	return nil
}

func (v *Verifier) fetch(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.opts.JWKSURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxJWKSBytes))
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("body larger than %d bytes", maxJWKSBytes)
	}
	return parseJWKS(body)
}

// parseJWKS returns the usable keys of a JWK Set by kid: EC P-256 public
// keys with a kid, alg ES256 or none, use sig or none. Other keys are
// skipped, so a set may also list keys this package does not use; a set
// without a usable key is an error.
func parseJWKS(body []byte) (map[string]*ecdsa.PublicKey, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, errors.New("not a JWK Set")
	}
	keys := make(map[string]*ecdsa.PublicKey, len(raw.Keys))
	for _, r := range raw.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(r); err != nil {
			continue
		}
		pub, ok := k.Key.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() || k.KeyID == "" ||
			(k.Algorithm != "" && k.Algorithm != string(jose.ES256)) || (k.Use != "" && k.Use != "sig") {
			continue
		}
		if _, dup := keys[k.KeyID]; !dup {
			keys[k.KeyID] = pub
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("no EC P-256 signing key with a kid in the JWK Set")
	}
	return keys, nil
}
