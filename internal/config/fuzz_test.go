package config

import (
	"strings"
	"testing"
)

// FuzzParse checks that no document makes Parse panic, that a config is
// returned exactly when there is no error, and that an accepted config
// validates and survives a round trip through Redacted.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimalYAML))
	f.Add([]byte(""))
	f.Add([]byte("listen: [\n"))
	f.Add([]byte("oidc: &a {scopes: *a}\n"))
	f.Add([]byte("session:\n  secrets: [a, [b], {c: d}, ~]\n  max_age: 3600\n"))
	f.Add([]byte("log:\n  <<: {level: info}\n  level: debug\n  level: warn\n"))
	f.Add([]byte("a: &a [*a, *a]\nb: &b [*a, *a]\nrezi: *b\n"))
	f.Add([]byte("---\nlisten: a\n---\nlisten: b\n"))
	f.Add([]byte("? [complex]\n: key\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, secretEnv)
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse(%q) = %v, %v; want exactly one of a config and an error", data, c, err)
		}
		if err != nil {
			for _, s := range []string{testClientSecret, testSessionKey1, testUIDSecret, testPrivateKey} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("Parse(%q) error contains a secret: %v", data, err)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse(%q) accepted a config that does not validate: %v", data, err)
		}
		if _, err := Parse([]byte(c.Redacted()), secretEnv); err != nil {
			t.Fatalf("Parse(Redacted()) of an accepted config = %v\n%s", err, c.Redacted())
		}
		_ = c.Warnings()
	})
}
