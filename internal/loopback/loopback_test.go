package loopback

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.1.2.3", true},
		{"127.255.255.255", true},
		{"::1", true},
		{"[::1]", true},
		{"0:0:0:0:0:0:0:1", true},
		{"::ffff:127.0.0.1", true},
		{"[::ffff:127.0.0.1]", true},
		{"localhost", true},
		{"LocalHost", true},

		{"127.attacker.example.com", false},
		{"127.0.0.1.example.com", false},
		{"127.0.0.1.", false},
		{"localhost.evil.com", false},
		{"evil-localhost", false},
		{"localhost.", false},
		{"[localhost]", false},
		{"[127.0.0.1]", false},
		{"0.0.0.0", false},
		{"::", false},
		{"[::]", false},
		{"128.0.0.1", false},
		{"126.255.255.255", false},
		{"10.0.0.1", false},
		{"::2", false},
		{"::ffff:10.0.0.1", false},
		{"::1%lo", false},
		{"[::1%25lo]", false},
		{"127.1", false},
		{"0177.0.0.1", false},
		{"2130706433", false},
		{"127.0.0.1:80", false},
		{"[::1]:80", false},
		{"[::1", false},
		{" 127.0.0.1", false},
		{"127.0.0.1 ", false},
		{"", false},
		{"[]", false},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			if got := Host(tc.host); got != tc.want {
				t.Errorf("Host(%q) = %v; want %v", tc.host, got, tc.want)
			}
		})
	}
}

// FuzzHost checks that Host never panics and only ever says yes to
// "localhost" or to an address the standard library calls loopback.
func FuzzHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "::1", "[::1]", "localhost", "127.attacker.example.com", "localhost.evil.com", "0.0.0.0", "::ffff:127.0.0.1", "127.1", "::1%lo", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !Host(host) {
			return
		}
		if strings.EqualFold(host, "localhost") {
			return
		}
		h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		ip, err := netip.ParseAddr(h)
		if err != nil || !ip.Unmap().IsLoopback() || ip.Zone() != "" {
			t.Fatalf("Host(%q) = true; want false: not a loopback address", host)
		}
		if std := net.ParseIP(h); std == nil || !std.IsLoopback() {
			t.Fatalf("Host(%q) = true, but net.ParseIP says it is not loopback", host)
		}
	})
}
