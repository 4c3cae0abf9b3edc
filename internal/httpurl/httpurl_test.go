package httpurl

import (
	"errors"
	"net/url"
	"testing"
)

// TestParse holds one row for each way the former copies of this rule
// (in oidc, assertion, rezi, middleware and proxy) disagreed, with the
// answer all of them now give.
func TestParse(t *testing.T) {
	const any, secure, base, secureBase = Rule(0), RequireSecure, NoQuery, RequireSecure | NoQuery
	tests := []struct {
		name string
		raw  string
		rule Rule
		want error
	}{
		{"https", "https://idp.example.com/realms/a", secureBase, nil},
		{"http on 127.0.0.1", "http://127.0.0.1:8080/x", secureBase, nil},
		{"http on localhost", "http://localhost:8080", secure, nil},
		{"http on [::1]", "http://[::1]:8080/", secure, nil},
		{"http anywhere without RequireSecure", "http://app.internal:3000", any, nil},
		{"query without NoQuery", "https://login.example.com/logout?p=b2c_1_signin", secure, nil},

		{"empty", "", any, ErrRequired},
		{"relative", "/x", any, ErrNotAbsolute},
		{"relative, secure", "/x", secure, ErrNotSecure},
		{"no scheme", "idp.example.com", any, ErrNotAbsolute},
		{"other scheme", "ftp://idp.example.com", any, ErrNotAbsolute},
		{"javascript", "javascript:alert(1)", any, ErrNotAbsolute},
		{"opaque", "https:idp.example.com", secure, ErrNotSecure},
		{"no host", "https:///path", any, ErrNotAbsolute},
		// The assertion's copy checked u.Host only, and took this one.
		{"port without host name", "https://:443/jwks", secureBase, ErrNotSecure},
		{"port without host name, any", "http://:3000", any, ErrNotAbsolute},
		{"http off loopback", "http://idp.example.com", secure, ErrNotSecure},
		{"http on a loopback look-alike", "http://127.attacker.example.com", secure, ErrNotSecure},
		{"http on 127.0.0.1.evil.com", "http://127.0.0.1.evil.com", secure, ErrNotSecure},
		{"http on the unspecified address", "http://0.0.0.0:8080", secure, ErrNotSecure},
		{"user info", "https://u:p@idp.example.com", any, ErrUserInfo},
		{"user name only", "https://u@idp.example.com", secure, ErrUserInfo},
		// The oidc and rezi copies took spaces in the path (rezi did not).
		{"space", "https://api.example.com/v 1", secure, ErrNotSecure},
		{"space, any", "https://app.example.com/log in", any, ErrNotAbsolute},
		{"backslash", `https://app.example.com\@evil.example`, any, ErrNotAbsolute},
		{"control character", "https://app.example.com/\n", any, ErrNotAbsolute},
		{"query in a base", "https://api.example.com/v1?debug=1", base, ErrQuery},
		{"empty query in a base", "https://api.example.com/v1?", secureBase, ErrQuery},
		{"fragment in a base", "https://api.example.com/v1#x", base, ErrQuery},
		{"empty fragment in a base", "https://api.example.com#", base, ErrQuery},
		// The proxy's copy took a fragment in PublicURL, the oidc copy in
		// a discovered endpoint: a fragment never reaches a server.
		{"fragment", "https://app.example.com/login#x", any, ErrFragment},
		{"empty fragment", "https://app.example.com/login#", secure, ErrFragment},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := Parse(tc.raw, tc.rule)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse(%q, %b) = %v; want %v", tc.raw, tc.rule, err, tc.want)
			}
			if (u != nil) != (tc.want == nil) {
				t.Errorf("Parse(%q, %b) returned URL %v with error %v", tc.raw, tc.rule, u, err)
			}
		})
	}
}

// TestCheck covers URLs parsed elsewhere (the proxy takes *url.URL).
func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		u    *url.URL
		rule Rule
		want error
	}{
		{"nil", nil, 0, ErrRequired},
		{"fine", &url.URL{Scheme: "http", Host: "app:3000"}, 0, nil},
		{"no host name", &url.URL{Scheme: "http", Host: ":3000"}, 0, ErrNotAbsolute},
		{"fragment", &url.URL{Scheme: "http", Host: "app", Fragment: "x"}, 0, ErrFragment},
		{"force query in a base", &url.URL{Scheme: "https", Host: "app", ForceQuery: true}, NoQuery, ErrQuery},
		{"user", &url.URL{Scheme: "http", Host: "app", User: url.User("admin")}, 0, ErrUserInfo},
		{"http off loopback", &url.URL{Scheme: "http", Host: "app"}, RequireSecure, ErrNotSecure},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Check(tc.u, tc.rule); !errors.Is(err, tc.want) {
				t.Errorf("Check(%v, %b) = %v; want %v", tc.u, tc.rule, err, tc.want)
			}
		})
	}
}

func TestSecure(t *testing.T) {
	tests := []struct {
		raw  string
		want bool
	}{
		{"https://rms.example.com", true},
		{"http://127.0.0.1:4180", true},
		{"http://LOCALHOST", true},
		{"http://[::1]:80", true},
		{"http://rms.example.com", false},
		{"http://127.0.0.1.example.com", false},
		{"ws://127.0.0.1", false},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			u, err := url.Parse(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := Secure(u); got != tc.want {
				t.Errorf("Secure(%q) = %v; want %v", tc.raw, got, tc.want)
			}
		})
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts
// is an absolute http(s) URL with a host name and no user info.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"https://idp.example.com", "http://127.0.0.1:8080/x?y#z", "https://:443", "http://u@h", "https:x", "", "http://[::1]"} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(RequireSecure|NoQuery))
	}
	f.Fuzz(func(t *testing.T, raw string, r uint8) {
		rule := Rule(r) & (RequireSecure | NoQuery)
		u, err := Parse(raw, rule)
		if err != nil {
			return
		}
		if u.Hostname() == "" || u.User != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Fragment != "" {
			t.Fatalf("Parse(%q, %b) accepted %#v", raw, rule, u)
		}
		if rule&RequireSecure != 0 && !Secure(u) {
			t.Fatalf("Parse(%q, %b) accepted an insecure URL", raw, rule)
		}
		if rule&NoQuery != 0 && (u.RawQuery != "" || u.ForceQuery) {
			t.Fatalf("Parse(%q, %b) accepted a query", raw, rule)
		}
	})
}
