package demo

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// oauthError is the RFC 6749 section 5.2 error body. Descriptions are fixed
// strings: nothing a client sent is echoed back.
func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// equalSecret compares in constant time, also with respect to length, so the
// comparison reveals nothing about the secret.
func equalSecret(got, want []byte) bool {
	a, b := sha256.Sum256(got), sha256.Sum256(want)
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// clientCredentials reads the client's id and secret from HTTP Basic (where
// RFC 6749 section 2.3.1 form-encodes both) or the form. ok is false when the
// client used both methods, which the RFC forbids.
func clientCredentials(r *http.Request) (id, secret string, basic, ok bool) {
	if u, pw, has := r.BasicAuth(); has {
		if r.PostForm.Get("client_secret") != "" {
			return "", "", true, false
		}
		if v, err := url.QueryUnescape(u); err == nil {
			u = v
		}
		if v, err := url.QueryUnescape(pw); err == nil {
			pw = v
		}
		if fid := r.PostForm.Get("client_id"); fid != "" && fid != u {
			return "", "", true, false
		}
		return u, pw, true, true
	}
	return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), false, true
}

func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodPost) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	id, secret, basic, ok := clientCredentials(r)
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_request", "use exactly one client authentication method")
		return
	}
	// Both comparisons always run, so timing does not tell which was wrong.
	idOK := equalSecret([]byte(id), []byte(p.clientID))
	secretOK := equalSecret([]byte(secret), p.secret)
	if !idOK || !secretOK {
		p.log.Info("demo provider: token request rejected", "reason", "client authentication failed")
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		}
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
	case "refresh_token":
		p.serveRefresh(w, r, id)
		return
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code and refresh_token are supported")
		return
	}
	code := r.PostForm.Get("code")
	if code == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "code is required")
		return
	}
	// The code is consumed before any further check, so a failed attempt
	// cannot be retried with a better guess of the verifier.
	p.mu.Lock()
	ac := p.codes[code]
	delete(p.codes, code)
	p.mu.Unlock()
	fault := Fault(p.fault.Load())
	if fault == FaultTokenError {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the code is invalid")
		return
	}
	now := p.now()
	var reason string
	switch {
	case ac == nil:
		reason = "unknown or used code"
	case now.After(ac.expires):
		reason = "expired code"
	case ac.clientID != id:
		reason = "code issued to another client"
	case ac.redirectURI != r.PostForm.Get("redirect_uri"):
		reason = "redirect_uri differs from the authorization request"
	case !pkceMatches(r.PostForm.Get("code_verifier"), ac.challenge):
		reason = "pkce verifier does not match"
	}
	if reason != "" {
		p.log.Info("demo provider: token request rejected", "reason", reason)
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the code is invalid, expired, used, or does not match the request")
		return
	}
	idToken, err := p.idToken(ac, fault, now)
	if err != nil {
		p.log.Error("demo provider: sign id token", "err", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "could not issue tokens")
		return
	}
	at := randomToken()
	p.mu.Lock()
	p.sweepLocked(now)
	p.access[at] = &accessGrant{user: ac.user, expires: now.Add(tokenTTL)}
	p.mu.Unlock()
	p.log.Info("demo provider: tokens issued", "subject", ac.user.Subject, "fault", fault.String())
	resp := map[string]any{
		"access_token": at,
		"token_type":   "Bearer",
		"expires_in":   int(tokenTTL / time.Second),
		"id_token":     idToken,
	}
	if hasScope(ac.scope, "offline_access") {
		resp["refresh_token"] = p.newRefreshToken(ac)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

// pkceMatches checks an RFC 7636 S256 verifier against the stored challenge.
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for i := 0; i < len(verifier); i++ {
		c := verifier[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

type idClaims struct {
	Issuer        string   `json:"iss"`
	Subject       string   `json:"sub"`
	Audience      string   `json:"aud"`
	Expiry        int64    `json:"exp"`
	IssuedAt      int64    `json:"iat"`
	Nonce         string   `json:"nonce,omitempty"`
	Email         string   `json:"email,omitempty"`
	EmailVerified *bool    `json:"email_verified,omitempty"`
	Name          string   `json:"name,omitempty"`
	Groups        []string `json:"groups,omitempty"`
	SID           string   `json:"sid,omitempty"`
}

func (p *Provider) idToken(ac *authCode, fault Fault, now time.Time) (string, error) {
	c := idClaims{
		Issuer:        p.issuer,
		Subject:       ac.user.Subject,
		Audience:      ac.clientID,
		Expiry:        now.Add(tokenTTL).Unix(),
		IssuedAt:      now.Unix(),
		Nonce:         ac.nonce,
		Email:         ac.user.Email,
		EmailVerified: &ac.user.EmailVerified,
		Name:          ac.user.Name,
		Groups:        ac.user.Groups,
		SID:           ac.sid,
	}
	key := p.currentKey()
	signWith := key.priv
	switch fault {
	case FaultWrongNonce:
		c.Nonce = "wrong-" + randomToken()
	case FaultWrongAudience:
		c.Audience = "another-client"
	case FaultWrongIssuer:
		c.Issuer = "https://another-issuer.invalid"
	case FaultExpired:
		c.IssuedAt = now.Add(-2 * tokenTTL).Unix()
		c.Expiry = now.Add(-tokenTTL).Unix()
	case FaultWrongKey:
		k, err := p.rogueKey()
		if err != nil {
			return "", err
		}
		signWith = k
	case FaultNoEmail, FaultNoUserinfo:
		c.Email = ""
	case FaultEmailOnlyInUserinfo, FaultUserinfoOtherSubject, FaultUserinfoUnverified, FaultUserinfoVerifiedString:
		c.Email, c.EmailVerified = "", nil
	}
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.RS256,
		Key:       jose.JSONWebKey{Key: signWith, KeyID: key.kid, Algorithm: string(jose.RS256)},
	}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("new signer: %w", err)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return jws.CompactSerialize()
}

func (p *Provider) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var g *accessGrant
	if ok && tok != "" {
		p.mu.Lock()
		g = p.access[tok]
		p.mu.Unlock()
	}
	if g == nil || p.now().After(g.expires) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_token", "the access token is invalid or expired")
		return
	}
	fault := Fault(p.fault.Load())
	if fault == FaultNoUserinfo {
		http.NotFound(w, r)
		return
	}
	info := map[string]any{"sub": g.user.Subject, "email_verified": g.user.EmailVerified}
	if fault != FaultNoEmail {
		info["email"] = g.user.Email
	}
	switch fault {
	case FaultUserinfoOtherSubject:
		info["sub"] = "other-" + g.user.Subject
	case FaultUserinfoUnverified:
		info["email_verified"] = false
	case FaultUserinfoVerifiedString:
		info["email_verified"] = strconv.FormatBool(g.user.EmailVerified)
	}
	if g.user.Name != "" {
		info["name"] = g.user.Name
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, info)
}
