package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"unicode/utf8"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// DefaultGroupsClaim is the ID-token claim read for Identity.Groups when
// Options.GroupsClaim is empty.
const DefaultGroupsClaim = "groups"

// Limits on the groups kept from one token: a provider that sends more
// is cut off (the groups only ever let a user in, so fewer is the safe
// side), and a name longer than maxGroupName is dropped.
const (
	maxGroups    = 1000
	maxGroupName = 256
)

// groups reads the groups claim of a verified ID token; see
// Identity.Groups. A refresh that gets a new ID token reads it the same
// way, so the groups follow the provider.
func (p *Provider) groups(ctx context.Context, idt *gooidc.IDToken) []string {
	var claims map[string]json.RawMessage
	if err := idt.Claims(&claims); err != nil {
		return nil
	}
	name := p.opts.GroupsClaim
	if name == "" {
		name = DefaultGroupsClaim
	}
	raw, ok := claims[name]
	if !ok {
		return nil
	}
	groups, ok := parseGroups(raw)
	if !ok {
		p.log.DebugContext(ctx, "oidc: groups claim ignored: neither an array of strings nor a string", "claim", name)
	}
	return groups
}

// parseGroups reads a groups claim's JSON value: an array of strings, or
// one string (a single group). It keeps the names in order, without
// empty ones, repeats, names with control characters or invalid UTF-8,
// and names longer than 256 bytes, and at most the first 1000; a claim
// that keeps none gives an empty, non-nil slice. ok is false when raw is
// anything else (a number, an object, an array holding
// a non-string, null), which gives no groups at all.
func parseGroups(raw json.RawMessage) (groups []string, ok bool) {
	var list []string
	switch raw = bytes.TrimSpace(raw); {
	case len(raw) > 0 && raw[0] == '[':
		if json.Unmarshal(raw, &list) != nil {
			return nil, false
		}
	case len(raw) > 0 && raw[0] == '"':
		var one string
		if json.Unmarshal(raw, &one) != nil {
			return nil, false
		}
		list = []string{one}
	default:
		return nil, false
	}
	seen := make(map[string]struct{}, len(list))
	for _, g := range list {
		if len(groups) == maxGroups {
			break
		}
		if !validGroup(g) {
			continue
		}
		if _, dup := seen[g]; dup {
			continue
		}
		seen[g] = struct{}{}
		groups = append(groups, g)
	}
	if groups == nil {
		groups = []string{} // the claim is there and lists none
	}
	return groups, true
}

// validGroup reports whether g may be kept: not empty, at most
// maxGroupName bytes, valid UTF-8 and no control characters, so that it
// can travel in a header value.
func validGroup(g string) bool {
	if g == "" || len(g) > maxGroupName || !utf8.ValidString(g) {
		return false
	}
	for _, r := range g {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}
