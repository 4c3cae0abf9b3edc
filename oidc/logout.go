package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// BackchannelLogoutEvent is the member of a logout token's events claim
// that makes it one (OpenID Connect Back-Channel Logout 1.0 section 2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// MaxLogoutTokenSkew is how far in the future a logout token's iat may
// lie, for clocks that disagree a little.
const MaxLogoutTokenSkew = 2 * time.Minute

// MaxLogoutTokenAge is how long after its iat a logout token without an
// exp claim is accepted. Back-Channel Logout 1.0 requires exp, but Ory
// Hydra up to 2.3, authentik before 2025.8 and LemonLDAP send none;
// refusing their tokens would make logout at the provider silently end
// nothing here. A token without exp is a replay risk for ever, so it is
// held to this short window, and its jti must be remembered at least
// until iat + MaxLogoutTokenAge (Logout.Expiry).
const MaxLogoutTokenAge = 2 * time.Minute

// ErrBadLogoutToken means a logout token is not one this client may act
// on: see VerifyLogoutToken. Errors wrapping it say which check failed,
// never quoting the token.
var ErrBadLogoutToken = errors.New("oidc: invalid logout token")

// ErrLogoutNoObjectID means, with ProfileEntra, a logout token that names
// its user by sub alone (no oid, no sid). Entra uids are derived from oid
// and sub is pairwise, so no session can be found from it: ending nothing
// and answering success would hide that. The caller answers 400 and
// says so in its log; Entra ID itself ends sessions by front-channel
// logout, by sid.
var ErrLogoutNoObjectID = errors.New("oidc: entra: logout token names its user by sub only, and entra uids come from oid")

// Logout is what a verified logout token asks for: end the sessions of
// provider session SID, or when SID is empty every session of Subject.
type Logout struct {
	// Issuer is the token's iss, equal to Options.IssuerURL.
	Issuer string
	// Subject is the claim uids are derived from, as Identity.Subject:
	// the sub claim, or with ProfileEntra the oid claim (sub is pairwise
	// there, so a uid made from it would name nobody). Empty when the
	// token names only a sid.
	Subject string
	// SID is the sid claim; empty when the token names only a subject.
	SID string
	// JTI is the token's unique id, for replay detection. Never empty.
	JTI string
	// Expiry is until when the token is accepted, so how long JTI must be
	// remembered: the exp claim, or for a token without one, its iat plus
	// MaxLogoutTokenAge.
	Expiry time.Time
}

// VerifyLogoutToken checks a back-channel logout token (OpenID Connect
// Back-Channel Logout 1.0 section 2.6) with the keys and rules that
// verify ID tokens: signature by the provider's published keys, iss equal
// to the issuer, aud naming the client id, exp not passed. A token
// without exp (sent by providers that do not follow the specification
// there) is accepted only while its iat lies within the last
// MaxLogoutTokenAge. Then: iat present and at most MaxLogoutTokenSkew in
// the future, an events claim
// that is a JSON object holding BackchannelLogoutEvent as an object, sub
// and/or sid present as non-empty strings, a jti, and no nonce (which
// keeps an ID token from passing for a logout token). Replay of the jti
// is for the caller to refuse. With ProfileEntra, Logout.Subject is the
// oid claim, whose tid must be the issuer's tenant (else ErrWrongTenant),
// and a token that names its user by sub alone fails with
// ErrLogoutNoObjectID; both wrap ErrBadLogoutToken.
//
// Anyone can post a logout token, so one naming a key the provider never
// published must not cost the provider a request each time: the JWK Set
// shared with ID-token verification is fetched at most once per
// MinKeyRefetchInterval, whatever the tokens name.
func (p *Provider) VerifyLogoutToken(ctx context.Context, raw string) (Logout, error) {
	d := p.state.Load()
	if d == nil {
		return Logout{}, ErrNotReady
	}
	bad := func(why string) (Logout, error) {
		return Logout{}, fmt.Errorf("%w: %s", ErrBadLogoutToken, why)
	}
	if raw == "" || len(raw) > maxLogoutToken {
		return bad("empty or too long")
	}
	tok, err := d.logoutVerifier.Verify(gooidc.ClientContext(ctx, p.client), raw)
	if err != nil {
		return Logout{}, fmt.Errorf("%w: %w", ErrBadLogoutToken, err)
	}
	var claims map[string]json.RawMessage
	if err := tok.Claims(&claims); err != nil {
		return bad("claims are not a JSON object")
	}
	now := time.Now()
	_, hasExp := claims["exp"]
	if _, ok := claims["nonce"]; ok {
		return bad("has a nonce")
	}
	if _, ok := claims["iat"]; !ok || tok.IssuedAt.IsZero() {
		return bad("no iat")
	}
	if tok.IssuedAt.After(now.Add(MaxLogoutTokenSkew)) {
		return bad("iat in the future")
	}
	expiry := tok.Expiry
	switch {
	case hasExp && expiry.Before(now):
		// What go-oidc says of an expired ID token.
		return Logout{}, fmt.Errorf("%w: %w", ErrBadLogoutToken, &gooidc.TokenExpiredError{Expiry: expiry})
	case !hasExp:
		expiry = tok.IssuedAt.Add(MaxLogoutTokenAge)
		if expiry.Before(now) {
			return bad("no exp, and iat older than MaxLogoutTokenAge")
		}
	}
	var events map[string]json.RawMessage
	if json.Unmarshal(claims["events"], &events) != nil || events == nil {
		return bad("no events object")
	}
	var ev map[string]json.RawMessage
	if e, ok := events[BackchannelLogoutEvent]; !ok || json.Unmarshal(e, &ev) != nil || ev == nil {
		return bad("events lacks the back-channel logout event")
	}
	l := Logout{Issuer: tok.Issuer, Subject: tok.Subject, Expiry: expiry}
	if s, ok := stringClaim(claims, "sid"); ok {
		l.SID = s
	} else if _, present := claims["sid"]; present {
		return bad("sid is not a non-empty string")
	}
	if l.Subject == "" && l.SID == "" {
		return bad("neither sub nor sid")
	}
	if p.opts.Profile == ProfileEntra {
		// Entra ID sends no logout tokens (it loads the front-channel
		// logout URL, by sid), but one that names its user must name
		// the oid uids come from, of the tenant's own directory.
		l.Subject = ""
		if oid, ok := stringClaim(claims, "oid"); ok {
			if tid, _ := stringClaim(claims, "tid"); tid == "" || !strings.EqualFold(tid, p.tenant) {
				return Logout{}, fmt.Errorf("%w: %w", ErrBadLogoutToken, ErrWrongTenant)
			}
			l.Subject = oid
		}
		if l.Subject == "" && l.SID == "" {
			return Logout{}, fmt.Errorf("%w: %w", ErrBadLogoutToken, ErrLogoutNoObjectID)
		}
	}
	jti, ok := stringClaim(claims, "jti")
	if !ok {
		return bad("no jti")
	}
	l.JTI = jti
	return l, nil
}

// maxLogoutToken bounds a logout token's length: a few claims, signed.
const maxLogoutToken = 16 << 10

func stringClaim(claims map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := claims[name]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil || s == "" {
		return "", false
	}
	return s, true
}
