package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// refreshTTL is the lifetime of a refresh token.
const refreshTTL = 24 * time.Hour

// refreshGrant is what a refresh token stands for. Each is single use:
// redeeming it issues a new one (rotation), and the old one is gone.
type refreshGrant struct {
	login    string // lower-case login email
	clientID string
	scope    string
	sid      string
	expires  time.Time
}

// newRefreshToken issues a refresh token for the sign-in of ac.
func (p *Provider) newRefreshToken(ac *authCode) string {
	rt := randomToken()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refresh[rt] = &refreshGrant{login: p.loginOfLocked(ac.user.Subject), clientID: ac.clientID, scope: ac.scope, sid: ac.sid, expires: p.now().Add(refreshTTL)}
	return rt
}

// serveRefresh answers a refresh_token grant of client id (already
// authenticated): a new ID token, access token and refresh token for the
// user as the provider knows them now, or invalid_grant for a refresh
// token that is unknown, used, expired, another client's, or a disabled
// user's.
func (p *Provider) serveRefresh(w http.ResponseWriter, r *http.Request, id string) {
	p.refreshCalls.Add(1)
	fault := Fault(p.fault.Load())
	if fault == FaultRefreshUnavailable {
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the provider is down")
		return
	}
	rt := r.PostForm.Get("refresh_token")
	now := p.now()
	p.mu.Lock()
	g := p.refresh[rt]
	delete(p.refresh, rt)
	var reason string
	var user User
	switch {
	case rt == "" || g == nil:
		reason = "unknown or used refresh token"
	case now.After(g.expires):
		reason = "expired refresh token"
	case g.clientID != id:
		reason = "refresh token issued to another client"
	case p.disabled[g.login]:
		reason = "user disabled"
	default:
		user = p.currentLocked(p.users[g.login])
	}
	p.mu.Unlock()
	if reason != "" {
		p.log.Info("demo provider: refresh rejected", "reason", reason)
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is invalid, expired or used, or the user may no longer sign in")
		return
	}
	ac := &authCode{clientID: g.clientID, user: user, scope: g.scope, sid: g.sid}
	idToken, err := p.idToken(ac, fault, now)
	if err != nil {
		p.log.Error("demo provider: sign id token", "err", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "could not issue tokens")
		return
	}
	at, next := randomToken(), randomToken()
	p.mu.Lock()
	p.sweepLocked(now)
	p.access[at] = &accessGrant{user: user, expires: now.Add(tokenTTL)}
	p.refresh[next] = &refreshGrant{login: g.login, clientID: g.clientID, scope: g.scope, sid: g.sid, expires: now.Add(refreshTTL)}
	p.mu.Unlock()
	p.log.Info("demo provider: tokens refreshed", "subject", user.Subject)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  at,
		"token_type":    "Bearer",
		"expires_in":    int(tokenTTL / time.Second),
		"id_token":      idToken,
		"refresh_token": next,
	})
}

// RefreshCount reports how many refresh_token grant requests the token
// endpoint has answered, refused ones included.
func (p *Provider) RefreshCount() int { return int(p.refreshCalls.Load()) }

// DisableUser stops a user from signing in and refuses the user's refresh
// tokens with invalid_grant, as when an account is locked at a real
// provider. It reports whether the user exists.
func (p *Provider) DisableUser(email string) bool {
	key := strings.ToLower(strings.TrimSpace(email))
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.users[key]; !ok {
		return false
	}
	p.disabled[key] = true
	return true
}

// SetEmail changes the email claim of the user who signs in as login,
// from the next token on, as when an address is renamed at a real
// provider. It reports whether the user exists.
func (p *Provider) SetEmail(login, email string) bool {
	key := strings.ToLower(strings.TrimSpace(login))
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.users[key]; !ok {
		return false
	}
	p.emails[key] = email
	return true
}

// SetGroups changes the groups claim of the user who signs in as login,
// from the next token on (a refreshed ID token included), as when an
// administrator changes the user's groups at a real provider; nil or
// empty leaves the claim out. It reports whether the user exists.
func (p *Provider) SetGroups(login string, groups []string) bool {
	key := strings.ToLower(strings.TrimSpace(login))
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.users[key]; !ok {
		return false
	}
	p.groups[key] = slices.Clone(groups)
	return true
}

// SetEmailVerified changes the email_verified claim of the user who signs
// in as login, from the next token on. It reports whether the user
// exists.
func (p *Provider) SetEmailVerified(login string, verified bool) bool {
	key := strings.ToLower(strings.TrimSpace(login))
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.users[key]; !ok {
		return false
	}
	p.verified[key] = verified
	return true
}

// SID returns the sid of the latest sign-in of the user who signs in as
// login, or "" when there was none.
func (p *Provider) SID(login string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sids[strings.ToLower(strings.TrimSpace(login))]
}

