package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/rezigate/rezigate/internal/yamlenv"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// Secrets used by the tests. Each is distinctive, so a leak is easy to spot.
const (
	testClientSecret = "client-secret-0123456789-abcdefghijklmnop"
	testSessionKey1  = "session-key-one-0123456789-abcdefghijklmnop"
	testSessionKey2  = "session-key-two-0123456789-abcdefghijklmnop"
	testUIDSecret    = "uid-secret-0123456789-abcdefghijklmnopqrstu"
	testPrivateKey   = "rezi-private-key-0123456789-abcdefghijklmn"
)

// minimalYAML holds the required non-secret keys.
const minimalYAML = `
public_url: "https://rms.example.com"
oidc:
  issuer_url: "https://login.example.com"
  client_id: "rezigate"
rezi:
  login_url: "https://app.example.com/login/"
`

// secretEnv supplies every required secret, as a deployment does.
var secretEnv = []string{
	"REZIGATE_OIDC_CLIENT_SECRET=" + testClientSecret,
	"REZIGATE_SESSION_SECRETS=" + testSessionKey1 + "," + testSessionKey2,
	"REZIGATE_IDENTITY_UID_SECRET=" + testUIDSecret,
	"REZIGATE_REZI_PRIVATE_KEY=" + testPrivateKey,
}

// valid returns a configuration that validates: the defaults plus the
// required keys.
func valid() Config {
	c := Defaults()
	c.PublicURL = "https://rms.example.com"
	c.OIDC.IssuerURL = "https://login.example.com"
	c.OIDC.ClientID = "rezigate"
	c.OIDC.ClientSecret = testClientSecret
	c.Session.Secrets = []yamlenv.Secret{testSessionKey1, testSessionKey2}
	c.Identity.UIDSecret = testUIDSecret
	c.Rezi.PrivateKey = testPrivateKey
	c.Rezi.LoginURL = "https://app.example.com/login/"
	return c
}

// fields returns c without the record of where each value came from, for
// comparing configurations by value.
func fields(c Config) Config {
	c.origin = yamlenv.Origin{}
	return c
}

// problemPaths returns the path of every problem in err, in order.
func problemPaths(err error) []string {
	var paths []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var p *yamlenv.Problem
		if errors.As(e, &p) {
			paths = append(paths, p.Where)
		} else {
			paths = append(paths, "?"+e.Error())
		}
	}
	return paths
}

func TestDefaults(t *testing.T) {
	d := Defaults()
	tests := []struct {
		key  string
		got  any
		want any
	}{
		{"listen", d.Listen, "127.0.0.1:4180"},
		{"public_url", d.PublicURL, ""},
		{"upstream", d.Upstream, ""},
		{"upstream_max_idle_conns", d.UpstreamMaxIdleConns, yamlenv.ZeroOff(256)},
		{"shutdown_timeout", d.ShutdownTimeout, yamlenv.Duration(15 * time.Second)},
		{"metrics_listen", d.MetricsListen, ""},
		{"oidc.scopes", d.OIDC.Scopes, []string{"openid", "email", "profile"}},
		{"oidc.allowed_email_domains", d.OIDC.AllowedEmailDomains, []string{}},
		{"oidc.require_email_verified", d.OIDC.RequireEmailVerified, true},
		{"oidc.provider_sign_out", d.OIDC.ProviderSignOut, true},
		{"session.cookie_name", d.Session.CookieName, "_rezigate"},
		{"session.secrets", d.Session.Secrets, []yamlenv.Secret{}},
		{"session.max_age", d.Session.MaxAge, yamlenv.Duration(8 * time.Hour)},
		{"session.secure", d.Session.Secure, true},
		{"identity.uid_secret", d.Identity.UIDSecret, yamlenv.Secret("")},
		{"rezi.api_url", d.Rezi.APIURL, "https://open-api.rezi.ai/v1"},
		{"rezi.open_onboarding", d.Rezi.OpenOnboarding, false},
		{"rezi.close_onboarding_redirect", d.Rezi.CloseOnboardingRedirect, ""},
		{"rezi.timeout", d.Rezi.Timeout, yamlenv.Duration(10 * time.Second)},
		{"rezi.cache_size", d.Rezi.CacheSize, yamlenv.ZeroOff(10000)},
		{"rezi.cache_margin", d.Rezi.CacheMargin, yamlenv.Duration(5 * time.Minute)},
		{"rezi.rate_limit", d.Rezi.RateLimit, yamlenv.ZeroOff(10)},
		{"log.format", d.Log.Format, "text"},
		{"log.level", d.Log.Level, "info"},
		{"log.redact_email", d.Log.RedactEmail, false},
		{"proxy.strip_headers", d.Proxy.StripHeaders, []string{}},
	}
	for _, tc := range tests {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("Defaults().%s = %#v; want %#v", tc.key, tc.got, tc.want)
		}
	}
	// Defaults lack the required keys, so they must not validate alone.
	if err := d.Validate(); err == nil {
		t.Errorf("Defaults().Validate() = nil; want errors for the required keys")
	}
	// Each call returns fresh slices: a caller's change must not leak into
	// the next call.
	d.OIDC.Scopes[0] = "changed"
	if got := Defaults().OIDC.Scopes[0]; got != "openid" {
		t.Errorf("Defaults().OIDC.Scopes[0] after modifying an earlier copy = %q; want %q", got, "openid")
	}
}

