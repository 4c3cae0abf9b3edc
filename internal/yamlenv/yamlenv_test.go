package yamlenv

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// testConfig is a small schema with every kind of key: strings, a
// secret, a bool, a duration, lists, a section and a list of mappings.
type testConfig struct {
	Name    string   `yaml:"name"`
	Timeout Duration `yaml:"timeout"`
	Tags    []string `yaml:"tags"`
	Server  struct {
		Token  Secret   `yaml:"token"`
		Secure bool     `yaml:"secure"`
		Keys   []Secret `yaml:"keys"`
	} `yaml:"server"`
	Items []struct {
		Path string `yaml:"path"`
	} `yaml:"items"`
	Hidden string `yaml:"-"`
}

var testSchema = NewSchema(reflect.TypeFor[testConfig](), "T_")

func TestSchemaKeys(t *testing.T) {
	var got []string
	for _, k := range testSchema.Keys() {
		got = append(got, fmt.Sprintf("%s=%s", k.Path, k.Env))
	}
	want := []string{"name=T_NAME", "timeout=T_TIMEOUT", "tags=T_TAGS", "server.token=T_SERVER_TOKEN",
		"server.secure=T_SERVER_SECURE", "server.keys=T_SERVER_KEYS", "items=T_ITEMS"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Keys() = %q; want %q", got, want)
	}
	if k, ok := testSchema.Key("server.keys[3]"); !ok || k.Env != "T_SERVER_KEYS" || !k.Secret {
		t.Errorf("Key(server.keys[3]) = %+v, %t; want the list's key, a secret", k, ok)
	}
	if k, _ := testSchema.Key("items"); len(k.Items) != 1 || k.Items[0].Path != "items[].path" || k.Items[0].Env != "" || k.Secret {
		t.Errorf("Key(items).Items = %+v; want items[].path", k.Items)
	}
	for _, p := range []string{"server", "hidden", "nope"} {
		if _, ok := testSchema.Key(p); ok {
			t.Errorf("Key(%q) found a leaf key; want none", p)
		}
	}
}

