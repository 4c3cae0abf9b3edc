package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/rezigate/rezigate/internal/httpurl"
	"github.com/rezigate/rezigate/optionerr"
)

// Errors that callers branch on.
var (
	// ErrNotReady means the discovery document has not been loaded yet:
	// the provider was unreachable at start and is still being retried.
	ErrNotReady = errors.New("oidc: provider not ready")
	// ErrNonceMismatch means the ID token's nonce is not the one sent with
	// this sign-in attempt: a replayed or injected token.
	ErrNonceMismatch = errors.New("oidc: nonce mismatch")
	// ErrNoEmail means the user has no email address at the provider:
	// the ID token carries no email claim, and neither does the userinfo
	// response (or the provider has no userinfo endpoint).
	ErrNoEmail = errors.New("oidc: no email claim")
	// ErrBadEmail means the email claim is not one plain address (an RFC
	// 5322 addr-spec with exactly one '@'): it has a display name, a list,
	// quotes, comments, whitespace or control characters, so its domain
	// cannot be trusted. The claim's value is in no error text.
	ErrBadEmail = errors.New("oidc: email claim is not a single plain address")
	// ErrUserInfoSubject means the userinfo response names another
	// subject than the ID token (OpenID Connect Core 1.0 section 5.3.2):
	// its claims are not about the user who signed in.
	ErrUserInfoSubject = errors.New("oidc: userinfo subject differs from the id token's")
)

// Defaults for zero Options fields.
const (
	// DefaultHTTPTimeout bounds each call to the provider when
	// Options.HTTPClient is nil.
	DefaultHTTPTimeout = 10 * time.Second
	// DefaultDiscoveryRetryMax caps the backoff between discovery
	// attempts when Options.DiscoveryRetryMax is zero.
	DefaultDiscoveryRetryMax = 30 * time.Second
)

// DefaultScopes are the scopes requested when Options.Scopes is nil. New
// copies them, so changing this variable later affects no Provider.
var DefaultScopes = []string{gooidc.ScopeOpenID, "email", "profile"}

// Options configure a Provider. IssuerURL, ClientID and RedirectURL are
// required; every other zero field means its documented default.
type Options struct {
	// IssuerURL is the provider's issuer; discovery is loaded from
	// IssuerURL + "/.well-known/openid-configuration" and the ID token's
	// iss claim must equal it exactly. It must be an absolute https URL
	// without user info, query or fragment; plain http is accepted only on
	// a loopback host: an address in 127.0.0.0/8, ::1, or the exact name
	// localhost (a name like 127.example.com is not loopback).
	IssuerURL string
	// ClientID is the client registered at the provider; ID tokens must
	// name it in their audience. Required.
	ClientID string
	// ClientSecret authenticates the client at the token endpoint. Empty
	// means a public client, protected by PKCE alone. It is never logged.
	ClientSecret string
	// RedirectURL is the absolute http(s) callback URL registered at the
	// provider, without user info or fragment. Required.
	RedirectURL string
	// Scopes requested at sign-in. Nil means DefaultScopes. A non-nil
	// list must include "openid", since without it there is no ID token,
	// and each scope must be a scope token: printable ASCII without
	// spaces, quotes or backslashes.
	Scopes []string
	// HTTPClient makes every call to the provider. Nil means a client
	// with a DefaultHTTPTimeout timeout. It is passed explicitly on every
	// call rather than left in a context that go-oidc or x/oauth2 might
	// forget.
	HTTPClient *http.Client
	// GroupsClaim names the ID-token claim read into Identity.Groups: an
	// array of strings or a single string. Empty means DefaultGroupsClaim.
	// A claim of any other shape gives no groups (logged at debug level).
	GroupsClaim string
	// DiscoveryRetryMax caps the backoff between discovery attempts while
	// the provider is unreachable. Zero means DefaultDiscoveryRetryMax;
	// negative is an error.
	DiscoveryRetryMax time.Duration
	// Logger receives discovery failures. Nil means slog.Default().
	Logger *slog.Logger
	// Profile names the provider whose documented token shapes are read
	// its way (see Profile). Zero means ProfileGeneric. With ProfileEntra
	// the IssuerURL must name one tenant by its id, before "/v2.0", on
	// any host: "common", "organizations", "consumers" and the personal
	// accounts tenant are refused, since they admit accounts of other
	// organisations.
	Profile Profile
	// GraphURL is Microsoft Graph, asked with the sign-in's access token
	// for the user's groups when they overflow an Entra ID token
	// (ProfileEntra only). Empty means DefaultGraphURL. It must be an
	// https URL without query; plain http only on a loopback host, for
	// tests.
	GraphURL string
}