func TestParseMinimal(t *testing.T) {
	got, err := Parse([]byte(minimalYAML), secretEnv)
	if err != nil {
		t.Fatalf("Parse(minimal) = %v; want no error", err)
	}
	want := valid()
	if !reflect.DeepEqual(fields(*got), want) {
		t.Errorf("Parse(minimal) = %+v; want %+v", *got, want)
	}
}

func TestParseValues(t *testing.T) {
	doc := minimalYAML + `
listen: ":8080"
upstream: "http://127.0.0.1:3000/base"
upstream_max_idle_conns: 0
shutdown_timeout: "1m30s"
metrics_listen: "127.0.0.1:9090"
log:
  format: JSON
  level: Debug
  redact_email: true
proxy:
  strip_headers: ["X-App-Role", "x_tenant"]
`
	c, err := Parse([]byte(doc), secretEnv)
	if err != nil {
		t.Fatalf("Parse = %v; want no error", err)
	}
	tests := []struct {
		key  string
		got  any
		want any
	}{
		{"listen", c.Listen, ":8080"},
		{"upstream", c.Upstream, "http://127.0.0.1:3000/base"},
		{"upstream_max_idle_conns", c.UpstreamMaxIdleConns, yamlenv.ZeroOff(0)},
		{"shutdown_timeout", c.ShutdownTimeout, yamlenv.Duration(90 * time.Second)},
		{"metrics_listen", c.MetricsListen, "127.0.0.1:9090"},
		{"log.format", c.Log.Format, "json"},
		{"log.level", c.Log.Level, "debug"},
		{"log.redact_email", c.Log.RedactEmail, true},
		{"proxy.strip_headers", c.ProxyOptions(nil).StripHeaders, []string{"X-App-Role", "x_tenant"}},
	}
	for _, tc := range tests {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("Parse(...).%s = %#v; want %#v", tc.key, tc.got, tc.want)
		}
	}
}

// TestParseLeavesValuesToThePackages checks that the file's values reach
// the Options as written: trailing slashes and domain case are the
// packages' business, and they accept both.
func TestParseLeavesValuesToThePackages(t *testing.T) {
	doc := `
public_url: "https://rms.example.com/"
oidc:
  issuer_url: "https://login.example.com"
  client_id: "rezigate"
  allowed_email_domains: ["Example.COM", "corp.example.org"]
rezi:
  api_url: "https://open-api.rezi.ai/v1/"
  login_url: "/login/"
`
	c, err := Parse([]byte(doc), secretEnv)
	if err != nil {
		t.Fatalf("Parse = %v; want no error", err)
	}
	mo := c.MiddlewareOptions(nil, nil, nil, nil)
	if mo.PublicURL != "https://rms.example.com/" || !reflect.DeepEqual(mo.Policy.AllowedEmailDomains, []string{"Example.COM", "corp.example.org"}) {
		t.Errorf("MiddlewareOptions = PublicURL %q, Policy.AllowedEmailDomains %q; want the file's values", mo.PublicURL, mo.Policy.AllowedEmailDomains)
	}
	if got := c.OIDCOptions(nil).RedirectURL; got != "https://rms.example.com/oauth2/callback" {
		t.Errorf("OIDCOptions().RedirectURL = %q; want https://rms.example.com/oauth2/callback", got)
	}
	if got := c.ReziOptions(nil, nil).APIURL; got != "https://open-api.rezi.ai/v1/" {
		t.Errorf("ReziOptions().APIURL = %q; want the file's value", got)
	}
}

