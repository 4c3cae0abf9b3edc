package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// maxUserInfoBytes caps a userinfo response: a few claims, never megabytes.
const maxUserInfoBytes = 1 << 20

// userInfoClaims are the userinfo claims Exchange uses. They are decoded
// as any so that a provider's odd types (email_verified as a string, a
// number for an email) are judged by the same rules as the ID token's
// instead of failing the decoding.
type userInfoClaims struct {
	Subject       any `json:"sub"`
	Email         any `json:"email"`
	EmailVerified any `json:"email_verified"`
}

// userInfo asks the provider's userinfo endpoint (OpenID Connect Core 1.0
// section 5.3) about the user the access token was issued for, and checks
// that the answer is about subject, the verified ID token's sub.
//
// It uses p.client directly. The token goes as a Bearer token (RFC 6750
// section 2.1) whatever the spelling of the token response's token_type.
// Signed (application/jwt) responses are refused rather than read
// unverified.
func (p *Provider) userInfo(ctx context.Context, endpoint, accessToken, subject string) (userInfoClaims, error) {
	if accessToken == "" {
		return userInfoClaims{}, errors.New("oidc: userinfo: token response has no access_token")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return userInfoClaims{}, fmt.Errorf("oidc: userinfo: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return userInfoClaims{}, fmt.Errorf("oidc: userinfo: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The body is not kept: it is the provider's to word, and nothing
		// in it changes the outcome.
		return userInfoClaims{}, fmt.Errorf("oidc: userinfo: provider answered %d", resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/jwt" {
		return userInfoClaims{}, errors.New("oidc: userinfo: signed (application/jwt) responses are not supported")
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUserInfoBytes+1))
	if err != nil {
		return userInfoClaims{}, fmt.Errorf("oidc: userinfo: read response: %w", err)
	}
	if len(body) > maxUserInfoBytes {
		return userInfoClaims{}, fmt.Errorf("oidc: userinfo: response larger than %d bytes", maxUserInfoBytes)
	}
	return parseUserInfo(body, subject)
}

// parseUserInfo decodes a userinfo response body and checks that its sub
// is exactly subject (OpenID Connect Core 1.0 section 5.3.2); a missing or
// non-string sub is a mismatch too.
func parseUserInfo(body []byte, subject string) (userInfoClaims, error) {
	var c userInfoClaims
	if err := json.Unmarshal(body, &c); err != nil {
		return userInfoClaims{}, fmt.Errorf("oidc: userinfo: response is not a JSON object: %w", err)
	}
	if sub, ok := c.Subject.(string); !ok || sub == "" || sub != subject {
		return userInfoClaims{}, ErrUserInfoSubject
	}
	return c, nil
}
