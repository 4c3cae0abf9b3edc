package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"github.com/rezigate/rezigate/internal/demo"
)

// badEmails are claims that net/mail or a naive "text after the last @"
// reading would take for an address at example.com.
var badEmails = []string{
	"mallory@evil.com@example.com",
	"a@evil.com,b@example.com",
	"a@evil.com, b@example.com",
	"Name <x@evil.com>@example.com",
	"Mallory <mallory@example.com>",
	"<mallory@example.com>",
	" lead@example.com",
	"trail@example.com ",
	"newline@example.com\n",
	"mallory @example.com",
	"mallory@\texample.com",
	`"mallory"@example.com`,
	`"mallory@evil.com"@example.com`,
	`mallory\@evil.com@example.com`,
	"mallory@example.com (evil.com)",
	"(comment)mallory@example.com",
	"mallory@[127.0.0.1]",
	"mallory;x@example.com",
	"mallory:x@example.com",
	"mallory\x00@example.com",
	"mallory\u200b@example.com",
	"mallory\u202e@example.com",
	"mallory\u00a0@example.com",
	"mallory\xff@example.com",
	"mallory",
	"@example.com",
	"mallory@",
	"@",
	"mallory..x@example.com",
	".mallory@example.com",
	"mallory@example..com",
	"mallory@.example.com",
	"mallory@example.com.",
	strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", // 255 bytes
}

var goodEmails = []string{
	"alice@example.com",
	"Alice.Example@EXAMPLE.COM",
	"alice+rms@example.com",
	"a.b-c_d@sub.example.com",
	"o'brien@example.com",
	"josé@example.com",
	"alice@localhost",
	strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com", // 254 bytes
}

func TestValidEmail(t *testing.T) {
	for _, s := range goodEmails {
		t.Run(s, func(t *testing.T) {
			if !validEmail(s) {
				t.Errorf("validEmail(%q) = false; want true", s)
			}
		})
	}
	for _, s := range badEmails {
		t.Run(s, func(t *testing.T) {
			if validEmail(s) {
				t.Errorf("validEmail(%q) = true; want false", s)
			}
		})
	}
}

// FuzzEmail checks that validEmail never panics and accepts only what is
// plainly one address: net/mail reads it back unchanged, one '@', both
// sides non-empty, no space, control or formatting character, no quote,
// comment, bracket or list separator, at most 254 bytes of valid UTF-8.
func FuzzEmail(f *testing.F) {
	for _, s := range append(append([]string{}, goodEmails...), badEmails...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !validEmail(s) {
			return
		}
		if len(s) > maxEmailLen || !utf8.ValidString(s) || strings.Count(s, "@") != 1 {
			t.Fatalf("validEmail(%q) = true; want false (length, encoding or '@' count)", s)
		}
		local, domain, _ := strings.Cut(s, "@")
		if local == "" || domain == "" {
			t.Fatalf("validEmail(%q) = true with an empty local part or domain", s)
		}
		if strings.ContainsAny(s, "\"()<>[]\\,;: ") {
			t.Fatalf("validEmail(%q) = true with a quote, comment, bracket, separator or space", s)
		}
		for _, r := range s {
			if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("validEmail(%q) = true with rune %U", s, r)
			}
		}
		a, err := mail.ParseAddress(s)
		if err != nil || a.Name != "" || a.Address != s {
			t.Fatalf("validEmail(%q) = true but mail.ParseAddress = %v, %v", s, a, err)
		}
	})
}

// An ID token whose email is not one plain address is refused with
// ErrBadEmail, however it is disguised, and the refusal still says who
// signed in, without the claim.
func TestExchangeBadEmail(t *testing.T) {
	users := make([]demo.User, len(badEmails))
	for i, email := range badEmails {
		users[i] = demo.User{Email: email, Password: "pw", Subject: fmt.Sprintf("mallory-%d", i), EmailVerified: true}
	}
	idp := startProviderWith(t, nil, users...)
	p := newProvider(t, idp.Issuer())
	for _, u := range users {
		email := u.Email
		t.Run(email, func(t *testing.T) {
			v := oauth2.GenerateVerifier()
			id, err := p.Exchange(context.Background(), codeFor(t, p, email, "pw", "n", v), v, "n")
			if !errors.Is(err, ErrBadEmail) {
				t.Fatalf("Exchange(email %q) = %+v, %v; want ErrBadEmail", email, id, err)
			}
			if id.Subject != u.Subject || id.Issuer != idp.Issuer() || id.Email != "" {
				t.Errorf("Exchange(email %q) identity = %+v; want issuer and subject only", email, id)
			}
			if strings.Contains(err.Error(), email) {
				t.Errorf("Exchange error %q contains the claim", err)
			}
		})
	}
}