func TestParseNullKeepsDefault(t *testing.T) {
	doc := minimalYAML + `
listen:
shutdown_timeout: ~
session:
  max_age: null
  secure:
`
	c, err := Parse([]byte(doc), secretEnv)
	if err != nil {
		t.Fatalf("Parse = %v; want no error", err)
	}
	d := Defaults()
	if c.Listen != d.Listen || c.ShutdownTimeout != d.ShutdownTimeout || c.Session.MaxAge != d.Session.MaxAge || c.Session.Secure != d.Session.Secure {
		t.Errorf("Parse with null values = %+v; want the defaults for listen, shutdown_timeout, session.max_age, session.secure", c)
	}
}

func TestParseEmptyDocument(t *testing.T) {
	for _, doc := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		_, err := Parse([]byte(doc), nil)
		if err == nil {
			t.Errorf("Parse(%q, nil) = nil error; want the required keys reported", doc)
			continue
		}
		if !strings.Contains(err.Error(), "public_url: required") {
			t.Errorf("Parse(%q, nil) = %v; want it to report public_url", doc, err)
		}
		// With everything supplied by the environment, an empty file works.
		env := append([]string{
			"REZIGATE_PUBLIC_URL=https://rms.example.com",
			"REZIGATE_OIDC_ISSUER_URL=https://login.example.com",
			"REZIGATE_OIDC_CLIENT_ID=rezigate",
			"REZIGATE_REZI_LOGIN_URL=/login/",
		}, secretEnv...)
		if _, err := Parse([]byte(doc), env); err != nil {
			t.Errorf("Parse(%q, full env) = %v; want no error", doc, err)
		}
	}
}

// TestParseDecodeErrors checks that a value of the wrong form is reported
// with the path of its key.
func TestParseDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		path string
		msg  string
	}{
		{"int not a number", "upstream_max_idle_conns: lots", "upstream_max_idle_conns", "must be an integer"},
		{"bool not a bool", "session:\n  secure: maybe", "session.secure", "must be true or false"},
		{"duration without unit", "session:\n  max_age: 3600", "session.max_age", "must be a duration"},
		{"duration garbage", "rezi:\n  timeout: soon", "rezi.timeout", "must be a duration"},
		{"list given a scalar", "oidc:\n  scopes: openid", "oidc.scopes", "must be a list"},
		{"list item a list", "oidc:\n  scopes: [[openid]]", "oidc.scopes", "must be a list of strings"},
		{"section a scalar", "oidc: 5", "oidc", "must be a mapping"},
		{"section a list", "rezi: [a]", "rezi", "must be a mapping"},
		{"string a mapping", "listen: {a: b}", "listen", "must be a single value"},
		{"string a list", "public_url: [a]", "public_url", "must be a single value"},
		{"duplicate key", "log:\n  level: info\n  level: debug", "log.level", "set more than once"},
		{"non-string key", "log:\n  [a]: b", "config", "cannot unmarshal !!seq into string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), secretEnv)
			if err == nil {
				t.Fatalf("Parse(%q) = nil error; want %s: %s", tc.doc, tc.path, tc.msg)
			}
			if paths := problemPaths(err); len(paths) == 0 || paths[0] != tc.path {
				t.Errorf("Parse(%q) problems at %q; want the first at %q", tc.doc, paths, tc.path)
			}
			if !strings.Contains(err.Error(), tc.path+": "+tc.msg) {
				t.Errorf("Parse(%q) = %v; want it to contain %q", tc.doc, err, tc.path+": "+tc.msg)
			}
			if !strings.Contains(err.Error(), "(line ") {
				t.Errorf("Parse(%q) = %v; want a line number", tc.doc, err)
			}
		})
	}
}

