// Package groupheader writes a user's groups as one header value, the
// same way for the proxied request (X-Forwarded-Groups) and the
// forward-auth answer (X-Auth-Request-Groups).
package groupheader

// Value returns groups joined with ",", in order, leaving out every name
// that could not be read back as itself from such a list: an empty name,
// one holding a comma or a control character, or one with a leading or
// trailing space. It returns "" when no name is left. Value allocates only
// when it joins two or more names.
func Value(groups []string) string {
	switch len(groups) {
	case 0:
		return ""
	case 1:
		if safe(groups[0]) {
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
		if !safe(g) {
			continue
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, g...)
	}
	return string(b)
}

// safe reports whether g can be one item of the list.
func safe(g string) bool {
	if g == "" || g[0] == ' ' || g[len(g)-1] == ' ' {
		return false
	}
	for i := 0; i < len(g); i++ {
		if c := g[i]; c == ',' || c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}
