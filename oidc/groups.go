package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/rezigate/rezigate/internal/groupheader"
	"github.com/rezigate/rezigate/internal/requestid"
)

// DefaultGroupsClaim is the ID-token claim read for Identity.Groups when
// Options.GroupsClaim is empty.
const DefaultGroupsClaim = "groups"

// MaxGroups is the most groups read from one token. A claim naming more
// distinct usable groups is not cut silently: Identity.Groups then holds
// the first MaxGroups+1 of them and TooManyGroups reports true, so that
// the caller refuses the user with a reason rather than judging them by
// part of their groups.
const MaxGroups = 1000

// TooManyGroups reports whether the ID token's groups claim named more
// than MaxGroups usable groups, so that Groups holds only some of them.
// A sign-in must then be refused: the policy only ever grants through a
// group, so a user judged by part of their groups could be denied
// without a reason.
func (id Identity) TooManyGroups() bool { return len(id.Groups) > MaxGroups }

// groups reads the groups claim of a verified ID token; see
// Identity.Groups. A refresh that gets a new ID token reads it the same
// way, so the groups follow the provider. Names that are not usable
// (groupheader.Usable) are dropped, with one log line that counts them;
// ctx carries the request id.
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
	groups, dropped, ok := parseGroups(raw)
	if !ok {
		p.log.DebugContext(ctx, "oidc: groups claim ignored: neither an array of strings nor a string", "claim", name)
	}
	if dropped.count > 0 {
		p.log.InfoContext(ctx, "oidc: group names dropped: not usable in a header or the assertion, so never granted through",
			"request_id", requestid.FromContext(ctx), "claim", name, "dropped", dropped.count, "kept", len(groups),
			"reasons", dropped.reasons(), "examples", dropped.examples)
	}
	if len(groups) > MaxGroups {
		p.log.WarnContext(ctx, "oidc: groups claim names more groups than are read",
			"request_id", requestid.FromContext(ctx), "claim", name, "limit", MaxGroups)
	}
	return groups
}

// droppedGroups counts the names parseGroups left out as unusable.
type droppedGroups struct {
	count    int
	byReason map[string]int
	// examples are the first few, quoted in ASCII and cut short, safe for
	// a log line.
	examples []string
}

// Limits on what droppedGroups keeps for the log line.
const (
	maxDroppedExamples = 3
	maxExampleLen      = 64
)

func (d *droppedGroups) add(name, reason string) {
	d.count++
	if d.byReason == nil {
		d.byReason = map[string]int{}
	}
	d.byReason[reason]++
	if len(d.examples) < maxDroppedExamples {
		if len(name) > maxExampleLen {
			name = name[:maxExampleLen]
		}
		d.examples = append(d.examples, strconv.QuoteToASCII(name))
	}
}

// reasons returns the counts by reason, in a fixed order:
// "comma=2 not_ascii=1".
func (d *droppedGroups) reasons() string {
	var b strings.Builder
	for _, r := range []string{groupheader.Empty, groupheader.TooLong, groupheader.Comma, groupheader.Control, groupheader.SpaceAround, groupheader.NotASCII} {
		if n := d.byReason[r]; n > 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(r + "=" + strconv.Itoa(n))
		}
	}
	return b.String()
}

// parseGroups reads a groups claim's JSON value: an array of strings, or
// one string (a single group). It keeps the usable names
// (groupheader.Usable) in order and without repeats, and counts the
// others in dropped; empty names are left out without being counted. It
// stops after MaxGroups+1 names, so that more than MaxGroups kept means
// the claim was over the limit. A claim that keeps none gives an empty,
// non-nil slice. ok is false when raw is anything else (a number, an
// object, an array holding a non-string, null), which gives no groups at
// all.
func parseGroups(raw json.RawMessage) (groups []string, dropped droppedGroups, ok bool) {
	var list []string
	switch raw = bytes.TrimSpace(raw); {
	case len(raw) > 0 && raw[0] == '[':
		if json.Unmarshal(raw, &list) != nil {
			return nil, dropped, false
		}
	case len(raw) > 0 && raw[0] == '"':
		var one string
		if json.Unmarshal(raw, &one) != nil {
			return nil, dropped, false
		}
		list = []string{one}
	default:
		return nil, dropped, false
	}
	seen := make(map[string]struct{}, min(len(list), MaxGroups+1))
	for _, g := range list {
		if len(groups) > MaxGroups {
			break
		}
		if why := groupheader.Problem(g); why == groupheader.Empty {
			continue
		} else if why != "" {
			dropped.add(g, why)
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
	return groups, dropped, true
}
