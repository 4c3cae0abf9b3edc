package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/rezigate/rezigate/internal/config"
	"github.com/rezigate/rezigate/policy"
)

// Exit codes of `rezigate explain`.
const (
	explainAllowed = 0
	explainBad     = 1 // bad usage or configuration
	explainDenied  = 2
)

const explainUsage = `Usage: rezigate explain -config FILE -email EMAIL [-groups G1,G2] METHOD PATH

Prints which policy rule decides a request, the decision and why, judged
exactly as the server judges it: the sign-in rules first (email domains,
allow_groups; the address is taken as verified by the provider), then the
path normalised and the routes. Exit status:
0 allowed, 2 denied (or the path refused), 1 bad usage or configuration.
Secrets need not be set in the environment.

Flags:
`

// verdict is how the server would treat one request.
type verdict struct {
	path    string              // as judged; "" when refused
	refused error               // the path was refused (400): policy.ErrBadPath
	signIn  policy.SignInResult // not Allowed: the user could not even sign in
	res     policy.Result
}

func (v verdict) allowed() bool { return v.refused == nil && v.signIn.Allowed && v.res.Allowed }

// judge runs what the middleware runs: the sign-in rules (policy.SignIn,
// which the callback and every refresh call, with the address taken as
// verified by the provider), then for a signed-in request
// policy.Normalize, then policy.Decide on its result.
func judge(p *policy.Policy, method, target string, u policy.User) verdict {
	v := verdict{signIn: p.SignIn(policy.Identity{Email: u.Email, EmailVerified: true, Groups: u.Groups, HostedDomain: policy.EmailDomain(u.Email)})}
	path, err := p.Normalize(target)
	if err != nil {
		v.refused = err
		return v
	}
	v.path = path
	v.res = p.Decide(method, path, u)
	return v
}

// runExplain is `rezigate explain`; it returns the exit status.
func runExplain(args []string, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rezigate explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "config.yaml", "configuration `file` (YAML)")
	email := fs.String("email", "", "the user's email `address`")
	groups := fs.String("groups", "", "the user's groups, comma-separated")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), explainUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return explainAllowed
		}
		return explainBad
	}
	if what := explainMissing(*email, fs.Args()); what != "" {
		fmt.Fprintf(stderr, "rezigate explain: %s\n\n", what)
		fs.Usage()
		return explainBad
	}
	method, target := fs.Arg(0), fs.Arg(1)
	cfg, err := config.LoadPolicy(*configPath, environ)
	if err != nil {
		fmt.Fprintf(stderr, "%s: configuration is invalid:\n%v\n", *configPath, err)
		return explainBad
	}
	p, err := policy.New(cfg.PolicyOptions())
	if err != nil { // LoadPolicy has validated it
		fmt.Fprintf(stderr, "%s: %v\n", *configPath, err)
		return explainBad
	}
	u := policy.User{Email: *email}
	for _, g := range strings.Split(*groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			u.Groups = append(u.Groups, g)
		}
	}
	v := judge(p, method, target, u)
	printVerdict(stdout, method, target, u, v)
	if v.allowed() {
		return explainAllowed
	}
	return explainDenied
}

func printVerdict(w io.Writer, method, target string, u policy.User, v verdict) {
	fmt.Fprintf(w, "request:  %s %s as %s (groups: %s)\n", method, target, u.Email, strings.Join(u.Groups, ", "))
	if !v.signIn.Allowed {
		fmt.Fprintf(w, "sign-in:  refused: %s (the sign-in gets the 403 page)\n", signInRefusal(v.signIn.Rule))
	}
	switch {
	case v.refused != nil:
		fmt.Fprintf(w, "path:     refused with 400 Bad Request: %s\n", strings.TrimPrefix(v.refused.Error(), policy.ErrBadPath.Error()+": "))
	default:
		fmt.Fprintf(w, "path:     %s\n", v.path)
		if v.res.Rule < 0 {
			fmt.Fprintln(w, "rule:     none matched: policy.default decides")
		} else {
			line := ""
			if v.res.Line > 0 {
				line = fmt.Sprintf(" (line %d)", v.res.Line)
			}
			fmt.Fprintf(w, "rule:     policy.routes[%d] %s%s\n", v.res.Rule, v.res.Path, line)
		}
		fmt.Fprintf(w, "reason:   %s\n", v.res.Reason)
	}
	decision := "denied (403)"
	switch {
	case v.allowed():
		decision = "allowed"
	case v.refused != nil:
		decision = "denied (400)"
	}
	fmt.Fprintf(w, "decision: %s\n", decision)
}

// signInRefusal says which configuration key refused a sign-in.
func signInRefusal(rule policy.SignInRule) string {
	switch rule {
	case policy.RuleAllowGroups:
		return "in none of policy.allow_groups"
	case policy.RuleEmailDomains:
		return "email domain not in oidc.allowed_email_domains"
	case policy.RuleEmailVerified:
		return "email not verified (oidc.require_email_verified)"
	}
	return "by sign-in rule " + string(rule)
}

// explainMissing says what a command line of explain lacks or has too
// many of, or "" when it has an email and exactly METHOD and PATH.
func explainMissing(email string, args []string) string {
	var what []string
	if email == "" {
		what = append(what, "missing -email ADDRESS (the user to judge)")
	}
	switch len(args) {
	case 0:
		what = append(what, "missing METHOD and PATH (such as GET /admin/)")
	case 1:
		what = append(what, fmt.Sprintf("missing PATH after %s (such as %s /admin/)", args[0], args[0]))
	case 2:
	default:
		what = append(what, "unexpected arguments after METHOD PATH: "+strings.Join(args[2:], " ")+" (flags go before METHOD)")
	}
	return strings.Join(what, "; ")
}
