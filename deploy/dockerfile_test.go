package deploy

import (
	"encoding/json"
	"fmt"
	"go/version"
	"os"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, …
	args string
}

func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	data, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	var (
		out []instruction
		cur strings.Builder
	)
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if rest, cont := strings.CutSuffix(trimmed, `\`); cont {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

func TestDockerfile(t *testing.T) {
	all := parseDockerfile(t)
	last := -1
	for i, in := range all {
		if in.cmd == "FROM" {
			last = i
		}
	}
	if last < 0 {
		t.Fatalf("%s has no FROM", dockerfilePath)
	}
	final := all[last:]
	get := func(ins []instruction, cmd string) string {
		var got []string
		for _, in := range ins {
			if in.cmd == cmd {
				got = append(got, in.args)
			}
		}
		return strings.Join(got, " | ")
	}
	execForm := func(args string) string {
		var v []string
		if err := json.Unmarshal([]byte(args), &v); err != nil {
			return "not exec form: " + args
		}
		return strings.Join(v, " ")
	}

	tests := []struct {
		what string
		got  string
		want string
	}{
		{"final FROM", get(final, "FROM"), "gcr.io/distroless/static-debian12:nonroot"},
		{"final USER", get(final, "USER"), fmt.Sprintf("%d:%d", nonrootUID, nonrootUID)},
		{"final EXPOSE", get(final, "EXPOSE"), "4180"},
		{"ENTRYPOINT", execForm(get(final, "ENTRYPOINT")), "/rezigate"},
		{"CMD", execForm(get(final, "CMD")), "-config /etc/rezigate/config.yaml"},
		{"HEALTHCHECK", get(all, "HEALTHCHECK"), ""},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("Dockerfile %s = %q; want %q", tc.what, tc.got, tc.want)
		}
	}

	// Modules download in their own layer, before the sources are copied,
	// and the binary is static.
	download, copyAll, build := -1, -1, ""
	for i, in := range all[:last] {
		switch {
		case in.cmd == "RUN" && strings.Contains(in.args, "go mod download"):
			download = i
		case in.cmd == "COPY" && in.args == ". .":
			copyAll = i
		case in.cmd == "RUN" && strings.Contains(in.args, "go build"):
			build = in.args
		}
	}
	if download < 0 || copyAll < 0 || download > copyAll {
		t.Errorf("Dockerfile build stage: go mod download at %d, COPY . . at %d; want the download first", download, copyAll)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags="-s -w"`} {
		if !strings.Contains(build, want) {
			t.Errorf("Dockerfile go build = %q; want it to contain %s", build, want)
		}
	}
}

// TestDockerfileGoVersion keeps the builder image in step with go.mod: the
// golang images set GOTOOLCHAIN=local, so an older image fails the build.
func TestDockerfileGoVersion(t *testing.T) {
	var arg string
	for _, in := range parseDockerfile(t) {
		if v, ok := strings.CutPrefix(in.args, "GO_VERSION="); ok && in.cmd == "ARG" {
			arg = "go" + v
		}
	}
	data, err := os.ReadFile(goModPath)
	if err != nil {
		t.Fatal(err)
	}
	var mod string
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			mod = "go" + strings.TrimSpace(v)
		}
	}
	if !version.IsValid(arg) || !version.IsValid(mod) {
		t.Fatalf("Dockerfile ARG GO_VERSION = %q, go.mod go = %q; want both valid Go versions", arg, mod)
	}
	// A bare language version ("1.26") is a floating tag for its newest
	// release; a full one must not be older than go.mod asks.
	floating := arg == version.Lang(arg)
	if version.Lang(arg) != version.Lang(mod) || (!floating && version.Compare(arg, mod) < 0) {
		t.Errorf("Dockerfile ARG GO_VERSION = %q; want the %s line, at least %s as go.mod requires", arg, version.Lang(mod), mod)
	}
}

func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile(dockerignorePath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for _, want := range []string{".git", "*.test", "/rezigate"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore line %q = missing; want it excluded from the build context", want)
		}
	}
}
