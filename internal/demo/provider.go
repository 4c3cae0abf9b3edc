package demo

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/rezigate/rezigate/internal/httpurl"
)

const (
	// codeTTL bounds how long a stolen or leaked code is worth anything.
	codeTTL = 60 * time.Second
	// tokenTTL is the lifetime of ID and access tokens.
	tokenTTL = 5 * time.Minute
	// rsaBits is the smallest size current verifiers accept without warnings.
	rsaBits = 2048
	// maxFormBytes caps request bodies: no legitimate form here is larger.
	maxFormBytes = 64 << 10
)

// User is an account of the demo OpenID provider.
type User struct {
	// Email is the login name and the "email" claim, sent exactly as given.
	// Required; matched case-insensitively and without surrounding
	// whitespace at the login form, so tests can give a user a malformed
	// claim such as " alice@example.com".
	Email string
	// Password is compared in constant time. Required: an empty password
	// would let anyone sign in as the user.
	Password string
	// Subject is the "sub" claim; it must stay the same for a person, since
	// relying parties key their users on it. Empty means a value derived from
	// Email, which is stable across restarts.
	Subject string
	// Name is the "name" claim; empty leaves the claim out.
	Name string
	// EmailVerified is the "email_verified" claim; false lets tests exercise
	// a relying party's refusal of unverified addresses.
	EmailVerified bool
	// Groups is the "groups" claim of the ID token; nil or empty leaves
	// the claim out.
	Groups []string
}

// String prints the user without the password, so a user in a log line or a
// test failure never leaks it.
func (u User) String() string {
	return fmt.Sprintf("demo.User{Email: %q, Subject: %q, Password: REDACTED}", u.Email, u.Subject)
}

// LogValue keeps the password out of structured logs.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.String("email", u.Email), slog.String("subject", u.Subject), slog.String("password", "REDACTED"))
}

// ProviderOptions configures NewProvider.
type ProviderOptions struct {
	// Issuer is the absolute http(s) URL the provider is served at, with no
	// trailing slash, query or fragment. Required. It is the "iss" claim and
	// the base of every endpoint; verifiers compare it byte for byte.
	Issuer string
	// ClientID is the one client the provider knows. Required.
	ClientID string
	// ClientSecret authenticates the client at the token endpoint (HTTP
	// Basic or client_secret_post). Required: without it anyone holding a
	// code could redeem it.
	ClientSecret string
	// RedirectURIs are the allowed redirect_uri values, matched exactly.
	// Empty means any absolute http(s) URL, which is an open redirect for
	// codes and only fit for tests; it also means /logout never redirects.
	RedirectURIs []string
	// Users are the accounts that can sign in. Empty means nobody can.
	Users []User
	// Logger receives one line per notable event, never a secret, code or
	// token. Nil means slog.Default().
	Logger *slog.Logger
}

// String prints the options without the client secret.
func (o ProviderOptions) String() string {
	return fmt.Sprintf("demo.ProviderOptions{Issuer: %q, ClientID: %q, ClientSecret: REDACTED, %d users}", o.Issuer, o.ClientID, len(o.Users))
}

// LogValue keeps the client secret out of structured logs.
func (o ProviderOptions) LogValue() slog.Value {
	return slog.GroupValue(slog.String("issuer", o.Issuer), slog.String("client_id", o.ClientID), slog.String("client_secret", "REDACTED"))
}

// Fault makes the provider misbehave on purpose, so relying parties can
// prove they refuse what they must refuse.
type Fault int

const (
	// FaultNone is correct behaviour.
	FaultNone Fault = iota
	// FaultWrongNonce issues ID tokens whose nonce differs from the one
	// given at /auth.
	FaultWrongNonce
	// FaultWrongAudience issues ID tokens for another client.
	FaultWrongAudience
	// FaultWrongIssuer issues ID tokens naming another issuer.
	FaultWrongIssuer
	// FaultExpired issues ID tokens whose exp is in the past.
	FaultExpired
	// FaultWrongKey signs ID tokens with a key that is not in the JWKS but
	// carries the current key's kid, as a forger would.
	FaultWrongKey
	// FaultTokenError makes the token endpoint answer 400 invalid_grant.
	FaultTokenError
	// FaultNoEmail leaves the email claim out of ID tokens and userinfo.
	FaultNoEmail
	// FaultEmailOnlyInUserinfo leaves email and email_verified out of ID
	// tokens and serves them only at userinfo, as some providers do by
	// default.
	FaultEmailOnlyInUserinfo
	// FaultUserinfoOtherSubject is FaultEmailOnlyInUserinfo with a
	// userinfo response that names another subject than the ID token.
	FaultUserinfoOtherSubject
	// FaultUserinfoUnverified is FaultEmailOnlyInUserinfo with a userinfo
	// response that says email_verified false, whatever the user's
	// EmailVerified.
	FaultUserinfoUnverified
	// FaultUserinfoVerifiedString is FaultEmailOnlyInUserinfo with
	// email_verified sent as the JSON string "true" or "false", as some
	// providers do.
	FaultUserinfoVerifiedString
	// FaultNoUserinfo leaves the email claim out of ID tokens, drops
	// userinfo_endpoint from discovery and answers 404 at /userinfo.
	// Discovery is read once, so set it before the relying party starts.
	FaultNoUserinfo
	// FaultRefreshUnavailable makes the token endpoint answer refresh
	// requests with 503, as a provider that is down; the refresh token
	// stays valid.
	FaultRefreshUnavailable
)

