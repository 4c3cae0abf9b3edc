package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// Profile names the identity provider rezigate signs in with, so that its
// documented token shapes are read its way (Options.Profile). A profile
// never pins the provider's host: the issuer is Options.IssuerURL and its
// discovery document gives every endpoint. The sign-in rules a profile
// adds (entra: no email_verified needed, email domains required, guests
// refused; google: the hd claim) are the policy package's
// (policy.Options.Provider), which takes the same names.
type Profile string

// The profiles. The zero Profile means ProfileGeneric.
const (
	// ProfileGeneric reads any OpenID Connect provider by the standard
	// claims: the uid from sub, email and email_verified (from userinfo
	// when the ID token has none), groups from Options.GroupsClaim.
	ProfileGeneric Profile = "generic"
	// ProfileEntra reads Microsoft Entra ID v2.0 tokens of one tenant: the
	// issuer must be tenant-specific and the token's tid must name that
	// tenant; Identity.Subject is the oid claim (the same for a person
	// across app registrations, where sub is pairwise per app); the email
	// is email, or else preferred_username when it is a plain address;
	// Identity.Guest is set for B2B guests; on groups overage the groups
	// are read from Microsoft Graph (Options.GraphURL).
	ProfileEntra Profile = "entra"
	// ProfileGoogle reads Google's tokens: Identity.HostedDomain is the hd
	// claim of a Google Workspace account (absent for consumer accounts),
	// and a refresh token is asked Google's way (access_type=offline and
	// prompt=consent), since Google ignores the offline_access scope.
	ProfileGoogle Profile = "google"
	// ProfileOkta reads Okta's tokens: groups from the groups claim, and
	// the groups scope is requested with the default scopes.
	ProfileOkta Profile = "okta"
	// ProfileKeycloak reads Keycloak's group membership mapper with "Full
	// group path" on: the leading "/" of each path is dropped, so that
	// "/staff" is the group "staff" and "/rms/admins" is "rms/admins".
	ProfileKeycloak Profile = "keycloak"
)

// Profiles lists every profile, in the order the documentation gives them.
func Profiles() []Profile {
	return []Profile{ProfileGeneric, ProfileEntra, ProfileGoogle, ProfileOkta, ProfileKeycloak}
}

// orDefault returns p, or ProfileGeneric for the zero Profile.
func (p Profile) orDefault() Profile {
	if p == "" {
		return ProfileGeneric
	}
	return p
}

// valid reports whether p is one of Profiles or zero.
func (p Profile) valid() bool {
	for _, q := range Profiles() {
		if p.orDefault() == q {
			return true
		}
	}
	return false
}

// DefaultGraphURL is Microsoft Graph, asked for a user's groups on groups
// overage with ProfileEntra when Options.GraphURL is empty.
const DefaultGraphURL = "https://graph.microsoft.com"

// entraMultiTenant are the Entra tenants that are not one organisation:
// any work account, any work or personal account, personal accounts, and
// the tenant id of personal (Microsoft) accounts. An issuer naming one of
// them would let people outside the organisation in.
var entraMultiTenant = []string{"common", "organizations", "consumers", "9188040d-6c67-4c5b-b112-36a304b66dad"}

// entraTenant returns the tenant of an Entra v2.0 issuer: its path
// segment before "/v2.0", whatever the host (login.microsoftonline.com,
// a sovereign cloud, or a loopback emulation). msg says what is wrong
// when the issuer names no single tenant.
func entraTenant(issuer string) (tenant, msg string) {
	u, err := url.Parse(issuer)
	if err != nil {
		return "", "must be an Entra v2.0 issuer"
	}
	rest, ok := strings.CutSuffix(strings.TrimSuffix(u.Path, "/"), "/v2.0")
	if !ok {
		return "", `with provider entra must be a v2.0 issuer such as "https://login.microsoftonline.com/{tenant-id}/v2.0"`
	}
	tenant = rest[strings.LastIndexByte(rest, '/')+1:]
	for _, m := range entraMultiTenant {
		if strings.EqualFold(tenant, m) {
			return "", `with provider entra must name one tenant by its id, not "` + m + `", which admits accounts of other organisations`
		}
	}
	if !isGUID(tenant) {
		return "", `with provider entra must name the tenant by its id (a GUID), as the tenant's discovery document gives the issuer`
	}
	return strings.ToLower(tenant), ""
}

// isGUID reports whether s is a GUID in its 8-4-4-4-12 hex form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// profileClaims are the claims the profiles read beyond the standard ones.
// They are decoded as any so that an odd type is judged, not a decoding
// failure.
type profileClaims struct {
	Email             any             `json:"email"`
	EmailVerified     any             `json:"email_verified"`
	SID               any             `json:"sid"`
	OID               any             `json:"oid"`
	TID               any             `json:"tid"`
	PreferredUsername any             `json:"preferred_username"`
	UPN               any             `json:"upn"`
	Acct              any             `json:"acct"`
	IDP               any             `json:"idp"`
	HD                any             `json:"hd"`
	HasGroups         any             `json:"hasgroups"`
	ClaimNames        json.RawMessage `json:"_claim_names"`
}

