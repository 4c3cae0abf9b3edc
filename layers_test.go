package main

import (
	"bufio"
	gobuild "go/build"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const modulePath = "github.com/rezigate/rezigate"

// internalLayers reads internal/README.md: each "- `name`: …" line under
// a "## " heading puts internal/name in that layer.
func internalLayers(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("internal/README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	item := regexp.MustCompile("^- `([a-z/]+)`:")
	layers, layer := map[string]string{}, ""
	for s := bufio.NewScanner(f); s.Scan(); {
		if h, ok := strings.CutPrefix(s.Text(), "## "); ok {
			layer = h
		} else if m := item.FindStringSubmatch(s.Text()); m != nil {
			layers[m[1]] = layer
		}
	}
	return layers
}

// TestInternalLayers: every package under internal/ is in one layer of
// internal/README.md, leaf helpers import neither the command's packages,
// nor test support, nor a public package, no non-test code outside
// internal/ but the command's imports test support, no public package but
// middleware imports middleware or internal/config, and the binary links
// only the test support that -demo-redis needs.
func TestInternalLayers(t *testing.T) {
	const (
		leaf    = "Leaf helpers"
		command = "The command's packages"
		support = "Test support"
	)
	layers := internalLayers(t)
	var pkgs []string
	err := filepath.WalkDir("internal", func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || d.Name() == "testdata" {
			return err
		}
		if p, err := gobuild.ImportDir(path, 0); err == nil && p.Name != "" {
			pkgs = append(pkgs, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range pkgs {
		name := strings.TrimPrefix(filepath.ToSlash(dir), "internal/")
		layer, ok := layers[name]
		if !ok || (layer != leaf && layer != command && layer != support) {
			t.Errorf("internal/%s is in no layer of internal/README.md", name)
			continue
		}
		if layer != leaf {
			continue
		}
		p, err := gobuild.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range p.Imports {
			rel, ok := strings.CutPrefix(imp, modulePath+"/")
			if !ok || rel == "optionerr" { // the public error type, a leaf itself
				continue
			}
			if n, ok := strings.CutPrefix(rel, "internal/"); !ok || layers[n] != leaf {
				t.Errorf("leaf helper internal/%s imports %s", name, imp)
			}
		}
	}
	for name := range layers {
		if !slices.Contains(pkgs, filepath.FromSlash("internal/"+name)) {
			t.Errorf("internal/README.md lists %s, which is no package", name)
		}
	}

	// Public packages' non-test code never imports test support, and the
	// packages the middleware wires (every one but middleware) import
	// neither it nor the command's configuration.
	for _, dir := range []string{"assertion", "handoff", "logout", "middleware", "oidc", "policy", "proxy", "refresh", "rezi", "sessions", "sessions/redisstore"} {
		p, err := gobuild.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, modulePath+"/internal/testsupport/") {
				t.Errorf("%s imports test support %s outside its tests", dir, imp)
			}
			if dir != "middleware" && (imp == modulePath+"/middleware" || imp == modulePath+"/internal/config") {
				t.Errorf("leaf package %s imports %s", dir, imp)
			}
		}
	}

	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	allowed := []string{"testsupport/redisserver", "testsupport/freeport"} // -demo-redis
	for _, dep := range strings.Fields(string(out)) {
		if n, ok := strings.CutPrefix(dep, modulePath+"/internal/"); ok && layers[n] == support && !slices.Contains(allowed, n) {
			t.Errorf("the rezigate binary links test support %s", dep)
		}
	}
}
