package yamlenv

import (
	"strings"
	"testing"
)

// FuzzDecode: no document or override makes Decode panic, a document that
// is not a configuration applies nothing, and no problem about a key's
// value shows the value.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("name: a\nserver:\n  token: SECRET\n"), "T_TIMEOUT=SECRET")
	f.Add([]byte("server: &a {keys: *a}\n"), "T_SERVER_KEYS=SECRET,")
	f.Add([]byte("items: [{path: SECRET}, SECRET]\n"), "T_ITEMS=SECRET")
	f.Add([]byte("? [SECRET]\n: x\n"), "T_SERVER_SECURE=SECRET")
	f.Add([]byte("server:\n  <<: {secure: SECRET}\n  secure: true\n  secure: false\n"), "T_=SECRET")
	f.Fuzz(func(t *testing.T, data []byte, env string) {
		var c testConfig
		_, probs, ok := testSchema.Decode(data, []string{env}, &c)
		if !ok && (len(probs) == 0 || c.Name != "" || c.Server.Token != "") {
			t.Fatalf("Decode(%q) = %v, not ok, config %+v; want one problem and nothing applied", data, probs, c)
		}
		for _, p := range probs {
			if ok && strings.Contains(p.Msg, "SECRET") {
				t.Fatalf("Decode(%q, %q) problem %q shows a value", data, env, p)
			}
		}
	})
}
