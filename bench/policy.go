package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/rezigate/rezigate/assertion"
	"github.com/rezigate/rezigate/internal/demo"
)

// targetPolicy is rezigate with a policy of policyRoutes routes and the
// signed identity assertion on, loaded like targetRezigate (which has
// neither) and compared with it.
const targetPolicy = "rezigate-policy"

// policyRoutes is the size of the bench policy.
const policyRoutes = 20

// benchAudience is the assertion audience of targetPolicy.
const benchAudience = "bench-upstream"

// benchGroups are the groups of the account every target is loaded with.
var benchGroups = []string{"rms-users", "staff"}

// The account that signs in only to have its session cookie measured: a
// member of manyGroupsCount groups, "staff" among them.
const (
	manyGroupsEmail   = "many-groups@example.com"
	manyGroupsSubject = "bench-many-groups"
	manyGroupsCount   = 200
	// cookieTarget is the size a session cookie should stay under, so
	// that it fits next to other cookies in the header limits of
	// browsers (4096 bytes a cookie) and proxies (nginx: 8 KiB a header
	// line). The cookie store keeps the ID token for the id_token_hint
	// of sign-out (about 1.2 to 2 KB sealed and compressed), and drops
	// it rather than pass this size.
	cookieTarget = 4096
)

// manyGroups returns "staff" and team-000, team-001, … up to
// manyGroupsCount groups in all.
func manyGroups() []string {
	g := []string{"staff"}
	for i := 0; len(g) < manyGroupsCount; i++ {
		g = append(g, fmt.Sprintf("team-%03d", i))
	}
	return g
}

// benchUsers are the demo provider's accounts, all with password.
func benchUsers(password string) []demo.User {
	return []demo.User{
		{Email: benchEmail, Password: password, Subject: benchSubject, EmailVerified: true, Groups: benchGroups},
		{Email: manyGroupsEmail, Password: password, Subject: manyGroupsSubject, EmailVerified: true, Groups: manyGroups()},
	}
}

// policyConfig is the configuration targetPolicy adds: policyRoutes
// routes, default deny, and the assertion. The bench's GET / is decided
// by the last route, after every other one has been tried; sign-in needs
// one of benchGroups. Every group of the bench account is named, so all
// of them stay in its session and its assertion.
func policyConfig() map[string]any {
	routes := make([]map[string]any, 0, policyRoutes)
	for i := range policyRoutes - 1 {
		r := map[string]any{"path": "/app" + strconv.Itoa(i) + "/", "groups": []string{fmt.Sprintf("team-%03d", i), "rms-admins"}}
		if i%2 == 1 {
			r["methods"] = []string{"GET", "HEAD"}
			r["emails"] = []string{fmt.Sprintf("lead%d@example.com", i)}
		}
		routes = append(routes, r)
	}
	routes = append(routes, map[string]any{"path": "/", "groups": []string{"staff"}})
	return map[string]any{
		"policy": map[string]any{
			"allow_groups": benchGroups,
			"default":      "deny",
			"routes":       routes,
		},
		"assertion": map[string]any{
			"header":   assertion.DefaultHeader,
			"audience": benchAudience,
			"lifetime": "5m",
		},
	}
}

// newPolicyInstance is the targetPolicy rezigate, not yet started.
func newPolicyInstance() (*rezigateInstance, error) {
	rg, err := newInstance(targetPolicy)
	if err != nil {
		return nil, err
	}
	rg.extra = policyConfig()
	return rg, nil
}

// cookieSize is the session cookie of the many-groups account at one
// rezigate instance.
type cookieSize struct {
	Target string `json:"target"`
	Groups int    `json:"groups"`
	// Bytes is the length of the cookie's value, as a browser stores and
	// sends it; NameValueBytes adds the name and "=".
	Bytes          int  `json:"bytes"`
	NameValueBytes int  `json:"name_value_bytes"`
	UnderTarget    bool `json:"under_target"`
}

// measureCookie signs the many-groups account in at rg and records the
// size of its session cookie.
func measureCookie(ctx context.Context, rg *rezigateInstance, issuer, password string) (cookieSize, error) {
	c, err := signIn(ctx, rg.base, issuer, cookieName, manyGroupsEmail, password)
	if err != nil {
		return cookieSize{}, fmt.Errorf("%w (%s, %d groups; rezigate log: %s)", err, rg.name, manyGroupsCount, rg.proc.logPath)
	}
	n := len(c) - len(cookieName) - 1
	return cookieSize{Target: rg.name, Groups: manyGroupsCount, Bytes: n, NameValueBytes: len(c), UnderTarget: n < cookieTarget}, nil
}

// checkAssertion makes sure the assertions targetPolicy sends are real:
// one request through it, then the assertion the upstream last received
// is verified against rg's JWK Set, outside any measured load.
func (e *env) checkAssertion(ctx context.Context, t *target, rg *rezigateInstance) error {
	if err := fetch(ctx, t.client, t.spec); err != nil {
		return fmt.Errorf("bench: %s: %w (rezigate log: %s)", t.name, err, rg.proc.logPath)
	}
	st, err := e.upstreamStats(ctx)
	if err != nil {
		return err
	}
	v, err := assertion.NewVerifier(ctx, assertion.VerifierOptions{
		JWKSURL: rg.base + assertion.JWKSPath, Issuer: rg.base, Audience: benchAudience,
	})
	if err != nil {
		return fmt.Errorf("bench: %s: %w", t.name, err)
	}
	got, err := v.Verify(ctx, st.LastAssertion)
	if err != nil {
		return fmt.Errorf("bench: %s: the upstream's last assertion: %w", t.name, err)
	}
	if got.Email != benchEmail || !slices.Equal(got.Groups, benchGroups) {
		return fmt.Errorf("bench: %s: the assertion names %q in %q; want %q in %q", t.name, got.Email, got.Groups, benchEmail, benchGroups)
	}
	return nil
}

// writeCookies prints the cookie sizes under the table.
func (r *results) writeCookies(w io.Writer) {
	for _, c := range r.Cookies {
		met := "under"
		if !c.UnderTarget {
			met = "**not** under"
		}
		fmt.Fprintf(w, "%s: the session cookie of a user in %d groups is %d bytes (%d with its name), %s the %d-byte target.\n",
			c.Target, c.Groups, c.Bytes, c.NameValueBytes, met, cookieTarget)
	}
}
