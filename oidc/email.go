package oidc

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxEmailLen is the longest address SMTP can carry (RFC 5321 section
// 4.5.3.1.3: a 256-byte path less its angle brackets).
const maxEmailLen = 254

// validEmail reports whether s is one plain address, an RFC 5322 addr-spec
// such as "alice@example.com", and nothing else, so that the text after its
// only '@' is the domain the provider vouches for.
//
// Rejected: more than one '@' ("x@evil.com@example.com"), lists
// ("a@evil.com,b@example.com"), display names and angle brackets, quoted
// local parts, comments, domain literals, backslash escapes, any space,
// control or formatting character (zero-width or bidi), U+FFFD or invalid
// UTF-8, empty local part or domain, and more than maxEmailLen bytes.
// net/mail must then read s back as exactly s, with no name, which also
// rules out stray, leading or doubled dots.
func validEmail(s string) bool {
	if s == "" || len(s) > maxEmailLen || !utf8.ValidString(s) || strings.Count(s, "@") != 1 {
		return false
	}
	local, domain, _ := strings.Cut(s, "@")
	if local == "" || domain == "" {
		return false
	}
	for _, r := range s {
		// unicode.IsPrint is false for controls, formatting characters
		// and every space but U+0020, which is excluded here too.
		if r == ' ' || r == utf8.RuneError || !unicode.IsPrint(r) || strings.ContainsRune(`"()<>[]\,;:`, r) {
			return false
		}
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

// emailVerified reads an email_verified claim: JSON true, or the string
// "true" that some providers send. Anything else, absence included, is
// not verified.
func emailVerified(v any) bool {
	return v == true || v == "true"
}