// LogValue keeps the client secret out of logs.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer_url", o.IssuerURL),
		slog.String("client_id", o.ClientID),
		slog.String("client_secret", redacted(o.ClientSecret)),
		slog.String("redirect_url", o.RedirectURL),
	)
}

// String keeps the client secret out of fmt output.
func (o Options) String() string { return o.LogValue().String() }

func redacted(s string) string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

// Validate reports every problem with o at once: errors.Join of
// *optionerr.Error values, one per field, that never contain a field's
// value. It does no I/O; nil means New accepts o.
func (o Options) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, optionerr.New("oidc", field, format, args...))
	}
	if _, err := httpurl.Parse(o.IssuerURL, httpurl.RequireSecure|httpurl.NoQuery); err != nil {
		add("IssuerURL", "%v", err)
	}
	if strings.TrimSpace(o.ClientID) == "" {
		add("ClientID", "required")
	}
	if _, err := httpurl.Parse(o.RedirectURL, 0); err != nil {
		add("RedirectURL", "%v", err)
	}
	if o.Scopes != nil {
		for i, sc := range o.Scopes {
			if !validScope(sc) {
				add(fmt.Sprintf("Scopes[%d]", i), "must be a scope name: printable ASCII without spaces, quotes or backslashes")
			}
		}
		if !slices.Contains(o.Scopes, gooidc.ScopeOpenID) {
			add("Scopes", "must include %q", gooidc.ScopeOpenID)
		}
	}
	if strings.TrimSpace(o.GroupsClaim) != o.GroupsClaim {
		add("GroupsClaim", "must not have leading or trailing spaces")
	}
	if o.DiscoveryRetryMax < 0 {
		add("DiscoveryRetryMax", "must not be negative")
	}
	if !o.Profile.valid() {
		add("Profile", "must be one of %s", profileList())
	}
	if o.Profile == ProfileEntra {
		if _, msg := entraTenant(o.IssuerURL); msg != "" {
			add("IssuerURL", "%s", msg)
		}
	}
	if o.GraphURL != "" {
		if o.Profile != ProfileEntra {
			add("GraphURL", "is only used with profile %q", ProfileEntra)
		} else if _, err := httpurl.Parse(o.GraphURL, httpurl.RequireSecure|httpurl.NoQuery); err != nil {
			add("GraphURL", "%v", err)
		}
	}
	return errors.Join(errs...)
}

// validScope reports whether s is a scope token (RFC 6749 section 3.3).
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return false
		}
	}
	return true
}