// profileList is the profiles for an error text: "generic", "entra", ….
func profileList() string {
	var b strings.Builder
	for i, p := range Profiles() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`"` + string(p) + `"`)
	}
	return b.String()
}

// ErrWrongTenant means an Entra ID token's tid claim does not name the
// tenant of the issuer (ProfileEntra): the token was not issued by the
// organisation rezigate trusts.
var ErrWrongTenant = errors.New("oidc: entra: token tid is not the issuer's tenant")

// ErrNoObjectID means an Entra ID token has no oid claim (ProfileEntra),
// from which the uid is derived.
var ErrNoObjectID = errors.New("oidc: entra: token has no oid claim")

// readIdentity reads a verified ID token, for a sign-in or a refresh, the
// way p's profile says; accessToken is the token response's, for userinfo
// and Microsoft Graph. Once it fails, the Identity still holds Issuer and
// Subject when they are known, for the log.
func (p *Provider) readIdentity(ctx context.Context, d *discovered, idt *gooidc.IDToken, accessToken string) (Identity, error) {
	id := Identity{Issuer: idt.Issuer, Subject: idt.Subject}
	var c profileClaims
	if err := idt.Claims(&c); err != nil {
		return id, fmt.Errorf("oidc: read id token claims: %w", err)
	}
	id.SID, _ = c.SID.(string)
	email, verified := c.Email, c.EmailVerified
	switch p.opts.Profile {
	case ProfileEntra:
		if tid, _ := c.TID.(string); !strings.EqualFold(tid, p.tenant) || tid == "" {
			return id, ErrWrongTenant
		}
		oid, _ := c.OID.(string)
		if oid == "" {
			return id, ErrNoObjectID
		}
		id.Subject = oid
		id.Guest = entraGuest(c, idt.Issuer, p.tenant)
		if email == nil || email == "" {
			// Entra often leaves email out; preferred_username is the
			// sign-in name, an address for every cloud or synced account.
			if s, ok := c.PreferredUsername.(string); ok && validEmail(s) {
				email = s
			} else {
				return id, ErrNoEmail
			}
		}
	case ProfileGoogle:
		id.HostedDomain, _ = c.HD.(string)
	}
	if email == nil || email == "" {
		if d.userInfo == "" {
			return id, ErrNoEmail
		}
		ui, err := p.userInfo(ctx, d.userInfo, accessToken, idt.Subject)
		if err != nil {
			return id, err
		}
		email, verified = ui.Email, ui.EmailVerified
		if email == nil || email == "" {
			return id, ErrNoEmail
		}
	}
	s, ok := email.(string)
	if !ok || !validEmail(s) {
		return id, ErrBadEmail
	}
	id.Email, id.EmailVerified = s, emailVerified(verified)
	id.Groups = p.groups(ctx, idt)
	switch p.opts.Profile {
	case ProfileEntra:
		if overage(c) {
			groups, err := p.graphGroups(ctx, accessToken)
			if err != nil {
				return id, err
			}
			id.Groups = groups
		}
	case ProfileKeycloak:
		id.Groups = keycloakGroups(id.Groups)
	}
	return id, nil
}

// entraGuest reports whether an Entra ID token is a B2B guest's, by any of
// the signals Microsoft's claims reference documents: the acct optional
// claim is 1 (guest), an idp claim records another identity provider than
// the tenant (a guest's home tenant, or a Microsoft account), or the
// sign-in name carries "#EXT#", the mark of a guest's user principal name.
func entraGuest(c profileClaims, issuer, tenant string) bool {
	switch a := c.Acct.(type) {
	case float64:
		if a == 1 {
			return true
		}
	case string:
		if a == "1" {
			return true
		}
	}
	if idp, ok := c.IDP.(string); ok && idp != "" && idp != issuer &&
		!strings.Contains(strings.ToLower(idp), "/"+tenant+"/") {
		return true
	}
	for _, v := range []any{c.PreferredUsername, c.UPN} {
		if s, ok := v.(string); ok && strings.Contains(strings.ToUpper(s), "#EXT#") {
			return true
		}
	}
	return false
}

// keycloakGroups reads Keycloak's full group paths as group names: the
// leading "/" is dropped, so "/staff" is "staff" and "/rms/admins" is
// "rms/admins". A name without the slash (the mapper's "Full group path"
// off) is kept as it is. Repeats are dropped; nil stays nil.
func keycloakGroups(groups []string) []string {
	if groups == nil {
		return nil
	}
	out := make([]string, 0, len(groups))
	seen := make(map[string]struct{}, len(groups))
	for _, g := range groups {
		g = strings.TrimPrefix(g, "/")
		if _, dup := seen[g]; dup || g == "" {
			continue
		}
		seen[g] = struct{}{}
		out = append(out, g)
	}
	return out
}