// TestParseDecodeErrorSkipsValidation checks that a key that failed to
// decode is reported once, not also by validation of the default it kept.
func TestParseDecodeErrorSkipsValidation(t *testing.T) {
	doc := `
public_url: "https://rms.example.com"
oidc:
  issuer_url: "https://login.example.com"
  client_id: [rezigate]
rezi:
  login_url: "/login/"
`
	_, err := Parse([]byte(doc), secretEnv)
	if got := problemPaths(err); !reflect.DeepEqual(got, []string{"oidc.client_id"}) {
		t.Errorf("Parse(client_id: [rezigate]) problems = %q; want exactly [oidc.client_id]", got)
	}
}

func TestParseSyntaxErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"bad indentation", "oidc:\n  client_id: a\n client_secret: b\n", "config: not valid YAML: line 2"},
		{"unterminated quote", `public_url: "https://x`, "config: not valid YAML:"},
		{"two documents", "listen: a\n---\nlisten: b\n", "exactly one YAML document"},
		{"top level list", "- a\n- b\n", "top level must be a mapping"},
		{"top level scalar", "hello\n", "top level must be a mapping"},
		{"unknown alias", "listen: *nope\n", "config: not valid YAML:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.doc), secretEnv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%q) = %v, %v; want an error containing %q", tc.doc, c, err, tc.want)
			}
			if c != nil {
				t.Errorf("Parse(%q) returned a config with an error; want nil", tc.doc)
			}
		})
	}
}

func TestParseUnknownKeys(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string // the problem, as it starts
	}{
		{"top level", "listn: ':4180'", "listn: unknown key"},
		{"nested", "oidc:\n  client_secrt: x", "oidc.client_secrt: unknown key"},
		{"deeper section name", "sesion:\n  secure: false", "sesion: unknown key"},
		{"camel case suggests", "rezi:\n  privateKey: x", "rezi.privateKey: unknown key; did you mean private_key?"},
		{"dash suggests", "session:\n  max-age: 1h", "session.max-age: unknown key; did you mean max_age?"},
		{"key of a leaf section", "identity:\n  uid: x", "identity.uid: unknown key (line 2)"},
		{"typo suggests", "shutdown_timout: 3s", "shutdown_timout: unknown key; did you mean shutdown_timeout? (line 1)"},
		{"typo in a section suggests", "rezi:\n  cache_sise: 5", "rezi.cache_sise: unknown key; did you mean cache_size? (line 2)"},
		{"section typo suggests", "sesion:\n  secure: false", "sesion: unknown key; did you mean session?"},
		{"nothing near", "frobnicate: 1", "frobnicate: unknown key (line 1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), secretEnv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%q) = %v; want an error containing %q", tc.doc, err, tc.want)
			}
		})
	}
}