// Identity is what a verified ID token, and when it names no email the
// provider's userinfo endpoint, say about the user.
type Identity struct {
	// Issuer is the ID token's iss claim, equal to Options.IssuerURL.
	Issuer string
	// Subject is the provider's stable id for the user, from which the
	// uid is derived: the sub claim, or with ProfileEntra the oid claim
	// (sub is pairwise per app registration there, oid is the person's
	// in the tenant).
	Subject string
	// Email is the email claim, one plain address exactly as the provider
	// sent it (its domain is not lowercased). Exchange fails with
	// ErrNoEmail when absent and ErrBadEmail when it is anything else.
	Email string
	// EmailVerified is the email_verified claim from the same source as
	// Email: true for JSON true or the string "true", false otherwise,
	// including when absent.
	EmailVerified bool
	// Groups are the ID token's groups claim (Options.GroupsClaim) in the
	// order sent, without empty names, names with control characters and
	// repeats. Nil means the token has no such claim, or one of another
	// shape; an empty, non-nil slice means the claim is there and names no
	// group (a refresh then knows the user left every group).
	Groups []string
	// SID is the ID token's sid claim: the provider's session, which a
	// back-channel logout may name. Empty when the provider sent none (or
	// not as a string).
	SID string
	// Guest reports that the provider says the user is a guest of the
	// organisation rather than one of its members (ProfileEntra: the acct
	// claim is 1, the idp claim names another tenant, or "#EXT#" is in
	// preferred_username or upn). Always false with other profiles. The
	// policy refuses guests (policy.Identity.Guest).
	Guest bool
	// HostedDomain is the hd claim of a Google Workspace account
	// (ProfileGoogle); empty for a consumer Google account and with other
	// profiles.
	HostedDomain string
	// IDToken is the raw ID token the Identity was read from, verified:
	// the id_token_hint of RP-initiated logout. Empty when Refresh got no
	// ID token. It names the user: keep it sealed or encrypted, never log
	// it.
	IDToken string
	// RefreshToken is the provider's refresh token, set by Exchange when
	// the provider issued one (it does for the offline_access scope). It
	// is a secret: keep it only server-side, never log it.
	RefreshToken string
}

// discovered is the state loaded from the discovery document, swapped in
// atomically once, so request paths never lock.
type discovered struct {
	oauth2   oauth2.Config
	verifier *gooidc.IDTokenVerifier
	// logoutVerifier is verifier without the exp check, which
	// VerifyLogoutToken makes itself; same keys.
	logoutVerifier *gooidc.IDTokenVerifier
	endSession     string
	userInfo       string // userinfo_endpoint; "" when the provider has none
}

// Provider signs users in with one OpenID provider. It is safe for
// concurrent use.
type Provider struct {
	opts   Options
	client *http.Client
	log    *slog.Logger
	state  atomic.Pointer[discovered]
	ready  chan struct{}
	// tenant is the Entra tenant id of the issuer, lowercased
	// (ProfileEntra).
	tenant string
	// googleOffline: ProfileGoogle with offline_access in the scopes, asked
	// as access_type=offline and prompt=consent.
	googleOffline bool
	// keys bounds the fetches of the JWK Set, which verifies ID and
	// logout tokens alike (keyset.go).
	keys *keyFetchLimiter
}

