// Package localpath decides whether a string is safe to use as a
// same-origin redirect target.
//
// Browsers are lenient about what they treat as an absolute URL: "//evil",
// "/\evil", "\/evil" and paths with tabs or newlines inside a scheme all
// leave the site, and a browser resolves dot segments ("/..//evil" and
// "/%2e//evil" both become "//evil") before it asks the server. A path is
// accepted only when it is short, valid UTF-8 with printable characters
// only and no backslash, starts with exactly one "/", and still starts with
// exactly one "/" once its dot segments are resolved, both as written and
// percent-decoded (an upstream that decodes "%2F" must not read "//evil"
// either). The check is applied to the exact string that goes into a
// Location header, never to a value that is cleaned afterwards.
package localpath

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLen is the longest path accepted, in bytes. A longer return path is
// not worth its cost: it would not fit the sign-in state cookie, and no
// link anyone follows by hand is that long.
const MaxLen = 2048

// Valid reports whether p is a local path that keeps the browser on the
// same origin when used verbatim as a Location header value.
func Valid(p string) bool {
	if len(p) == 0 || len(p) > MaxLen || p[0] != '/' || !utf8.ValidString(p) {
		return false
	}
	for _, r := range p {
		// Control characters are stripped by some browsers, turning
		// "/\t/evil" into "//evil"; backslashes are read as slashes; bytes
		// that are not UTF-8 and separators like U+0085 or U+2028 are read
		// differently by different parsers.
		if r == '\\' || !unicode.IsPrint(r) {
			return false
		}
	}
	raw := pathPart(p)
	if leavesOrigin(raw) || leavesOrigin(removeDotSegments(raw, isDotRaw)) {
		return false
	}
	if dec, err := url.PathUnescape(raw); err == nil && leavesOrigin(removeDotSegments(dec, isDot)) {
		return false
	}
	return true
}

// OrRoot returns p when it is Valid and "/" otherwise.
func OrRoot(p string) string {
	if Valid(p) {
		return p
	}
	return "/"
}

// Resolved returns the path of p as a server routes it: without query or
// fragment, percent-decoded once, with dot segments resolved. Compare
// guards such as "not into /oauth2/" against this form, never against the
// still-encoded string ("/%6fauth2/" is "/oauth2/" to the server).
func Resolved(p string) string {
	raw := pathPart(p)
	if dec, err := url.PathUnescape(raw); err == nil {
		raw = dec
	}
	return removeDotSegments(raw, isDot)
}

// leavesOrigin reports whether a resolved path would be read as a
// network-path reference ("//host") or a backslash variant of one, as
// written or with its first separator percent-encoded.
func leavesOrigin(p string) bool {
	if len(p) < 2 {
		return false
	}
	if p[1] == '/' || p[1] == '\\' {
		return true
	}
	if len(p) >= 4 && p[1] == '%' {
		enc := strings.ToLower(p[2:4])
		return enc == "2f" || enc == "5c"
	}
	return false
}

// pathPart cuts the query and fragment off p.
func pathPart(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		return p[:i]
	}
	return p
}

// isDot reports whether a decoded segment is "." (1) or ".." (2).
func isDot(seg string) int {
	switch seg {
	case ".":
		return 1
	case "..":
		return 2
	}
	return 0
}

// isDotRaw is isDot for a segment as written, where browsers also read
// "%2e" (any case) as a dot.
func isDotRaw(seg string) int {
	if len(seg) > 6 {
		return 0
	}
	return isDot(strings.ReplaceAll(strings.ToLower(seg), "%2e", "."))
}

// removeDotSegments resolves "." and ".." segments of an absolute path as
// RFC 3986 section 5.2.4 does, keeping empty segments (so "//" survives
// and can be seen). A path that does not start with "/" is returned as is.
func removeDotSegments(p string, dot func(string) int) string {
	if p == "" || p[0] != '/' {
		return p
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch dot(s) {
		case 1:
			if last {
				out = append(out, "")
			}
		case 2:
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}
