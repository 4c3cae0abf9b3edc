package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// embedderMain is a program that embeds rezigate and names the types its
// documentation names: the *optionerr.Error of every Validate, and the
// test provider of oidctest.
const embedderMain = `package main

import (
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/oidc/oidctest"
	"github.com/rezigate/rezigate/optionerr"
)

func main() {
	var fe *optionerr.Error
	if errors.As(middleware.Options{}.Validate(), &fe) {
		fmt.Println(fe.Pkg, fe.Field)
	}
	idp := oidctest.New(oidctest.Options{ClientID: "app", ClientSecret: "s"})
	srv := httptest.NewServer(idp)
	defer srv.Close()
	fmt.Println(idp.SetIssuer(srv.URL))
}
`

// testOnlyModules are required by the root module for its own unit tests
// only; an embedder's module graph lists them, as it lists every
// requirement of a dependency, but never builds them.
var testOnlyModules = []string{"go.uber.org/goleak"}

// TestEmbedderModuleGraph builds a program in a module of its own that
// requires rezigate (replaced by this checkout), as an embedder's would,
// and checks what its module graph holds: nothing that only the
// end-to-end tests or the benchmarks use (chromedp drives e2e's browser),
// and of rezigate's own requirements only those that a non-test package
// of rezigate other than the bench imports, or the few that its unit
// tests do.
func TestEmbedderModuleGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := "module example.com/embedder\n\ngo 1.26.8\n\n" +
		"require github.com/rezigate/rezigate v0.0.0-00010101000000-000000000000\n\n" +
		"replace github.com/rezigate/rezigate => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Only the module cache that building rezigate filled: no network,
	// and no go.work of the checkout.
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	gocmd := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, stderr)
		}
		return string(out)
	}
	// The graph of the require line alone, before any import adds to it.
	for _, m := range strings.Fields(gocmd(dir, "list", "-m", "-e", "-f", "{{.Path}}", "all")) {
		if strings.HasPrefix(m, "github.com/chromedp/") {
			t.Errorf("an embedder's module graph holds %s, which only the end-to-end tests use", m)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(embedderMain), 0o600); err != nil {
		t.Fatal(err)
	}
	gocmd(dir, "build", "-o", filepath.Join(dir, "embedder"), ".")

	// Every module rezigate requires directly is imported by a non-test
	// package of rezigate, or listed in testOnlyModules.
	var pkgs []string
	for _, p := range strings.Fields(gocmd(root, "list", "./...")) {
		if p != "github.com/rezigate/rezigate/bench" { // go run ./bench: a tool, not the product
			pkgs = append(pkgs, p)
		}
	}
	used := map[string]bool{}
	for _, m := range strings.Fields(gocmd(root, append([]string{"list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}"}, pkgs...)...)) {
		used[m] = true
	}
	var mod struct {
		Require []struct {
			Path     string
			Indirect bool
		}
	}
	if err := json.Unmarshal([]byte(gocmd(root, "mod", "edit", "-json")), &mod); err != nil {
		t.Fatal(err)
	}
	for _, r := range mod.Require {
		if m := r.Path; !r.Indirect && !used[m] && !slices.Contains(testOnlyModules, m) {
			t.Errorf("go.mod requires %s, which no non-test package of rezigate imports: it belongs in the module of what uses it (e2e/go.mod), or in testOnlyModules", m)
		}
	}
}