// New validates opts and loads the discovery document. If the provider
// cannot be reached, New still returns a Provider and keeps retrying in
// the background until ctx is done; New only fails for invalid options,
// with Validate's error unchanged.
func New(ctx context.Context, opts Options) (*Provider, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Scopes == nil {
		opts.Scopes = DefaultScopes
		if opts.Profile == ProfileOkta {
			// Okta's org authorization server sends the groups claim
			// only for this scope.
			opts.Scopes = append(slices.Clone(DefaultScopes), "groups")
		}
	}
	opts.Profile = opts.Profile.orDefault()
	googleOffline := opts.Profile == ProfileGoogle && slices.Contains(opts.Scopes, offlineAccess)
	if googleOffline {
		// Google refuses the scope; AuthCodeURL asks its way instead.
		opts.Scopes = slices.DeleteFunc(slices.Clone(opts.Scopes), func(s string) bool { return s == offlineAccess })
	}
	tenant, _ := entraTenant(opts.IssuerURL) // only read with ProfileEntra, whose Validate checked it
	// A copy, so neither the caller nor a change to DefaultScopes can
	// alter the scopes of a running Provider.
	opts.Scopes = slices.Clone(opts.Scopes)
	if opts.DiscoveryRetryMax == 0 {
		opts.DiscoveryRetryMax = DefaultDiscoveryRetryMax
	}
	p := &Provider{
		opts:          opts,
		tenant:        tenant,
		googleOffline: googleOffline,
		client:        opts.HTTPClient,
		log:           opts.Logger,
		ready:         make(chan struct{}),
	}
	if p.client == nil {
		p.client = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	p.keys = newKeyFetchLimiter(p.client.Transport)
	if p.log == nil {
		p.log = slog.Default()
	}
	if err := p.discover(ctx); err != nil {
		p.log.Warn("oidc: discovery failed; retrying in the background", "issuer", opts.IssuerURL, "err", err)
		go p.retryDiscovery(ctx)
	}
	return p, nil
}

func (p *Provider) discover(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	gp, err := gooidc.NewProvider(gooidc.ClientContext(ctx, p.client), p.opts.IssuerURL)
	if err != nil {
		return fmt.Errorf("oidc: discovery: %w", err)
	}
	var extra struct {
		EndSession string   `json:"end_session_endpoint"`
		JWKSURI    string   `json:"jwks_uri"`
		Algorithms []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := gp.Claims(&extra); err != nil {
		return fmt.Errorf("oidc: discovery: %w", err)
	}
	d := &discovered{
		oauth2: oauth2.Config{
			ClientID:     p.opts.ClientID,
			ClientSecret: p.opts.ClientSecret,
			Endpoint:     gp.Endpoint(),
			RedirectURL:  p.opts.RedirectURL,
			Scopes:       p.opts.Scopes,
		},
		endSession: extra.EndSession,
		userInfo:   gp.UserInfoEndpoint(),
	}
	// One key set for ID tokens (sign-in, refresh) and logout tokens,
	// fetched through p.keys: at most once per MinKeyRefetchInterval. The
	// logout tokens' verifier leaves exp to VerifyLogoutToken, which
	// accepts a recent token without one.
	keys := gooidc.NewRemoteKeySet(gooidc.ClientContext(ctx, p.keys.client(p.client)), extra.JWKSURI)
	algs := signingAlgs(extra.Algorithms)
	d.verifier = gooidc.NewVerifier(p.opts.IssuerURL, keys, &gooidc.Config{ClientID: p.opts.ClientID, SupportedSigningAlgs: algs})
	d.logoutVerifier = gooidc.NewVerifier(p.opts.IssuerURL, keys, &gooidc.Config{ClientID: p.opts.ClientID, SupportedSigningAlgs: algs, SkipExpiryCheck: true})
	// Endpoints may carry a query (Azure AD B2C's end-session endpoint
	// names its policy in one).
	if _, err := httpurl.Parse(d.endSession, httpurl.RequireSecure); err != nil {
		d.endSession = ""
	}
	if _, err := httpurl.Parse(d.userInfo, httpurl.RequireSecure); d.userInfo != "" && err != nil {
		// The access token would cross the network in the clear.
		p.log.Warn("oidc: ignoring the userinfo_endpoint: not https", "issuer", p.opts.IssuerURL)
		d.userInfo = ""
	}
	p.state.Store(d)
	close(p.ready)
	return nil
}

// signingAlgs are the algorithms of the discovery document's
// id_token_signing_alg_values_supported that go-oidc verifies, as its
// Provider.Verifier would allow them; none means go-oidc's default,
// RS256.
func signingAlgs(advertised []string) []string {
	var algs []string
	for _, a := range advertised {
		switch a {
		case gooidc.RS256, gooidc.RS384, gooidc.RS512, gooidc.ES256, gooidc.ES384, gooidc.ES512,
			gooidc.PS256, gooidc.PS384, gooidc.PS512, gooidc.EdDSA:
			algs = append(algs, a)
		}
	}
	return algs
}

func (p *Provider) retryDiscovery(ctx context.Context) {
	wait := 250 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		err := p.discover(ctx)
		if err == nil {
			p.log.Info("oidc: discovery succeeded", "issuer", p.opts.IssuerURL)
			return
		}
		p.log.Warn("oidc: discovery failed", "issuer", p.opts.IssuerURL, "err", err, "retry_in", wait)
		wait = min(wait*2, p.opts.DiscoveryRetryMax)
	}
}

// Ready reports whether the discovery document has been loaded.
func (p *Provider) Ready() bool { return p.state.Load() != nil }

// WaitReady blocks until discovery succeeded or ctx is done.
func (p *Provider) WaitReady(ctx context.Context) error {
	select {
	case <-p.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("oidc: wait for discovery: %w", ctx.Err())
	}
}

// Issuer returns the configured issuer URL.
func (p *Provider) Issuer() string { return p.opts.IssuerURL }

// Profile returns the provider profile whose rules read its tokens:
// Options.Profile, or ProfileGeneric when it was zero.
func (p *Provider) Profile() Profile { return p.opts.Profile.orDefault() }

// ClientID returns the configured client id.
func (p *Provider) ClientID() string { return p.opts.ClientID }

// EndSessionURL returns the provider's end_session_endpoint (RP-Initiated
// Logout), or "" when it has none or discovery has not succeeded.
func (p *Provider) EndSessionURL() string {
	if d := p.state.Load(); d != nil {
		return d.endSession
	}
	return ""
}

// AuthCodeURL returns the authorization URL for one sign-in attempt. state
// and nonce must be fresh random values (see NewState) and verifier a PKCE
// verifier from oauth2.GenerateVerifier; all three are always sent.
func (p *Provider) AuthCodeURL(state, nonce, verifier string) (string, error) {
	d := p.state.Load()
	if d == nil {
		return "", ErrNotReady
	}
	opts := []oauth2.AuthCodeOption{gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if p.googleOffline {
		// Google ignores offline_access: a refresh token is asked with
		// access_type=offline, and prompt=consent makes Google issue one
		// at every sign-in, not only at the first consent.
		opts = append(opts, oauth2.AccessTypeOffline, oauth2.SetAuthURLParam("prompt", "consent"))
	}
	return d.oauth2.AuthCodeURL(state, opts...), nil
}

// offlineAccess is the scope that asks for a refresh token (OpenID
// Connect Core 1.0 section 11).
const offlineAccess = "offline_access"

// Exchange redeems code with the PKCE verifier, verifies the ID token
// (signature, issuer, audience, expiry) and its nonce, and returns the
// identity it asserts. Of the provider's tokens only the refresh token is
// returned (Identity.RefreshToken), for Refresh, with the raw ID token
// (Identity.IDToken), for the id_token_hint of sign-out; the access token
// is not kept.
//
// When the ID token has no email claim, email and email_verified come from
// the provider's userinfo endpoint, called with the access token, whose
// sub must equal the ID token's (else ErrUserInfoSubject); without a
// userinfo endpoint the result is ErrNoEmail. The email, from either
// source, must be one plain address (else ErrBadEmail).
//
// Once the ID token is verified, a failing Exchange still returns its
// Issuer and Subject (Email empty), so the caller can log who was
// refused; before that, the Identity is zero.
func (p *Provider) Exchange(ctx context.Context, code, verifier, nonce string) (Identity, error) {
	d := p.state.Load()
	if d == nil {
		return Identity{}, ErrNotReady
	}
	ctx = gooidc.ClientContext(ctx, p.client)
	tok, err := d.oauth2.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		// x/oauth2's RetrieveError prints the provider's response body;
		// keep only the OAuth2 error code.
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			return Identity{}, fmt.Errorf("oidc: exchange code: provider answered %d %q", re.Response.StatusCode, re.ErrorCode)
		}
		return Identity{}, fmt.Errorf("oidc: exchange code: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, errors.New("oidc: exchange code: no id_token in response")
	}
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("oidc: verify id token: %w", err)
	}
	// go-oidc does not check the nonce; without this check a token minted
	// for another sign-in attempt would be accepted.
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 || nonce == "" {
		return Identity{}, ErrNonceMismatch
	}
	id, err := p.readIdentity(ctx, d, idt, tok.AccessToken)
	if err != nil {
		return id, err
	}
	id.RefreshToken, id.IDToken = tok.RefreshToken, raw
	return id, nil
}

// NewState returns a fresh random value of 128 bits, URL-safe, for use as
// an OAuth2 state or OIDC nonce.
func NewState() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}
