package policy

import (
	"fmt"
	"strings"
)

// User is who is asking, as the policy sees them.
type User struct {
	// Email is the user's address, compared with route emails with ASCII
	// letters folded. Empty matches no route email.
	Email string
	// Groups are the user's groups, compared exactly. Nil means none.
	Groups []string
}

// Result is a decision and why it was made.
type Result struct {
	// Allowed reports whether the user may enter.
	Allowed bool
	// Rule is the index in Options.Routes of the route that decided, or
	// -1 when no route matched and Options.Default decided (or the path
	// was refused, see Reason).
	Rule int
	// Path is the deciding route's Path; empty when Rule is -1.
	Path string
	// Line is the deciding route's Route.Line; 0 when unknown or when
	// Rule is -1.
	Line int
	// Reason says briefly why, for logs and for explaining a decision:
	// "in group rms-admins", "listed email ada@example.com", "not in any
	// of rms-admins", "no route matched; default allow". It names groups
	// and addresses from the policy, never the user's other groups.
	Reason string
}

// Policy is a prepared Options: Decide and SignInAllowed do no
// allocation and no I/O. It is immutable and safe for concurrent use; to
// change the rules, build a new Policy and swap it in.
type Policy struct {
	routes        []route
	fold          bool
	defaultAllow  bool
	defaultReason string
	allowGroups   map[string]struct{}
	signIn        signInRules // the email rules of SignIn (signin.go)
}

// route is a Route prepared for matching.
type route struct {
	path    string // as configured, for Result.Path
	base    string // path without its trailing "/" ("" for "/"), folded when the policy folds
	methods uint16 // bit set, anyMethod when the route lists none
	line    int

	groups     map[string]string // group -> reason "in group …"
	emails     map[string]string // ASCII-lowercased address -> reason
	denyReason string
}

// Reasons for decisions not made by a route.
const (
	reasonDefaultAllow = "no route matched; default allow"
	reasonDefaultDeny  = "no route matched; default deny"
	reasonNotNormal    = "path not in normal form; call Normalize first"
)

// otherMethod is the bit of a request method outside the known list: only
// routes without Methods match it.
const otherMethod = uint16(1) << 15

// New validates o (see Options.Validate) and prepares its matchers. The
// error, when not nil, is Validate's.
func New(o Options) (*Policy, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	p := &Policy{
		fold:         o.CaseInsensitivePaths,
		defaultAllow: o.Default != Deny,
	}
	p.defaultReason = reasonDefaultDeny
	if p.defaultAllow {
		p.defaultReason = reasonDefaultAllow
	}
	if len(o.AllowGroups) > 0 {
		p.allowGroups = make(map[string]struct{}, len(o.AllowGroups))
		for _, g := range o.AllowGroups {
			p.allowGroups[g] = struct{}{}
		}
	}
	p.signIn = prepareSignIn(o)
	p.routes = make([]route, len(o.Routes))
	for i, r := range o.Routes {
		pr := prepareMatch(r, p.fold)
		pr.groups = make(map[string]string, len(r.Groups))
		for _, g := range r.Groups {
			pr.groups[g] = "in group " + g
		}
		pr.emails = make(map[string]string, len(r.Emails))
		for _, e := range r.Emails {
			e = asciiLower(e)
			pr.emails[e] = "listed email " + e
		}
		var deny []string
		if len(r.Groups) > 0 {
			deny = append(deny, "not in any of "+strings.Join(r.Groups, ", "))
		}
		if len(r.Emails) > 0 {
			deny = append(deny, "email not listed")
		}
		pr.denyReason = strings.Join(deny, " and ")
		p.routes[i] = pr
	}
	return p, nil
}

// prepareMatch prepares the path and methods of r, which Validate has
// accepted as far as they go.
func prepareMatch(r Route, fold bool) route {
	pr := route{path: r.Path, base: strings.TrimSuffix(r.Path, "/"), methods: anyMethod, line: r.Line}
	if fold {
		pr.base = asciiLower(pr.base)
	}
	if len(r.Methods) > 0 {
		pr.methods = 0
		for _, m := range r.Methods {
			pr.methods |= methodBit(m)
		}
		// HEAD is GET without the body (RFC 9110, section 9.3.2): an
		// upstream runs the GET handler for it, so the GET rule applies.
		if pr.methods&methodBit("GET") != 0 {
			pr.methods |= methodBit("HEAD")
		}
	}
	return pr
}

