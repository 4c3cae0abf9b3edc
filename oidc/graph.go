package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ErrGroupsUnavailable means the user's groups did not fit in the Entra ID
// token (groups overage) and Microsoft Graph could not be asked for them:
// it was unreachable, refused the access token (the app lacks the
// permission, or an administrator has not consented), or answered
// something unreadable. The sign-in must fail: a session without its
// groups would be judged by none of them.
var ErrGroupsUnavailable = errors.New("oidc: groups overage: microsoft graph did not give the user's groups")

// Limits on reading a user's groups from Microsoft Graph.
const (
	maxGraphPageBytes = 4 << 20
	maxGraphPages     = 100
)

// graphGroupsPath lists the groups the signed-in user is a member of,
// directly or through nested groups, as the groups claim does, by object
// id (Microsoft Graph v1.0 "List a user's transitive memberships";
// /me/memberOf is the same list without nesting). Graph pages the answer
// with @odata.nextLink.
const graphGroupsPath = "/v1.0/me/transitiveMemberOf/microsoft.graph.group?$select=id"

// overage reports whether an Entra ID token says the user's groups are
// too many for it: _claim_names names groups (JWT ID tokens), or
// hasgroups is true (tokens of the implicit flow).
func overage(c profileClaims) bool {
	if c.HasGroups == true {
		return true
	}
	var names map[string]json.RawMessage
	if len(c.ClaimNames) == 0 || json.Unmarshal(c.ClaimNames, &names) != nil {
		return false
	}
	_, ok := names["groups"]
	return ok
}

// graphGroups reads the user's groups from Microsoft Graph with the
// access token of the sign-in, following @odata.nextLink while it stays on
// the Graph origin of Options.GraphURL: the token never goes to another
// host. Every failure wraps ErrGroupsUnavailable.
func (p *Provider) graphGroups(ctx context.Context, accessToken string) ([]string, error) {
	if accessToken == "" {
		return nil, fmt.Errorf("%w: the token response has no access_token", ErrGroupsUnavailable)
	}
	base, err := url.Parse(strings.TrimSuffix(p.graphURL(), "/"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGroupsUnavailable, err)
	}
	next := base.String() + graphGroupsPath
	var ids []string
	for page := 0; next != ""; page++ {
		if page == maxGraphPages {
			return nil, fmt.Errorf("%w: more than %d pages", ErrGroupsUnavailable, maxGraphPages)
		}
		u, err := url.Parse(next)
		if err != nil || u.Scheme != base.Scheme || u.Host != base.Host {
			return nil, fmt.Errorf("%w: @odata.nextLink leaves the graph origin", ErrGroupsUnavailable)
		}
		var body struct {
			Value []struct {
				ID any `json:"id"`
			} `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := p.graphGet(ctx, u.String(), accessToken, &body); err != nil {
			return nil, err
		}
		for _, v := range body.Value {
			if id, ok := v.ID.(string); ok && id != "" {
				ids = append(ids, id)
			}
		}
		next = body.NextLink
	}
	raw, _ := json.Marshal(ids) // strings only: cannot fail
	groups, _, _ := parseGroups(raw)
	return groups, nil
}

// graphGet GETs one page of Graph with the access token into v.
func (p *Provider) graphGet(ctx context.Context, target, accessToken string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrGroupsUnavailable, err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrGroupsUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The body is Graph's to word and may echo the request.
		return fmt.Errorf("%w: graph answered %d", ErrGroupsUnavailable, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxGraphPageBytes+1))
	if err != nil {
		return fmt.Errorf("%w: read response: %w", ErrGroupsUnavailable, err)
	}
	if len(data) > maxGraphPageBytes {
		return fmt.Errorf("%w: a page larger than %d bytes", ErrGroupsUnavailable, maxGraphPageBytes)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: response is not a JSON object", ErrGroupsUnavailable)
	}
	return nil
}

// graphURL is Options.GraphURL or its default.
func (p *Provider) graphURL() string {
	if p.opts.GraphURL != "" {
		return p.opts.GraphURL
	}
	return DefaultGraphURL
}
