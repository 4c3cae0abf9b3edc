package policy

import (
	"net/netip"
	"strings"
)

// Identity is what the provider says about a person who signs in, or
// whose session is checked again with the provider: all the sign-in rules
// read.
type Identity struct {
	// Email is the user's address, one plain addr-spec. Its domain is
	// compared with Options.AllowedEmailDomains with ASCII letters
	// folded; an empty Email passes no domain list.
	Email string
	// EmailVerified is the provider's email_verified claim. False is
	// refused unless Options.AllowUnverifiedEmail is set.
	EmailVerified bool
	// Groups are the user's groups, compared exactly with
	// Options.AllowGroups. Nil means none.
	Groups []string
	// Guest reports that the provider says the person is a guest of the
	// organisation, not a member (Entra ID B2B guests). A guest is always
	// refused (RuleGuest).
	Guest bool
	// HostedDomain is the Google Workspace domain the account belongs to
	// (Google's hd claim); empty for a consumer account. Read only with
	// ProviderGoogle (RuleHostedDomain).
	HostedDomain string
}

// Provider names the identity provider whose sign-in rules apply
// (Options.Provider). The names are oidc.Profile's.
type Provider string

// The providers.
const (
	ProviderGeneric  Provider = "generic"
	ProviderEntra    Provider = "entra"
	ProviderGoogle   Provider = "google"
	ProviderOkta     Provider = "okta"
	ProviderKeycloak Provider = "keycloak"
)

// SignInRule names a sign-in rule by the configuration key that sets it,
// for logs, metrics and `rezigate explain`.
type SignInRule string

// The sign-in rules, in the order SignIn applies them.
const (
	// RuleGuest refuses a person the provider names a guest of the
	// organisation (Identity.Guest).
	RuleGuest SignInRule = "guest"
	// RuleEmailVerified refuses an address the provider has not verified
	// (Options.AllowUnverifiedEmail).
	RuleEmailVerified SignInRule = "email_verified"
	// RuleEmailDomains refuses an address outside
	// Options.AllowedEmailDomains.
	RuleEmailDomains SignInRule = "allowed_email_domains"
	// RuleHostedDomain refuses, with ProviderGoogle, an account without
	// an hd claim (a consumer Google account) or whose hd is not in
	// Options.AllowedEmailDomains.
	RuleHostedDomain SignInRule = "hd"
	// RuleAllowGroups refuses a user in none of Options.AllowGroups.
	RuleAllowGroups SignInRule = "allow_groups"
)

// SignInResult is a sign-in decision and why it was made.
type SignInResult struct {
	// Allowed reports whether the person may have a session at all.
	Allowed bool
	// Rule is the rule that refused; empty when Allowed.
	Rule SignInRule
	// Reason says briefly why, for logs and for explaining a decision. It
	// names groups from the policy, never the user's address or other
	// groups.
	Reason string
}

// Reasons of SignIn's results.
const (
	reasonSignInAllowed = "every sign-in rule passed"
	reasonUnverified    = "email address not verified at the provider"
	reasonDomain        = "email domain not in allowed_email_domains"
	reasonGuest         = "a guest of the organisation at the provider"
	reasonHostedDomain  = "not an account of a Google Workspace domain in allowed_email_domains (hd claim)"
)

// signInRules are the prepared email rules of Options; the group rule is
// Policy.allowGroups.
type signInRules struct {
	domains         map[string]struct{} // ASCII-lowercased; nil allows any
	allowUnverified bool
	hostedDomain    bool   // ProviderGoogle: RuleHostedDomain applies
	groupsReason    string // the refusal reason of RuleAllowGroups
}

// prepareSignIn prepares the sign-in rules of o, which Validate has
// accepted.
func prepareSignIn(o Options) signInRules {
	r := signInRules{
		// Entra ID sends no email_verified: its address is the tenant's
		// own directory entry, and guests are refused.
		allowUnverified: o.AllowUnverifiedEmail || o.Provider == ProviderEntra,
		hostedDomain:    o.Provider == ProviderGoogle,
		groupsReason:    "in none of " + strings.Join(o.AllowGroups, ", "),
	}
	if len(o.AllowedEmailDomains) > 0 {
		r.domains = make(map[string]struct{}, len(o.AllowedEmailDomains))
		for _, d := range o.AllowedEmailDomains {
			r.domains[asciiLower(d)] = struct{}{}
		}
	}
	return r
}

// SignIn decides whether the person the provider describes may have a
// session: the one decision of every sign-in rule, for a new sign-in and
// for each later check of a session with the provider alike, so that a
// user the provider no longer vouches for (address unverified or changed
// to another domain, removed from the groups) loses the session exactly
// as they would be refused a new one. The rules apply in order:
// RuleGuest, RuleEmailVerified, RuleEmailDomains, RuleHostedDomain,
// RuleAllowGroups; the first that
// refuses decides. A caller refuses the sign-in (403), or ends the
// session, when Allowed is false, before any route is consulted. SignIn
// does not allocate.
func (p *Policy) SignIn(id Identity) SignInResult {
	r := &p.signIn
	if id.Guest {
		return SignInResult{Rule: RuleGuest, Reason: reasonGuest}
	}
	if !id.EmailVerified && !r.allowUnverified {
		return SignInResult{Rule: RuleEmailVerified, Reason: reasonUnverified}
	}
	if r.domains != nil {
		at := strings.LastIndexByte(id.Email, '@')
		if at <= 0 || !r.hasDomain(id.Email[at+1:]) {
			return SignInResult{Rule: RuleEmailDomains, Reason: reasonDomain}
		}
	}
	if r.hostedDomain && (id.HostedDomain == "" || !r.hasDomain(id.HostedDomain)) {
		return SignInResult{Rule: RuleHostedDomain, Reason: reasonHostedDomain}
	}
	if !p.SignInAllowed(id.Groups) {
		return SignInResult{Rule: RuleAllowGroups, Reason: r.groupsReason}
	}
	return SignInResult{Allowed: true, Reason: reasonSignInAllowed}
}

// EmailDomain returns the domain of address, the text after its last
// '@', or "" when it has none. A re-check of a session whose provider
// said nothing new, and `rezigate explain`, pass it as
// Identity.HostedDomain: the hd claim was checked at sign-in, and a policy
// that has since dropped the domain still refuses.
func EmailDomain(address string) string {
	at := strings.LastIndexByte(address, '@')
	if at < 0 {
		return ""
	}
	return address[at+1:]
}

// hasDomain reports whether d, in any ASCII case, is an allowed domain.
// Only ASCII letters are folded: "\u212a" (the Kelvin sign) is not "k",
// though strings.ToLower makes it one.
func (r *signInRules) hasDomain(d string) bool {
	var stack [256]byte
	if len(d) > len(stack) {
		return false // longer than any DNS name
	}
	_, ok := r.domains[string(appendLower(stack[:0], d))]
	return ok
}

// ValidEmailDomain reports whether d may be listed in
// Options.AllowedEmailDomains: a DNS name such as "example.com", in any
// ASCII case, of labels of 1 to 63 letters, digits and inner hyphens, at
// most 253 bytes, and not an IP address. There is no "@", wildcard or
// trailing dot, and a Unicode domain is written in its xn-- form, since
// the comparison is exact and a rule that never matches would refuse
// everyone without saying why.
func ValidEmailDomain(d string) bool {
	s := asciiLower(d)
	if s == "" || len(s) > 253 {
		return false
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	// An all-digit last label is an IPv4 address in some spelling, not a
	// domain.
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}
