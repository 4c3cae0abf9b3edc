package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeEmbeddingBuilds extracts the Go program under the README's
// "Embedding" heading and builds it unchanged, as an embedder's own
// module that requires this one (replaced by this checkout), so the
// front door's example cannot drift from the API.
func TestReadmeEmbeddingBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program: skipped with -short")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := embeddingExample(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"package main", "func main()", "os.Getenv(", "middleware.New("} {
		if !strings.Contains(src, want) {
			t.Errorf("the README's embedding example lacks %q: it must be a whole program that reads its secrets from the environment", want)
		}
	}
	if !strings.Contains(string(readme), "\ngo get github.com/rezigate/rezigate@latest\n") {
		t.Errorf("the README does not say which go get line to run")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	goMod := "module example.com/intranet\n\ngo 1.26.8\n\nrequire github.com/rezigate/rezigate v0.0.0\n\nreplace github.com/rezigate/rezigate => " + root + "\n"
	sum, err := os.ReadFile("go.sum") // this module's dependencies, as the embedder's go get records them
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"go.mod": []byte(goMod), "go.sum": sum, "main.go": []byte(src)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "intranet"), ".")
	cmd.Dir = dir
	// Offline: every module comes from the module cache this checkout's
	// own build filled.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build of the README's embedding example: %v\n%s\n--- main.go ---\n%s", err, out, src)
	}
}

// embeddingExample returns the first ```go block after the "## Embedding"
// heading of readme.
func embeddingExample(readme string) (string, error) {
	_, section, ok := strings.Cut(readme, "\n## Embedding\n")
	if !ok {
		return "", errors.New("README.md has no \"## Embedding\" heading")
	}
	if next := strings.Index(section, "\n## "); next >= 0 {
		section = section[:next]
	}
	_, code, ok := strings.Cut(section, "\n```go\n")
	if !ok {
		return "", errors.New("README.md's Embedding section has no ```go block")
	}
	code, _, ok = strings.Cut(code, "\n```\n")
	if !ok {
		return "", errors.New("README.md's Embedding ```go block does not end")
	}
	return code + "\n", nil
}