// TestDecode: every problem names its key (or variable) and line, and
// none shows a value.
func TestDecode(t *testing.T) {
	const secret = "SECRET-VALUE-0123"
	tests := []struct {
		name string
		doc  string
		env  []string
		want []string // the problems, in order
	}{
		{"good", "name: a\ntimeout: 2s\nserver:\n  token: x\n  secure: true\n", nil, nil},
		{"unknown key suggests", "nam: a\nserver:\n  tokn: x\n", nil, []string{"nam: unknown key; did you mean name? (line 1)", "server.tokn: unknown key; did you mean token? (line 3)"}},
		{"wrong types", "timeout: 5\ntags: x\nserver:\n  secure: " + secret + "\n", nil, []string{
			`timeout: must be a duration with a unit, such as "8h", "90s" or "1h30m" (line 1)`,
			`tags: must be a list of strings, such as ["a", "b"] (line 2)`,
			"server.secure: must be true or false (line 4)"}},
		{"value on its own line", "server:\n  secure:\n    " + secret + "\n", nil, []string{"server.secure: must be true or false (line 3)"}},
		{"section a list", "server: [a]\n", nil, []string{"server: must be a mapping of keys to values (line 1)"}},
		{"duplicate", "name: a\nname: b\n", nil, []string{"name: set more than once (first on line 1) (line 2)"}},
		{"list item", "items:\n  - {path: /a, pth: /b}\n", nil, []string{"items[0].pth: unknown key (line 2)"}},
		{"env", "", []string{"T_NAME=b", "T_TAGS=a, b", "T_SERVER_SECURE=1", "T_TIMEOUT=3s"}, nil},
		{"env problems", "", []string{"T_NAM=b", "T_TIMEOUT=" + secret, "T_SERVER_SECURE=" + secret, "T_ITEMS=/a", "OTHER=x"}, []string{
			"T_ITEMS: must be a list of mappings, written in the file (it cannot be set from the environment)",
			"T_NAM: names no configuration key (see config.example.yaml for the keys)",
			"T_SERVER_SECURE: must be true or false",
			`T_TIMEOUT: must be a duration with a unit, such as "8h", "90s" or "1h30m"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c testConfig
			_, probs, ok := testSchema.Decode([]byte(tc.doc), tc.env, &c)
			var got []string
			for _, p := range probs {
				got = append(got, p.Error())
			}
			if !ok || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decode = %q, %t; want %q", got, ok, tc.want)
			}
			if strings.Contains(strings.Join(got, "\n"), secret) {
				t.Errorf("a problem shows a value: %q", got)
			}
		})
	}
}

func TestDecodeEnvValues(t *testing.T) {
	var c testConfig
	c.Name, c.Tags = "default", []string{"x"}
	o, probs, ok := testSchema.Decode([]byte("name: file\nserver:\n  token: t\n"), []string{
		"T_NAME=env", "T_NAME=second", "T_TAGS=", "T_SERVER_KEYS=k1,k2", "T_SERVER_SECURE=true", "T_TIMEOUT=1m30s"}, &c)
	if !ok || probs != nil {
		t.Fatalf("Decode = %v, %t", probs, ok)
	}
	if c.Name != "env" || len(c.Tags) != 0 || c.Tags == nil || !reflect.DeepEqual(c.Server.Keys, []Secret{"k1", "k2"}) ||
		!c.Server.Secure || c.Timeout != Duration(90*time.Second) || c.Server.Token != "t" {
		t.Errorf("Decode gave %+v", c)
	}
	if o.Lines["server.token"] != 3 || o.Env["name"] != "T_NAME" || o.Where("server.keys[1]") != "T_SERVER_KEYS[1]" || o.Where("server.token") != "server.token" {
		t.Errorf("Origin = %+v", o)
	}
}

func TestDecodeNotAConfiguration(t *testing.T) {
	for doc, want := range map[string]string{
		"a: [":                   "config: not valid YAML:",
		"a: 1\n---\na: 2\n":      "config: the file must hold exactly one YAML document",
		"- a\n":                  "config: the top level must be a mapping of keys to values (line 1)",
		"name: *nowhere\n":       "config: not valid YAML:",
		"":                       "",
		"# nothing but a note\n": "",
	} {
		var c testConfig
		_, probs, ok := testSchema.Decode([]byte(doc), []string{"T_NAME=x"}, &c)
		switch {
		case want == "" && (!ok || probs != nil || c.Name != "x"):
			t.Errorf("Decode(%q) = %v, %t, name %q; want the override applied", doc, probs, ok, c.Name)
		case want != "" && (ok || len(probs) != 1 || !strings.HasPrefix(probs[0].Error(), want) || c.Name != ""):
			t.Errorf("Decode(%q) = %v, %t; want only %q, nothing applied", doc, probs, ok, want)
		}
	}
}

func TestSecretFormatting(t *testing.T) {
	s := Secret("SECRET-VALUE")
	ym, _ := yaml.Marshal(s)
	txt, _ := s.MarshalText()
	for _, out := range []string{fmt.Sprintf("%v %s %d %x %q %#v", s, s, s, s, s, s), string(ym), string(txt), s.LogValue().String()} {
		if strings.Contains(out, "SECRET") || !strings.Contains(out, "REDACTED") {
			t.Errorf("a Secret shows as %q", out)
		}
	}
	if Secret("").String() != "" {
		t.Errorf(`Secret("").String() = %q; want ""`, Secret("").String())
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{8 * time.Hour, "8h"},
		{5 * time.Minute, "5m"},
		{90 * time.Minute, "1h30m"},
		{15 * time.Second, "15s"},
		{time.Hour + time.Second, "1h0m1s"},
		{1500 * time.Millisecond, "1.5s"},
		{0, "0s"},
	}
	for _, tc := range tests {
		got := Duration(tc.d).String()
		if got != tc.want {
			t.Errorf("Duration(%v).String() = %q; want %q", tc.d, got, tc.want)
		}
		back, err := time.ParseDuration(got)
		if err != nil || back != tc.d {
			t.Errorf("time.ParseDuration(%q) = %v, %v; want %v", got, back, err, tc.d)
		}
	}
}

func TestDurationUnmarshalYAML(t *testing.T) {
	tests := []struct {
		in      string
		want    Duration
		wantErr bool
	}{
		{`d: "8h"`, Duration(8 * time.Hour), false},
		{`d: 90s`, Duration(90 * time.Second), false},
		{`d: 3600`, 0, true},
		{`d: [1h]`, 0, true},
	}
	for _, tc := range tests {
		var v struct{ D Duration }
		err := yaml.Unmarshal([]byte(tc.in), &v)
		if (err != nil) != tc.wantErr || v.D != tc.want {
			t.Errorf("yaml.Unmarshal(%q) = %v, %v; want %v, error %v", tc.in, v.D, err, tc.want, tc.wantErr)
		}
	}
}

func TestPathOf(t *testing.T) {
	type tagged struct {
		A    string   `yaml:"a" opt:"pkg.A other.A"`
		List []string `yaml:"list" opt:"pkg.List"`
		Sec  struct {
			Rules []struct {
				Path  string   `yaml:"path" opt:"pkg.Rules[].Path"`
				Names []string `yaml:"names" opt:"pkg.Rules[].Names"`
			} `yaml:"rules" opt:"pkg.Rules"`
		} `yaml:"sec"`
	}
	s := NewSchema(reflect.TypeFor[tagged](), "X_")
	tests := []struct{ name, want string }{
		{"pkg.A", "a"},
		{"other.A", "a"},
		{"pkg.List[3]", "list[3]"},
		{"pkg.Rules", "sec.rules"},
		{"pkg.Rules[2]", "sec.rules[2]"},
		{"pkg.Rules[2].Path", "sec.rules[2].path"},
		{"pkg.Rules[2].Names[1]", "sec.rules[2].names[1]"},
		{"pkg.Rules[].Path", ""}, // no index to carry over
		{"pkg.Nothing", ""},
		{"pkg.A.B", ""},
	}
	for _, tc := range tests {
		if got, ok := s.PathOf("opt", tc.name); got != tc.want && ok || ok != (tc.want != "") {
			t.Errorf("PathOf(opt, %q) = %q, %t; want %q", tc.name, got, ok, tc.want)
		}
	}
}

func TestZeroOff(t *testing.T) {
	tests := []struct {
		in      string
		want    ZeroOff
		option  int
		wantErr string
	}{
		{"n: 0", 0, -1, ""},
		{"n: 7", 7, 7, ""},
		{"n: -1", 0, 0, "must not be negative (0 turns it off)"},
		{"n: lots", 0, 0, "must be an integer"},
		{"n: [1]", 0, 0, "must be an integer"},
	}
	for _, tc := range tests {
		var v struct{ N ZeroOff }
		err := yaml.Unmarshal([]byte(tc.in), &v)
		if tc.wantErr != "" {
			if err == nil || !strings.HasSuffix(err.Error(), tc.wantErr) {
				t.Errorf("yaml.Unmarshal(%q) = %v; want an error ending %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || v.N != tc.want || v.N.Option() != tc.option {
			t.Errorf("yaml.Unmarshal(%q) = %d (Option %d), %v; want %d (Option %d)", tc.in, v.N, v.N.Option(), err, tc.want, tc.option)
		}
	}
}

// TestSuggestSwappedLetters: a typo of two swapped letters is one edit,
// so the key is suggested as for any other small typo.
func TestSuggestSwappedLetters(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"nmae: a\n", "nmae: unknown key; did you mean name? (line 1)"},
		{"server:\n  tokne: x\n", "server.tokne: unknown key; did you mean token? (line 2)"},
		{"server:\n  secrue: true\n", "server.secrue: unknown key; did you mean secure? (line 2)"},
		{"timoeut: 1s\n", "timoeut: unknown key; did you mean timeout? (line 1)"},
		{"server:\n  Sceure: true\n", "server.Sceure: unknown key; did you mean secure? (line 2)"},
		{"zzzz: a\n", "zzzz: unknown key (line 1)"},
	}
	for _, tc := range tests {
		t.Run(tc.doc, func(t *testing.T) {
			var c testConfig
			_, probs, _ := testSchema.Decode([]byte(tc.doc), nil, &c)
			if len(probs) != 1 || probs[0].Error() != tc.want {
				t.Errorf("Decode(%q) = %v; want [%s]", tc.doc, probs, tc.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"abc", "abc", 0},
		{"cleintid", "clientid", 1}, {"ab", "ba", 1}, {"abc", "acb", 1},
		{"kitten", "sitting", 3}, {"ca", "abc", 3}, // OSA: no substring edited twice
		{"name", "nmea", 2},
	}
	for _, tc := range tests {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d; want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
