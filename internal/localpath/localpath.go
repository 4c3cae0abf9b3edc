// Package localpath decides whether a string is safe to use as a
// same-origin redirect target.
//
// Browsers are lenient about what they treat as an absolute URL: "//evil",
// "/\evil", "\/evil" and paths with tabs or newlines inside a scheme all
// leave the site. Only a path that starts with exactly one "/", whose second
// character is neither "/" nor "\", and which has no control characters,
// backslashes or percent-encoded slashes or backslashes at its start is
// accepted. The check is applied to the exact string that goes into a
// Location header, never to a value that is cleaned afterwards.
package localpath

import "strings"

// Valid reports whether p is a local path that keeps the browser on the
// same origin when used verbatim as a Location header value.
func Valid(p string) bool {
	if len(p) == 0 || p[0] != '/' {
		return false
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		// Control characters are stripped by some browsers, turning
		// "/\t/evil" into "//evil"; backslashes are read as slashes.
		if c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	// An encoded slash or backslash right after the leading "/" is decoded
	// by some intermediaries and servers into "//" before a browser sees it.
	if len(p) >= 4 && p[1] == '%' {
		enc := strings.ToLower(p[2:4])
		if enc == "2f" || enc == "5c" {
			return false
		}
	}
	return true
}

// OrRoot returns p when Valid(p) is true, and "/" otherwise.
func OrRoot(p string) string {
	if Valid(p) {
		return p
	}
	return "/"
}
