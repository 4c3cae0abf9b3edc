// Package httptoken holds the token rule of RFC 9110, section 5.6.2,
// which header field names follow and, by RFC 6265 section 4.1.1, cookie
// names too. A name that breaks it could split or smuggle a header, or be
// read differently by a browser and by this server.
package httptoken

// Chars names the characters Valid accepts, for messages such as
// "must be a header name: " + Chars.
const Chars = "letters, digits and !#$%&'*+-.^_`|~"

// Valid reports whether s is a non-empty token: ASCII letters, digits and
// the marks in Chars only. Lengths are the caller's rule.
func Valid(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tchar(s[i]) {
			return false
		}
	}
	return true
}

func tchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
