package oidc

import (
	"context"
	"errors"
	"fmt"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// ErrRefreshRefused means the provider refused the refresh token with
// invalid_grant (RFC 6749 section 5.2): the user was disabled or signed
// out there, or the token was revoked, expired or already used. The
// session it belongs to must end.
var ErrRefreshRefused = errors.New("oidc: refresh token refused")

// Refresh redeems refreshToken at the provider's token endpoint (OpenID
// Connect Core 1.0 section 12), which re-checks that the user may still
// sign in, and returns what the provider now says about the user with the
// refresh token to keep: a new one when the provider rotates them, else
// refreshToken itself.
//
// When the response carries an ID token, it is verified (signature,
// issuer, audience, expiry; a refreshed ID token has no nonce to check)
// and read as Exchange reads one, email from userinfo included. Without
// one (OpenID Connect makes it optional here), the Identity is zero but
// for Issuer: the provider only said that the user may stay, and the
// caller keeps what it knew. The caller must check that a non-empty
// Subject is the session's.
//
// A refusal is ErrRefreshRefused. ErrNoEmail, ErrBadEmail and
// ErrUserInfoSubject mean the same as for Exchange. Any other error (the
// provider unreachable, slow, or answering 5xx) says nothing about the
// user. Error texts never include a token or a response body.
func (p *Provider) Refresh(ctx context.Context, refreshToken string) (id Identity, newRefreshToken string, err error) {
	d := p.state.Load()
	if d == nil {
		return Identity{}, "", ErrNotReady
	}
	if refreshToken == "" {
		return Identity{}, "", errors.New("oidc: refresh: no refresh token")
	}
	ctx = gooidc.ClientContext(ctx, p.client)
	tok, err := d.oauth2.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			if re.ErrorCode == "invalid_grant" {
				return Identity{}, "", ErrRefreshRefused
			}
			if re.Response != nil {
				return Identity{}, "", fmt.Errorf("oidc: refresh: provider answered %d %q", re.Response.StatusCode, safeCode(re.ErrorCode))
			}
			return Identity{}, "", errors.New("oidc: refresh: provider refused the request")
		}
		return Identity{}, "", fmt.Errorf("oidc: refresh: %w", err)
	}
	newRefreshToken = tok.RefreshToken
	if newRefreshToken == "" {
		newRefreshToken = refreshToken
	}
	id = Identity{Issuer: p.opts.IssuerURL}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return id, newRefreshToken, nil
	}
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, "", fmt.Errorf("oidc: refresh: verify id token: %w", err)
	}
	id, err = p.readIdentity(ctx, d, idt, tok.AccessToken)
	if err != nil {
		return Identity{}, "", err
	}
	id.IDToken = raw
	return id, newRefreshToken, nil
}

// safeCode keeps a provider's OAuth2 error code printable and short for
// an error text.
func safeCode(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return "unknown"
		}
	}
	return s
}
