package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rezigate/rezigate/internal/groupheader"
	"github.com/rezigate/rezigate/optionerr"
)

// Decision is what happens to a request that no route matches.
type Decision string

// The decisions. Options.Default accepts exactly these spellings; the
// empty Decision means DefaultDecision.
const (
	// Allow lets every signed-in user through.
	Allow Decision = "allow"
	// Deny refuses every request; only the routes let anyone in.
	Deny Decision = "deny"
)

// DefaultDecision is used when Options.Default is empty. It is Allow, so
// an empty policy keeps the behaviour of a gateway without one: every
// signed-in user may enter everywhere.
const DefaultDecision = Allow

// methods lists the HTTP methods a Route may name, in upper case.
// Route.Methods accepts them in any case.
var methods = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}

// anyMethod is the method set of a route without Methods: every bit,
// including that of methods not in the list above.
const anyMethod = ^uint16(0)

// Options is a policy: who may sign in (Policy.SignIn), and who may enter
// which paths (Policy.Decide).
// The zero value is valid and allows every signed-in user everywhere.
// Options is only read; New copies what it keeps.
type Options struct {
	// AllowGroups limits who may sign in at all: a user must be in at
	// least one of these groups (compared exactly, case-sensitive). Nil
	// or empty means no group is needed.
	AllowGroups []string

	// AllowedEmailDomains limits sign-in to addresses in these domains,
	// compared with ASCII letters folded and exactly: no subdomains. Each
	// must pass ValidEmailDomain (a DNS name such as "example.com"; a
	// Unicode domain in its xn-- form). Nil or empty allows any domain.
	AllowedEmailDomains []string

	// AllowUnverifiedEmail admits users whose provider does not say
	// email_verified=true. False (the zero value) refuses them, which
	// keeps an attacker from registering someone else's address at a lax
	// provider and signing in as its owner.
	AllowUnverifiedEmail bool

	// Provider names the identity provider's profile (oidc.Profile, the
	// configuration's oidc.provider), whose documented rules the sign-in
	// adds to the ones above. Empty means ProviderGeneric, which adds
	// none. ProviderEntra: email_verified is not required (Entra ID
	// never sends it; the address is the tenant's own directory entry),
	// AllowedEmailDomains is required, and guests are refused.
	// ProviderGoogle: AllowedEmailDomains is required and the hd claim
	// (Identity.HostedDomain) must be one of them, so that a consumer
	// account holding a verified company address is refused.
	// ProviderOkta and ProviderKeycloak add no sign-in rule (their
	// difference is how groups are read).
	Provider Provider

	// Default decides a request that no route matches. Empty means
	// DefaultDecision (Allow): with routes that protect only some paths,
	// every other path is open to any signed-in user. Deny closes every
	// path no route opens; Deny with no routes at all is refused by
	// Validate, since it would let nobody in.
	Default Decision

	// CaseInsensitivePaths compares paths with ASCII letters folded, so
	// that a route "/admin" also covers "/ADMIN". Set it for upstreams
	// that fold case (IIS, anything on a case-insensitive file system):
	// with false, such an upstream serves "/ADMIN" to users a route for
	// "/admin" refuses. Only ASCII is folded.
	CaseInsensitivePaths bool

	// Routes are tried in order against a request's normalised path and
	// method; the first that matches decides, and later ones are not
	// looked at. Nil or empty means Default decides every request (and
	// Policy.Normalize refuses nothing).
	Routes []Route
}