func TestParseAliases(t *testing.T) {
	doc := `
public_url: &pub "https://rms.example.com"
oidc:
  issuer_url: "https://login.example.com"
  client_id: "rezigate"
  scopes: &sc ["openid", "email"]
rezi:
  login_url: "/login/"
`
	c, err := Parse([]byte(doc), secretEnv)
	if err != nil {
		t.Fatalf("Parse(aliases) = %v; want no error", err)
	}
	if want := []string{"openid", "email"}; !reflect.DeepEqual(c.OIDC.Scopes, want) {
		t.Errorf("OIDC.Scopes = %q; want %q", c.OIDC.Scopes, want)
	}
	// A self-referencing anchor must end in an error, not a loop.
	selfRef := minimalYAML + "log: &l {level: *l}\n"
	if _, err := Parse([]byte(selfRef), secretEnv); err == nil || !strings.Contains(err.Error(), "log") {
		t.Errorf("Parse(self-referencing alias) = %v; want an error naming log", err)
	}
	// Merge keys are YAML and work as YAML says.
	merged := minimalYAML + "base: &b {level: debug}\n"
	if _, err := Parse([]byte(merged), secretEnv); err == nil || !strings.Contains(err.Error(), "base: unknown key") {
		t.Errorf("Parse(an unknown anchor holder) = %v; want base: unknown key", err)
	}
	c, err = Parse([]byte(minimalYAML+"log:\n  <<: {level: debug}\n"), secretEnv)
	if err != nil || c.Log.Level != "debug" {
		t.Errorf("Parse(a merge key) = %v, %v; want log.level debug from the merge", c, err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(minimalYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, secretEnv); err != nil {
		t.Errorf("Load(%q) = %v; want no error", path, err)
	}
	missing := filepath.Join(dir, "missing.yaml")
	_, err := Load(missing, secretEnv)
	want := missing + ": no such file (use -config FILE, or -demo to try rezigate without one)"
	if err == nil || err.Error() != want || !errors.Is(err, ErrNoFile) {
		t.Errorf("Load(%q) = %v; want exactly %q, matching ErrNoFile", missing, err, want)
	}
}

// TestExampleFile checks that config.example.yaml parses once the
// environment supplies the secrets, that it holds every key with a comment,
// and that the keys it does not need to set show their defaults.
func TestExampleFile(t *testing.T) {
	const path = "../../config.example.yaml"
	c, err := Load(path, secretEnv)
	if err != nil {
		t.Fatalf("Load(%q) = %v; want no error", path, err)
	}

	want := Defaults()
	want.PublicURL = c.PublicURL
	want.Upstream = c.Upstream
	want.OIDC.IssuerURL = c.OIDC.IssuerURL
	want.OIDC.ClientID = c.OIDC.ClientID
	want.Rezi.LoginURL = c.Rezi.LoginURL
	want.OIDC.ClientSecret = testClientSecret
	want.Session.Secrets = []yamlenv.Secret{testSessionKey1, testSessionKey2}
	want.Identity.UIDSecret = testUIDSecret
	want.Rezi.PrivateKey = testPrivateKey
	if !reflect.DeepEqual(fields(*c), want) {
		t.Errorf("Load(%q) = %+v; want the defaults except the required keys: %+v", path, *c, want)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	commented := map[string]string{} // path -> comment
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := strings.TrimPrefix(prefix+"."+k.Value, ".")
			if v.Kind == yaml.MappingNode {
				walk(p, v)
				continue
			}
			commented[p] = v.LineComment + k.LineComment
		}
	}
	walk("", doc.Content[0])
	for _, s := range schema().Keys() {
		comment, ok := commented[s.Path]
		if !ok {
			t.Errorf("config.example.yaml lacks key %s", s.Path)
			continue
		}
		if comment == "" {
			t.Errorf("config.example.yaml key %s has no comment", s.Path)
		}
		if s.Secret && !strings.Contains(comment, s.Env) {
			t.Errorf("config.example.yaml comment for secret %s = %q; want it to name %s", s.Path, comment, s.Env)
		}
	}
}

func TestRedacted(t *testing.T) {
	c, err := Parse([]byte(minimalYAML), secretEnv)
	if err != nil {
		t.Fatal(err)
	}
	out := c.Redacted()
	for _, s := range []string{testClientSecret, testSessionKey1, testSessionKey2, testUIDSecret, testPrivateKey} {
		if strings.Contains(out, s) {
			t.Errorf("Redacted() contains secret %q:\n%s", s, out)
		}
	}
	if n := strings.Count(out, "REDACTED"); n != 5 {
		t.Errorf("Redacted() has %d REDACTED values; want 5 (client_secret, two session secrets, uid_secret, private_key):\n%s", n, out)
	}

	// The output is a config file: with the secrets supplied again, it
	// parses back to the same configuration.
	back, err := Parse([]byte(out), secretEnv)
	if err != nil {
		t.Fatalf("Parse(Redacted()) = %v; want no error:\n%s", err, out)
	}
	if !reflect.DeepEqual(fields(*back), fields(*c)) {
		t.Errorf("Parse(Redacted()) = %+v; want %+v", back, c)
	}

	// An unset secret shows as "", so -check makes a missing one visible.
	empty := valid()
	empty.Rezi.PrivateKey = ""
	var m struct {
		Rezi struct {
			PrivateKey *string `yaml:"private_key"`
		} `yaml:"rezi"`
	}
	if err := yaml.Unmarshal([]byte(empty.Redacted()), &m); err != nil {
		t.Fatal(err)
	}
	if m.Rezi.PrivateKey == nil || *m.Rezi.PrivateKey != "" {
		t.Errorf("Redacted() rezi.private_key for an unset secret = %v; want \"\"", m.Rezi.PrivateKey)
	}
}

// TestSecretsNeverLeak feeds secrets through every path that produces an
// error or output and checks none of them contains a secret.
func TestSecretsNeverLeak(t *testing.T) {
	const short = "SHORT-SECRET-MARK"
	marks := []string{short, testClientSecret, testSessionKey1, testSessionKey2, testUIDSecret, testPrivateKey}
	tests := []struct {
		name    string
		doc     string
		environ []string
	}{
		{"short secrets in the file", `
oidc:
  client_secret: "SHORT-SECRET-MARK"
session:
  secrets: ["SHORT-SECRET-MARK", "` + testSessionKey1 + `"]
identity:
  uid_secret: "SHORT-SECRET-MARK"
rezi:
  private_key: "SHORT-SECRET-MARK"
`, nil},
		{"short secrets in the environment", minimalYAML, []string{
			"REZIGATE_OIDC_CLIENT_SECRET=" + short,
			"REZIGATE_SESSION_SECRETS=" + short + "," + testSessionKey1,
			"REZIGATE_IDENTITY_UID_SECRET=" + short,
			"REZIGATE_REZI_PRIVATE_KEY=" + short,
		}},
		{"secrets of the wrong shape", `
oidc:
  client_secret: ["SHORT-SECRET-MARK"]
session:
  secrets: "SHORT-SECRET-MARK"
identity:
  uid_secret: {k: "SHORT-SECRET-MARK"}
rezi:
  private_key: ["` + testPrivateKey + `"]
`, nil},
		{"secrets in list items of the wrong shape", "session:\n  secrets: [[\"SHORT-SECRET-MARK\"], {a: \"" + testSessionKey1 + "\"}]\n", nil},
		{"secret under a misspelt key", "rezi:\n  private_kye: \"" + testPrivateKey + "\"\n", nil},
		{"secret in a misspelt variable", minimalYAML, []string{"REZIGATE_REZI_PRIVATEKEY=" + testPrivateKey}},
		{"secret in a variable of the wrong type", minimalYAML, []string{"REZIGATE_REZI_CACHE_SIZE=" + testPrivateKey, "REZIGATE_SESSION_SECURE=" + testUIDSecret, "REZIGATE_REZI_TIMEOUT=" + testClientSecret}},
		{"secret in a non-secret key", "listen: \"" + testPrivateKey + "\"\npublic_url: \"" + testUIDSecret + "\"\n", secretEnv},
		{"syntax error after a secret", "rezi:\n  private_key: \"" + testPrivateKey + "\n", nil},
		{"syntax error inside a secret", "rezi:\n  private_key: '" + testPrivateKey + "\x01'\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), tc.environ)
			if err == nil {
				t.Fatalf("Parse(%q) = nil error; want one", tc.doc)
			}
			for _, m := range marks {
				if strings.Contains(err.Error(), m) {
					t.Errorf("Parse(%q) error contains secret %q: %v", tc.doc, m, err)
				}
			}
		})
	}
}

