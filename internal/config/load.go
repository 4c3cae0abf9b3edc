package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"sync"

	"github.com/rezigate/rezigate/internal/yamlenv"
)

// EnvPrefix starts the name of every environment variable that overrides a
// key: EnvPrefix + the key path in upper snake case.
const EnvPrefix = "REZIGATE_"

// ErrNoFile means the configuration file does not exist.
var ErrNoFile = errors.New("no such file")

// schema is the file's keys, from Config's yaml tags.
var schema = sync.OnceValue(func() *yamlenv.Schema { return yamlenv.NewSchema(reflect.TypeFor[Config](), EnvPrefix) })

// settings returns the leaf keys of the file, the ones a variable can set.
func settings() []yamlenv.Key {
	var out []yamlenv.Key
	for _, k := range schema().Keys() {
		if k.Env != "" {
			out = append(out, k)
		}
	}
	return out
}

// isSecret reports whether k holds a secret.
func isSecret(k yamlenv.Key) bool {
	return k.Field.Type == reflect.TypeFor[yamlenv.Secret]() || k.Field.Type == reflect.TypeFor[[]yamlenv.Secret]()
}

// Load reads the file at path and parses it with [Parse]. A missing file is
// an error: running on defaults by accident would hide a deployment
// mistake.
func Load(path string, environ []string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w (use -config FILE, or -demo to try rezigate without one)", err)
	}
	return Parse(data, environ)
}

// LoadPolicy is [Load] for judging requests: the file must decode, but
// only the policy keys are validated, so that an operator can ask about a
// deployment's file from a shell without its secrets.
func LoadPolicy(path string, environ []string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	c, probs := read(data, environ)
	if len(probs) == 0 {
		probs = c.translate(c.PolicyOptions().Validate())
	}
	if len(probs) > 0 {
		return nil, yamlenv.Join(probs)
	}
	return c, nil
}

func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNoFile)
	} else if err != nil {
		return nil, fmt.Errorf("%s: %w", path, errors.Unwrap(err))
	}
	return data, nil
}

// Parse builds a Config from a YAML document and environment variables
// ("NAME=value" entries as [os.Environ] returns them; nil means none): the
// defaults, then the document, then the overrides, then every package's
// Options.Validate. The error joins every problem, one per line.
func Parse(data []byte, environ []string) (*Config, error) {
	c, probs := read(data, environ)
	if c == nil {
		return nil, yamlenv.Join(probs)
	}
	// A key that failed to decode kept its default; a complaint about
	// that default as well would only confuse.
	failed := map[string]bool{}
	for _, p := range probs {
		failed[p.Where] = true
	}
	for _, p := range c.problems() {
		if base, _, _ := strings.Cut(p.Where, "["); !failed[base] {
			probs = append(probs, p)
		}
	}
	if len(probs) > 0 {
		return nil, yamlenv.Join(probs)
	}
	return c, nil
}

// read decodes data and the overrides onto the defaults; the Config is
// nil when data is not a configuration at all.
func read(data []byte, environ []string) (*Config, []*yamlenv.Problem) {
	c := Defaults()
	origin, probs, ok := schema().Decode(data, environ, &c)
	if !ok {
		return nil, probs
	}
	c.origin = origin
	c.Log.Format, c.Log.Level = strings.ToLower(c.Log.Format), strings.ToLower(c.Log.Level)
	for i := range c.Policy.Routes {
		c.Policy.Routes[i].Line = origin.Lines[fmt.Sprintf("policy.routes[%d]", i)]
	}
	return &c, probs
}