// Route lets some users in to a part of the site.
type Route struct {
	// Path is a path prefix matched on segment boundaries: "/admin"
	// covers "/admin" and "/admin/x" but not "/administrator". A path
	// ending in "/" also covers the same path without it: "/admin/"
	// covers "/admin". "/" covers every path. It must start with "/" and
	// be in the form Policy.Normalize gives (no repeated slashes, no dot
	// segments, no escaped unreserved characters, no query or fragment),
	// since the request paths it is compared with are. It must not
	// contain ";" or "%3B", which servlet containers read as the start of
	// a path parameter, nor, with CaseInsensitivePaths, a segment ending
	// in "." or a space.
	Path string

	// Methods limits the route to these HTTP methods (GET HEAD POST PUT
	// PATCH DELETE OPTIONS CONNECT TRACE, any case). Nil or empty means
	// every method, including any not in that list. GET includes HEAD,
	// which upstreams serve with the GET handler (RFC 9110): a route
	// listing GET also decides HEAD requests. A request whose
	// method is not listed is not matched by this route and goes on to
	// the next route and finally Default: to protect a path for every
	// method, leave Methods empty.
	Methods []string

	// Groups are the groups whose members the route lets in, compared
	// exactly (case-sensitive).
	Groups []string

	// Emails are addresses the route lets in, whatever their groups,
	// compared with ASCII letters folded. A route must list at least one
	// group or email: one with neither would let nobody in, and Validate
	// refuses it, because "nobody" is more often a mistake than a wish.
	Emails []string

	// Line is the route's line in the configuration file, shown in
	// Validate's messages and in Result.Line. Zero means unknown.
	Line int
}

// Warnings lists what o allows but is seldom meant, as *optionerr.Error
// values like Validate's: no AllowedEmailDomains lets anyone with a
// verified address at the provider in; AllowUnverifiedEmail trusts an
// address nobody verified; routes with Default left at Allow open every
// path no route names to every signed-in user. It assumes o is valid.
func (o Options) Warnings() []error {
	var w []error
	if len(o.AllowedEmailDomains) == 0 {
		w = append(w, optionerr.New("policy", "AllowedEmailDomains", "empty: anyone with a verified email at the provider gets in"))
	}
	if o.AllowUnverifiedEmail {
		w = append(w, optionerr.New("policy", "AllowUnverifiedEmail", "an email address nobody has verified is trusted as the user's identity"))
	}
	if len(o.Routes) > 0 && (o.Default == "" || o.Default == Allow) {
		w = append(w, optionerr.New("policy", "Default", "allow: every path no route names is open to every signed-in user"))
	}
	return w
}

// Validate reports every problem with o at once: errors.Join of
// *optionerr.Error values, one per problem, each naming the field, e.g.
// "policy: Routes[2].Path: must start with / (line 14)". Messages give
// indices and lines, never a field's value. It refuses an empty or
// non-normal route path, an unknown method, a route that lets nobody in,
// a route that can never match because an earlier one covers its path
// and methods, an unknown Default, Default Deny with no routes, and an
// email domain that is not a DNS name. Validate is pure; nil means New accepts o.
func (o Options) Validate() error {
	var errs []error
	add := func(field string, line int, format string, args ...any) {
		if line > 0 {
			format += fmt.Sprintf(" (line %d)", line)
		}
		errs = append(errs, optionerr.New("policy", field, format, args...))
	}
	for i, g := range o.AllowGroups {
		if msg := checkName(g); msg != "" {
			add(fmt.Sprintf("AllowGroups[%d]", i), 0, "%s", msg)
		}
	}
	for i, d := range o.AllowedEmailDomains {
		if !ValidEmailDomain(d) {
			add(fmt.Sprintf("AllowedEmailDomains[%d]", i), 0, `must be a domain name such as "example.com" (no "@", no wildcard, no trailing dot)`)
		}
	}
	switch o.Provider {
	case "", ProviderGeneric, ProviderOkta, ProviderKeycloak:
	case ProviderEntra, ProviderGoogle:
		if len(o.AllowedEmailDomains) == 0 {
			add("AllowedEmailDomains", 0, "required with provider %q: name the organisation's email domains", o.Provider)
		}
	default:
		add("Provider", 0, `must be one of "generic", "entra", "google", "okta", "keycloak"`)
	}
	switch o.Default {
	case "", Allow, Deny:
	default:
		add("Default", 0, `must be %q or %q`, Allow, Deny)
	}
	if o.Default == Deny && len(o.Routes) == 0 {
		add("Default", 0, `%q with no routes lets nobody in; add routes or use %q`, Deny, Allow)
	}

	// valid[i] holds route i's prepared form, or nil when its path or
	// methods are invalid and shadowing cannot be judged.
	valid := make([]*route, len(o.Routes))
	for i, r := range o.Routes {
		f := func(sub string) string { return fmt.Sprintf("Routes[%d]%s", i, sub) }
		ok := true
		if msg := checkRoutePath(r.Path, o.CaseInsensitivePaths); msg != "" {
			add(f(".Path"), r.Line, "%s", msg)
			ok = false
		}
		for j, m := range r.Methods {
			if methodBit(m) == 0 {
				add(f(fmt.Sprintf(".Methods[%d]", j)), r.Line, "must be one of %s", strings.Join(methods[:], " "))
				ok = false
			}
		}
		for j, g := range r.Groups {
			if msg := checkName(g); msg != "" {
				add(f(fmt.Sprintf(".Groups[%d]", j)), r.Line, "%s", msg)
			}
		}
		for j, e := range r.Emails {
			if msg := checkEmail(e); msg != "" {
				add(f(fmt.Sprintf(".Emails[%d]", j)), r.Line, "%s", msg)
			}
		}
		if len(r.Groups) == 0 && len(r.Emails) == 0 {
			add(f(""), r.Line, "lets nobody in; list groups or emails, or leave the path to Default")
		}
		if !ok {
			continue
		}
		pr := prepareMatch(r, o.CaseInsensitivePaths)
		valid[i] = &pr
		for k := range i {
			if e := valid[k]; e != nil && e.shadows(&pr) {
				add(f(""), r.Line, "never matches: Routes[%d]%s covers its path and methods", k, lineSuffix(e.line))
				break
			}
		}
	}
	return errors.Join(errs...)
}

