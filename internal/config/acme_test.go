package config

import (
	"strings"
	"testing"

	"github.com/rezigate/rezigate/acme"
)

// TestACMERules: tls.acme needs cache_dir unless session.store is redis,
// and its keys are checked by the acme package, named at the key.
func TestACMERules(t *testing.T) {
	const redis = "session:\n  store: redis\nredis:\n  url: redis://127.0.0.1:6379/0\n"
	tests := []struct {
		name string
		doc  string // appended to minimalYAML
		want string // "" = valid
	}{
		{"off by default", "", ""},
		{"cache_dir required without redis", "tls:\n  acme:\n    domains: [rms.example.com]\n", "tls.acme.cache_dir: required unless session.store is redis"},
		{"cache_dir", "tls:\n  acme:\n    domains: [rms.example.com]\n    cache_dir: /var/lib/rezigate/acme\n", ""},
		{"redis instead of cache_dir", redis + "tls:\n  acme:\n    domains: [rms.example.com]\n", ""},
		{"wildcard", "tls:\n  acme:\n    domains: [\"*.example.com\"]\n    cache_dir: /tmp/x\n", "tls.acme.domains[0]: must not be a wildcard"},
		{"http directory", "tls:\n  acme:\n    domains: [rms.example.com]\n    cache_dir: /tmp/x\n    directory_url: http://ca.example.com/dir\n", "tls.acme.directory_url: must be https"},
		{"email", "tls:\n  acme:\n    domains: [rms.example.com]\n    cache_dir: /tmp/x\n    email: ops\n", "tls.acme.email: must be an email address"},
		{"files and acme both", "tls:\n  cert_file: /x.crt\n  key_file: /x.key\n  acme:\n    domains: [rms.example.com]\n    cache_dir: /tmp/x\n", "tls.acme.domains: set either tls.cert_file and tls.key_file or tls.acme, not both"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(minimalYAML+tc.doc), secretEnv)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Parse = %v; want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Parse = %v; want an error containing %q", err, tc.want)
			}
		})
	}
	c, err := Parse([]byte(minimalYAML+"tls:\n  acme:\n    domains: [rms.example.com]\n    cache_dir: /d\n  redirect_listen: \":80\"\n"), secretEnv)
	if err != nil {
		t.Fatal(err)
	}
	if o := c.ACMEOptions(nil); o.DirectoryURL != acme.DefaultDirectoryURL || o.TLSAddr != c.Listen || o.HTTPAddr != ":80" || o.CacheDir != "/d" || !c.ACMEEnabled() {
		t.Errorf("ACMEOptions = %+v; want Let's Encrypt, listen as TLSAddr, redirect_listen as HTTPAddr and cache_dir", o)
	}
}
