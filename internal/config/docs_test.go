package config

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestDocsNameEveryKey: docs/configuration.md names every key by its
// dotted path, in backticks: each key config.example.yaml sets, and each
// the schema knows (the fields of a list of mappings as
// policy.routes[].path), so the reference cannot drift from the file.
func TestDocsNameEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := strings.TrimPrefix(prefix+"."+n.Content[i].Value, ".")
			if v := n.Content[i+1]; v.Kind == yaml.MappingNode {
				walk(p, v)
				continue
			}
			keys[p] = true
		}
	}
	walk("", root.Content[0])
	if len(keys) < 40 {
		t.Fatalf("config.example.yaml has %d keys; want every key (is it still a mapping of sections?)", len(keys))
	}
	for _, k := range schema().Keys() {
		keys[k.Path] = true
		for _, item := range k.Items {
			keys[item.Path] = true
		}
	}
	for k := range keys {
		if !strings.Contains(string(doc), "`"+k+"`") {
			t.Errorf("docs/configuration.md does not name `%s`", k)
		}
	}
}