// String names the fault for test output.
func (f Fault) String() string {
	switch f {
	case FaultNone:
		return "FaultNone"
	case FaultWrongNonce:
		return "FaultWrongNonce"
	case FaultWrongAudience:
		return "FaultWrongAudience"
	case FaultWrongIssuer:
		return "FaultWrongIssuer"
	case FaultExpired:
		return "FaultExpired"
	case FaultWrongKey:
		return "FaultWrongKey"
	case FaultTokenError:
		return "FaultTokenError"
	case FaultNoEmail:
		return "FaultNoEmail"
	case FaultEmailOnlyInUserinfo:
		return "FaultEmailOnlyInUserinfo"
	case FaultUserinfoOtherSubject:
		return "FaultUserinfoOtherSubject"
	case FaultUserinfoUnverified:
		return "FaultUserinfoUnverified"
	case FaultUserinfoVerifiedString:
		return "FaultUserinfoVerifiedString"
	case FaultNoUserinfo:
		return "FaultNoUserinfo"
	case FaultRefreshUnavailable:
		return "FaultRefreshUnavailable"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Provider is a small OpenID Connect provider: authorization code flow with
// mandatory PKCE (S256), RS256 ID tokens, discovery, JWKS, userinfo and
// RP-initiated logout. It keeps no login session, so every /auth shows the
// login form. Its state lives in memory; it is safe for concurrent use.
type Provider struct {
	issuer   string
	basePath string // issuer's path, so the provider can be mounted under it
	clientID string
	secret   []byte
	// redirects holds the allowed redirect URIs; nil allows any.
	redirects map[string]bool
	// origins are the scheme://host of the registered redirect URIs, the
	// only places /logout sends a browser to.
	origins map[string]bool
	users   map[string]User // by lower-case email
	log     *slog.Logger
	now     func() time.Time

	fault atomic.Int32

	keyMu sync.RWMutex
	key   *signingKey

	rogueMu sync.Mutex
	rogue   *rsa.PrivateKey

	mu     sync.Mutex
	codes  map[string]*authCode
	access map[string]*accessGrant
	// Refresh tokens, and what changed about users since the provider
	// was built (see provider_refresh.go); all under mu.
	refresh  map[string]*refreshGrant
	disabled map[string]bool     // by lower-case login email
	emails   map[string]string   // new email claims, by lower-case login email
	groups   map[string][]string // new groups claims, by lower-case login email
	verified map[string]bool     // new email_verified claims, by lower-case login email
	sids     map[string]string   // the latest sign-in's sid, by lower-case login email
	// refreshCalls counts refresh_token grant requests.
	refreshCalls atomic.Int64
}

type signingKey struct {
	priv *rsa.PrivateKey
	kid  string
}

type authCode struct {
	clientID    string
	redirectURI string
	challenge   string
	nonce       string
	user        User
	expires     time.Time
	scope       string // the scopes asked for
	sid         string // the provider session of this sign-in
}

type accessGrant struct {
	user    User
	expires time.Time
}

// NewProvider checks opts and generates the first signing key.
func NewProvider(opts ProviderOptions) (*Provider, error) {
	var errs []error
	iss, err := httpurl.Parse(opts.Issuer, httpurl.NoQuery)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("issuer: %w", err))
	case strings.HasSuffix(opts.Issuer, "/"):
		errs = append(errs, errors.New("issuer: must have no trailing slash"))
	}
	if opts.ClientID == "" {
		errs = append(errs, errors.New("client_id: required"))
	}
	if opts.ClientSecret == "" {
		errs = append(errs, errors.New("client_secret: required"))
	}
	var redirects, origins map[string]bool
	if len(opts.RedirectURIs) > 0 {
		redirects, origins = map[string]bool{}, map[string]bool{}
	}
	for i, ru := range opts.RedirectURIs {
		u, ok := parseHTTPURL(ru)
		if !ok {
			errs = append(errs, fmt.Errorf("redirect_uris[%d]: must be an absolute http(s) URL without fragment", i))
			continue
		}
		redirects[ru] = true
		origins[origin(u)] = true
	}
	users := map[string]User{}
	for i, u := range opts.Users {
		key := strings.ToLower(strings.TrimSpace(u.Email))
		switch {
		case key == "":
			errs = append(errs, fmt.Errorf("users[%d].email: required", i))
		case u.Password == "":
			errs = append(errs, fmt.Errorf("users[%d].password: required", i))
		case users[key].Email != "":
			errs = append(errs, fmt.Errorf("users[%d].email: duplicate", i))
		default:
			if u.Subject == "" {
				sum := sha256.Sum256([]byte("demo-subject|" + key))
				u.Subject = hex.EncodeToString(sum[:12])
			}
			users[key] = u
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("demo: new provider: %w", errors.Join(errs...))
	}
	key, err := newSigningKey()
	if err != nil {
		return nil, fmt.Errorf("demo: new provider: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Provider{
		issuer:    opts.Issuer,
		basePath:  iss.Path,
		clientID:  opts.ClientID,
		secret:    []byte(opts.ClientSecret),
		redirects: redirects,
		origins:   origins,
		users:     users,
		log:       log,
		now:       time.Now,
		key:       key,
		codes:     map[string]*authCode{},
		access:    map[string]*accessGrant{},
		refresh:   map[string]*refreshGrant{},
		disabled:  map[string]bool{},
		emails:    map[string]string{}, groups: map[string][]string{}, verified: map[string]bool{},
		sids: map[string]string{},
	}, nil
}

// String names the provider without any key material.
func (p *Provider) String() string { return "demo.Provider{" + p.issuer + "}" }

// Issuer returns the issuer URL, exactly as relying parties must configure it.
func (p *Provider) Issuer() string { return p.issuer }

// SetFault switches the provider's misbehaviour; FaultNone restores it. It
// applies to token requests that start after it returns.
func (p *Provider) SetFault(f Fault) { p.fault.Store(int32(f)) }

// RotateKey replaces the signing key with a new one under a new kid. The
// JWKS then serves only the new key, so tokens signed before no longer
// verify, as after a real provider's emergency rotation.
func (p *Provider) RotateKey() error {
	key, err := newSigningKey()
	if err != nil {
		return fmt.Errorf("demo: rotate key: %w", err)
	}
	p.keyMu.Lock()
	p.key = key
	p.keyMu.Unlock()
	p.log.Info("demo provider: signing key rotated", "kid", key.kid)
	return nil
}

func newSigningKey() (*signingKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, fmt.Errorf("generate rsa key: %w", err)
	}
	pub := jose.JSONWebKey{Key: &priv.PublicKey}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("key thumbprint: %w", err)
	}
	return &signingKey{priv: priv, kid: base64.RawURLEncoding.EncodeToString(tp)}, nil
}