func lineSuffix(line int) string {
	if line > 0 {
		return fmt.Sprintf(" (line %d)", line)
	}
	return ""
}

// checkRoutePath returns what is wrong with a route path, or "".
func checkRoutePath(p string, fold bool) string {
	switch {
	case p == "":
		return "must not be empty"
	case p[0] != '/':
		return "must start with /"
	case strings.ContainsAny(p, "?#"):
		return "must not contain ? or #: queries and fragments are never matched"
	case paramStart(p) < len(p):
		return "must not contain ; or %3B: servlet containers read it as the start of a path parameter"
	}
	n, _, err := normalize(p, true, fold)
	switch {
	case err == errWindowsName:
		return "must not have a segment ending in . or a space: with case_insensitive_paths, Windows servers ignore them"
	case err != nil:
		return "must not contain encoded slashes, backslashes, NUL, malformed escapes, invalid UTF-8 or dot segments above the root"
	case n != p:
		return "must be in normal form: no repeated slashes, no dot segments, no escaped letters, digits or -._~, upper-case hex in escapes"
	}
	return ""
}

// checkName returns what is wrong with a group name, or "": the names a
// sign-in drops (groupheader.Problem) could never match, so a policy that
// names one is refused rather than silently letting nobody in through it.
func checkName(g string) string {
	switch groupheader.Problem(g) {
	case "":
		return ""
	case groupheader.Empty:
		return "must not be empty"
	case groupheader.SpaceAround:
		return "must not have leading or trailing spaces"
	case groupheader.Comma:
		return "must not contain a comma"
	case groupheader.Control:
		return "must not contain control characters"
	case groupheader.NotASCII:
		return "must be printable ASCII"
	default:
		return fmt.Sprintf("must be at most %d bytes", groupheader.MaxNameLen)
	}
}

// checkEmail returns what is wrong with a route's email address, or "".
func checkEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	switch {
	case e == "":
		return "must not be empty"
	case strings.ContainsAny(e, " \t\r\n"):
		return "must not contain spaces"
	case at <= 0 || at == len(e)-1:
		return "must be an address of the form local@domain"
	}
	return ""
}

// methodBit returns m's bit in a route's method set, m compared in any
// case, or 0 when m is not a known method.
func methodBit(m string) uint16 {
	for i, name := range methods {
		if m == name { // as requests spell them, without folding
			return 1 << i
		}
	}
	for i, name := range methods {
		if asciiEqualFold(m, name) {
			return 1 << i
		}
	}
	return 0
}