func TestSecretFormatting(t *testing.T) {
	c := valid()
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", c, "key", c.Rezi.PrivateKey)
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	ym, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", c),
		"%+v":  fmt.Sprintf("%+v", c),
		"%#v":  fmt.Sprintf("%#v", c),
		"%s":   fmt.Sprintf("%s", c.Rezi.PrivateKey),
		"%d":   fmt.Sprintf("%d", c.Rezi.PrivateKey),
		"%x":   fmt.Sprintf("%x", c.Rezi.PrivateKey),
		"%q":   fmt.Sprintf("%q", c.Session.Secrets),
		"slog": logs.String(),
		"json": string(js),
		"yaml": string(ym),
	}
	for how, out := range outputs {
		for _, s := range []string{testClientSecret, testSessionKey1, testSessionKey2, testUIDSecret, testPrivateKey} {
			if strings.Contains(out, s) {
				t.Errorf("%s of a Config contains secret %q: %s", how, s, out)
			}
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("%s of a Config = %s; want REDACTED in it", how, out)
		}
	}
	if got := yamlenv.Secret("").String(); got != "" {
		t.Errorf("yamlenv.Secret(\"\").String() = %q; want \"\"", got)
	}
}

func TestLogSlogLevel(t *testing.T) {
	tests := []struct {
		level string
		want  slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"warn", slog.LevelWarn},
		{"error", slog.LevelError},
		{"", slog.LevelInfo},
	}
	for _, tc := range tests {
		if got := (Log{Level: tc.level}).SlogLevel(); got != tc.want {
			t.Errorf("Log{Level: %q}.SlogLevel() = %v; want %v", tc.level, got, tc.want)
		}
	}
}