// covers reports whether the route's path covers path, which is in
// normal form (folded too when fold is set, for Validate's use).
func (r *route) covers(path string, fold bool) bool {
	return coversPath(r.base, path, fold)
}

// coversPath reports whether a route whose path without its trailing "/"
// is base covers path.
func coversPath[T string | []byte](base string, path T, fold bool) bool {
	if offBoundary(base, path) {
		return false
	}
	n := len(base)
	if fold {
		return asciiEqualFold(path[:n], base)
	}
	return string(path[:n]) == base
}

// offBoundary reports whether path cannot be covered by a route whose
// path without its trailing "/" is base: it is shorter, or longer without
// a "/" right after base's length.
func offBoundary[T string | []byte](base string, path T) bool {
	n := len(base)
	return len(path) < n || (len(path) > n && path[n] != '/')
}

// shadows reports whether r, earlier in the list, matches every request
// that later route l matches.
func (r *route) shadows(l *route) bool {
	return r.methods&l.methods == l.methods && r.covers(l.base, false)
}

// Decide judges a request by method and path for user u. path must be the
// result of p.Normalize, which is also the path to forward: a path not in
// normal form, or one Normalize refuses, is refused (Allowed false, Rule
// -1), so that forgetting to normalise fails closed. method is compared
// in any case; HEAD matches the routes that list GET or HEAD; an unknown
// method matches only routes without Methods. The first route that
// covers the path and lists the method (or none) decides: the user is let
// in when in one of its groups or listed among its emails. When no route
// matches, Options.Default decides. Decide does not allocate.
func (p *Policy) Decide(method, path string, u User) Result {
	if n, err := p.Normalize(path); err != nil || n != path {
		return Result{Rule: -1, Reason: reasonNotNormal}
	}
	bit := methodBit(method)
	if bit == 0 {
		bit = otherMethod
	}
	for i := range p.routes {
		r := &p.routes[i]
		// offBoundary is covers' own first test, here without a call:
		// it turns away most routes.
		if r.methods&bit == 0 || offBoundary(r.base, path) || !r.covers(path, p.fold) {
			continue
		}
		res := Result{Rule: i, Path: r.path, Line: r.line}
		if reason, ok := r.allows(u); ok {
			res.Allowed, res.Reason = true, reason
		} else {
			res.Reason = r.denyReason
		}
		return res
	}
	return Result{Allowed: p.defaultAllow, Rule: -1, Reason: p.defaultReason}
}

// allows reports whether r lets u in, and the reason when it does.
func (r *route) allows(u User) (string, bool) {
	for _, g := range u.Groups {
		if reason, ok := r.groups[g]; ok {
			return reason, true
		}
	}
	if len(r.emails) > 0 && u.Email != "" {
		var stack [256]byte
		if reason, ok := r.emails[string(appendLower(stack[:0], u.Email))]; ok {
			return reason, true
		}
	}
	return "", false
}

// SignInAllowed reports whether a user in groups may sign in at all: true
// when Options.AllowGroups is empty, otherwise when one of groups is in
// it (compared exactly). A caller refuses the sign-in (403) when it is
// false, before any route is consulted.
func (p *Policy) SignInAllowed(groups []string) bool {
	if len(p.allowGroups) == 0 {
		return true
	}
	for _, g := range groups {
		if _, ok := p.allowGroups[g]; ok {
			return true
		}
	}
	return false
}

// String describes the policy in one line, for start-up logs.
func (p *Policy) String() string {
	d := Allow
	if !p.defaultAllow {
		d = Deny
	}
	return fmt.Sprintf("policy: %d routes, default %s, case-insensitive paths %t, %d sign-in groups",
		len(p.routes), d, p.fold, len(p.allowGroups))
}

// asciiEqualFold reports whether a and b are equal with ASCII letters
// folded (and nothing else: unlike strings.EqualFold, "K" (U+212A) is
// not "k").
func asciiEqualFold[T string | []byte](a T, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		b = append(b, lower(s[i]))
	}
	return b
}

func asciiLower(s string) string {
	return string(appendLower(make([]byte, 0, len(s)), s))
}
