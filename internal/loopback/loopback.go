// Package loopback answers one question the same way everywhere: does a
// host name stay on this machine?
//
// Plain http is tolerated only towards such hosts (tests, demos, a
// provider on the same box), so the answer must not depend on DNS or on
// how a name happens to start: "127.attacker.example.com" is a public
// name that anyone can point anywhere, and it is not loopback.
package loopback

import (
	"net/netip"
	"strings"
)

// Host reports whether host names this machine's loopback interface. host
// is a host without port, as url.URL.Hostname or net.SplitHostPort return
// it; an IPv6 literal may also keep its brackets ("[::1]").
//
// It is true only for
//   - an IPv4 address in 127.0.0.0/8, in canonical dotted-decimal form;
//   - the IPv6 address ::1, without a zone;
//   - the IPv4-mapped form of a 127.0.0.0/8 address (::ffff:127.0.0.1),
//     which every stack delivers to the same IPv4 loopback;
//   - the exact name "localhost" in any letter case, which RFC 6761
//     reserves for loopback.
//
// Everything else is false, without a DNS lookup: other names (including
// "localhost.", "localhost.example.com" and "127.0.0.1.example.com"), the
// unspecified addresses 0.0.0.0 and ::, short or octal IPv4 forms, zoned
// addresses and the empty string.
func Host(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	bracketed := false
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host, bracketed = host[1:len(host)-1], true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" || (bracketed && !ip.Is6()) {
		return false
	}
	return ip.Unmap().IsLoopback()
}