func (p *Provider) currentKey() *signingKey {
	p.keyMu.RLock()
	defer p.keyMu.RUnlock()
	return p.key
}

// rogueKey is generated on first use: most runs never need it, and a
// 2048-bit key costs noticeable time on a small machine.
func (p *Provider) rogueKey() (*rsa.PrivateKey, error) {
	p.rogueMu.Lock()
	defer p.rogueMu.Unlock()
	if p.rogue == nil {
		k, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return nil, fmt.Errorf("generate rsa key: %w", err)
		}
		p.rogue = k
	}
	return p.rogue, nil
}

// ServeHTTP serves the provider's endpoints under the issuer's path. A
// caller that strips that path first (http.StripPrefix) is served the same.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if rest, ok := strings.CutPrefix(path, p.basePath); ok && p.basePath != "" && strings.HasPrefix(rest, "/") {
		path = rest
	}
	switch path {
	case "/.well-known/openid-configuration":
		p.serveDiscovery(w, r)
	case "/keys":
		p.serveKeys(w, r)
	case "/auth":
		p.serveAuth(w, r)
	case "/token":
		p.serveToken(w, r)
	case "/userinfo":
		p.serveUserinfo(w, r)
	case "/logout":
		p.serveLogout(w, r)
	default:
		http.NotFound(w, r)
	}
}

func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (p *Provider) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	doc := map[string]any{
		"issuer":                                p.issuer,
		"authorization_endpoint":                p.issuer + "/auth",
		"token_endpoint":                        p.issuer + "/token",
		"jwks_uri":                              p.issuer + "/keys",
		"userinfo_endpoint":                     p.issuer + "/userinfo",
		"end_session_endpoint":                  p.issuer + "/logout",
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{"openid", "email", "profile", "offline_access"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified", "name", "sid"},
		"backchannel_logout_supported":          true,
		"backchannel_logout_session_supported":  true,
	}
	if Fault(p.fault.Load()) == FaultNoUserinfo {
		delete(doc, "userinfo_endpoint")
	}
	writeJSON(w, http.StatusOK, doc)
}

func (p *Provider) serveKeys(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	k := p.currentKey()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key:       &k.priv.PublicKey,
		KeyID:     k.kid,
		Algorithm: string(jose.RS256),
		Use:       "sig",
	}}}
	// Rotation tests expect the new key at once.
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, set)
}

// sweepLocked drops expired codes and access tokens so abandoned flows do not
// accumulate. p.mu must be held.
func (p *Provider) sweepLocked(now time.Time) {
	for k, c := range p.codes {
		if now.After(c.expires) {
			delete(p.codes, k)
		}
	}
	for k, g := range p.access {
		if now.After(g.expires) {
			delete(p.access, k)
		}
	}
}

// randomToken returns 256 bits from crypto/rand, base64url-encoded.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// parseHTTPURL accepts an absolute http(s) URL as package httpurl does:
// with a host, without fragment or user info, and without characters
// browsers and Go would read differently.
func parseHTTPURL(s string) (*url.URL, bool) {
	u, err := httpurl.Parse(s, 0)
	return u, err == nil
}

func origin(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}
