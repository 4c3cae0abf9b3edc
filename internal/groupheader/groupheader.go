// Package groupheader holds the one rule for which group names rezigate
// uses, and writes a user's groups as one header value, the same way for
// the proxied request (X-Forwarded-Groups) and the forward-auth answer
// (X-Auth-Request-Groups).
//
// A group name is usable when every reader of it reads the same name:
// the policy, an upstream that splits X-Forwarded-Groups on commas and
// trims spaces, one that decodes header bytes as Latin-1 (Node) or UTF-8
// (Go) or normalizes Unicode, and one that reads the assertion's groups
// claim. The provider's names are checked once, when a sign-in reads
// them, so the policy never grants through a name the upstream would read
// differently, and the header and the assertion carry the same list.
package groupheader

// MaxNameLen is the longest usable group name, in bytes.
const MaxNameLen = 256

// MaxValueLen is the longest header value rezigate sends upstream for a
// user's groups: X-Forwarded-Groups, X-Auth-Request-Groups and the
// assertion, which carries them too. With the header name it fits nginx's
// default 8 KiB buffer for one request header line
// (large_client_header_buffers 4 8k), so an upstream behind nginx never
// answers 400 for it.
const MaxValueLen = 7 << 10

// Reasons a name is not usable, as Problem returns them.
const (
	Empty       = "empty"
	TooLong     = "too_long"
	Comma       = "comma"
	Control     = "control_character"
	SpaceAround = "space_around"
	NotASCII    = "not_ascii"
)

// Usable reports whether name can be used as a group: 1 to MaxNameLen
// bytes of printable ASCII (space included), no comma, and no space at
// either end. It does not allocate.
//
// Everything else is left out of the session, so of the policy, the
// header and the assertion alike: a comma or a space at either end would
// read as other groups in a comma-separated list; a control character
// could split a header; and a non-ASCII name reads as another name to an
// upstream that decodes header bytes as Latin-1 or normalizes Unicode
// (fullwidth "ａｄｍｉｎ" is "admin" under NFKC).
func Usable(name string) bool { return Problem(name) == "" }

// Problem returns why name is not usable (one of the reasons above), or
// "" when it is.
func Problem(name string) string {
	if name == "" {
		return Empty
	}
	if len(name) > MaxNameLen {
		return TooLong
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c >= 0x80:
			return NotASCII
		case c < 0x20 || c == 0x7f:
			return Control
		case c == ',':
			return Comma
		}
	}
	if name[0] == ' ' || name[len(name)-1] == ' ' {
		return SpaceAround
	}
	return ""
}

// Value returns the usable names of groups joined with ",", in order,
// leaving out every other name (see Usable), so that the list reads back
// as exactly those names. It returns "" when no name is left. Value
// allocates only when it joins two or more names.
func Value(groups []string) string {
	switch len(groups) {
	case 0:
		return ""
	case 1:
		if Usable(groups[0]) {
			return groups[0]
		}
		return ""
	}
	n := 0
	for _, g := range groups {
		n += len(g) + 1
	}
	b := make([]byte, 0, n)
	for _, g := range groups {
		if !Usable(g) {
			continue
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, g...)
	}
	return string(b)
}

// Keep returns the usable names of groups, in order: groups itself when
// every name is usable (no allocation), else a new slice.
func Keep(groups []string) []string {
	for i, g := range groups {
		if Usable(g) {
			continue
		}
		out := make([]string, i, len(groups)-1)
		copy(out, groups[:i])
		for _, g := range groups[i+1:] {
			if Usable(g) {
				out = append(out, g)
			}
		}
		return out
	}
	return groups
}