func (p *Provider) isDisabled(u User) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.disabled[p.loginOfLocked(u.Subject)]
}

// currentLocked returns u with what changed since (SetEmail, SetGroups,
// SetEmailVerified). p.mu must be held.
func (p *Provider) currentLocked(u User) User {
	login := p.loginOfLocked(u.Subject)
	if e, ok := p.emails[login]; ok {
		u.Email = e
	}
	if g, ok := p.groups[login]; ok {
		u.Groups = g
	}
	if v, ok := p.verified[login]; ok {
		u.EmailVerified = v
	}
	return u
}

// newSIDLocked starts a provider session for a sign-in of u and returns
// its sid. p.mu must be held.
func (p *Provider) newSIDLocked(u User) string {
	sid := randomToken()[:22]
	p.sids[p.loginOfLocked(u.Subject)] = sid
	return sid
}

// loginOfLocked returns the key in p.users of the user with subject sub.
func (p *Provider) loginOfLocked(sub string) string {
	for k, u := range p.users {
		if u.Subject == sub {
			return k
		}
	}
	return ""
}

// LogoutToken describes a back-channel logout token (OpenID Connect
// Back-Channel Logout 1.0) for SignLogoutToken. The zero value, with
// Subject or SID set, is a valid token; the other fields make the token
// one a relying party must refuse.
type LogoutToken struct {
	// Subject is the sub claim; empty leaves it out.
	Subject string
	// SID is the sid claim; empty leaves it out.
	SID string
	// JTI is the token's id; empty means a fresh random one. Send the
	// same JTI twice to test replay detection.
	JTI string
	// NoJTI leaves the jti claim out.
	NoJTI bool
	// Audience replaces the client id in aud.
	Audience string
	// Nonce adds a nonce claim, which a logout token must not have.
	Nonce string
	// NoEvents leaves the events claim out.
	NoEvents bool
	// WrongKey signs with a key that is not in the JWKS, under the
	// current key's kid.
	WrongKey bool
	// IssuedAt replaces the iat claim (now); Expiry the exp claim (now +
	// 2 minutes).
	IssuedAt, Expiry time.Time
	// NoExpiry leaves the exp claim out, as Ory Hydra up to 2.3 does.
	NoExpiry bool
}

// SignLogoutToken returns a signed logout token as described by t.
func (p *Provider) SignLogoutToken(t LogoutToken) (string, error) {
	now := p.now()
	claims := map[string]any{
		"iss": p.issuer,
		"aud": p.clientID,
		"iat": now.Unix(),
		"exp": now.Add(2 * time.Minute).Unix(),
		"jti": t.JTI,
	}
	if t.JTI == "" {
		claims["jti"] = randomToken()
	}
	if t.NoJTI {
		delete(claims, "jti")
	}
	if !t.NoEvents {
		claims["events"] = map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}
	}
	if t.Subject != "" {
		claims["sub"] = t.Subject
	}
	if t.SID != "" {
		claims["sid"] = t.SID
	}
	if t.Audience != "" {
		claims["aud"] = t.Audience
	}
	if t.Nonce != "" {
		claims["nonce"] = t.Nonce
	}
	if !t.IssuedAt.IsZero() {
		claims["iat"] = t.IssuedAt.Unix()
	}
	if !t.Expiry.IsZero() {
		claims["exp"] = t.Expiry.Unix()
	}
	if t.NoExpiry {
		delete(claims, "exp")
	}
	key := p.currentKey()
	signWith := key.priv
	if t.WrongKey {
		k, err := p.rogueKey()
		if err != nil {
			return "", fmt.Errorf("demo: logout token: %w", err)
		}
		signWith = k
	}
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.RS256,
		Key:       jose.JSONWebKey{Key: signWith, KeyID: key.kid, Algorithm: string(jose.RS256)},
	}, (&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		return "", fmt.Errorf("demo: logout token: new signer: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("demo: logout token: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("demo: logout token: sign: %w", err)
	}
	return jws.CompactSerialize()
}

// SendBackchannelLogout signs a logout token as described by t and POSTs
// it, form-encoded as logout_token, to target (a relying party's
// back-channel logout URI), as a provider does when a user signs out
// there. It returns the response's status.
func (p *Provider) SendBackchannelLogout(ctx context.Context, client *http.Client, target string, t LogoutToken) (int, error) {
	tok, err := p.SignLogoutToken(t)
	if err != nil {
		return 0, err
	}
	return PostLogoutToken(ctx, client, target, tok)
}

// PostLogoutToken POSTs a logout token to target as a provider does and
// returns the response's status. A nil client means http.DefaultClient.
func PostLogoutToken(ctx context.Context, client *http.Client, target, token string) (int, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return 0, fmt.Errorf("demo: back-channel logout: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("demo: back-channel logout: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode == 0 {
		return 0, errors.New("demo: back-channel logout: no status")
	}
	return resp.StatusCode, nil
}
