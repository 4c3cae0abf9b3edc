package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts the name of every environment variable that overrides a
// key: EnvPrefix + the key path in upper snake case.
const EnvPrefix = "REZIGATE_"

// ErrNoFile means the configuration file does not exist.
var ErrNoFile = errors.New("no such file")

// problem is one thing wrong with the configuration. where is a YAML key
// path ("session.secrets[1]") or, for a value that came from the
// environment, the variable's name. msg never contains a secret's value.
type problem struct{ where, msg string }

func (p *problem) Error() string { return p.where + ": " + p.msg }

// Load reads the file at path and parses it with [Parse]. A missing file is
// an error: running with built-in defaults by accident would hide a
// deployment mistake.
func Load(path string, environ []string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (use -config FILE, or -demo to try rezigate without one)", path, ErrNoFile)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, errors.Unwrap(err))
	}
	return Parse(data, environ)
}

// Parse builds a Config from a YAML document and environment variables
// (environ holds "NAME=value" entries as [os.Environ] returns them; nil
// means no overrides): the defaults, then the document, then the
// overrides, then every package's Options.Validate. It returns the config
// only if all of them succeeded; otherwise the error joins every problem,
// one per line, each naming the key, or the variable a value came from.
func Parse(data []byte, environ []string) (*Config, error) {
	c := Defaults()
	probs := c.decode(data)
	if len(probs) > 0 && probs[0].where == "config" {
		return nil, joinProblems(probs) // not a document to validate
	}
	probs = append(probs, c.applyEnv(environ)...)
	c.Log.Format, c.Log.Level = strings.ToLower(c.Log.Format), strings.ToLower(c.Log.Level)
	// A key that failed to decode kept its default; a complaint about that
	// default as well would only confuse.
	failed := map[string]bool{}
	for _, p := range probs {
		failed[p.where] = true
		if s, ok := envSetting(p.where); ok {
			failed[s.path] = true
		}
	}
	for _, p := range c.problems() {
		if base, _, _ := strings.Cut(p.where, "["); !failed[base] && !failed[c.pathOf(base)] {
			probs = append(probs, p)
		}
	}
	if len(probs) > 0 {
		return nil, joinProblems(probs)
	}
	return &c, nil
}

func joinProblems(probs []*problem) error {
	errs := make([]error, len(probs))
	for i, p := range probs {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// decode applies the YAML document to c with yaml.v3's own decoder,
// refusing unknown keys, and turns its errors into problems that name the
// key path and line.
func (c *Config) decode(data []byte) []*problem {
	c.inFile = map[string]bool{}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil
	} else if err != nil {
		return []*problem{{"config", "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		return []*problem{{"config", "the file must hold exactly one YAML document"}}
	}
	if len(doc.Content) == 0 || doc.Content[0].ShortTag() == "!!null" {
		return nil
	}
	if doc.Content[0].Kind != yaml.MappingNode {
		return []*problem{{"config", fmt.Sprintf("the top level must be a mapping of keys to values (line %d)", doc.Content[0].Line)}}
	}
	keys := map[int][]string{} // line -> key paths on it
	indexKeys(doc.Content[0], "", keys, c.inFile)
	kd := yaml.NewDecoder(bytes.NewReader(data))
	kd.KnownFields(true)
	err := kd.Decode(c)
	var te *yaml.TypeError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &te):
		return []*problem{{"config", "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	var probs []*problem
	for _, msg := range te.Errors {
		probs = append(probs, explain(msg, keys))
	}
	return probs
}

// indexKeys records the path of every key in the document by line, so
// that yaml.v3's errors, which name only a line, can name the key.
func indexKeys(n *yaml.Node, prefix string, keys map[int][]string, seen map[string]bool) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := joinPath(prefix, n.Content[i].Value)
			keys[n.Content[i].Line] = append(keys[n.Content[i].Line], p)
			seen[p] = true
			indexKeys(n.Content[i+1], p, keys, seen)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", prefix, i)
			keys[item.Line] = append(keys[item.Line], p)
			indexKeys(item, p, keys, seen)
		}
	}
}

var (
	unknownField = regexp.MustCompile(`^line (\d+): field (.+) not found in type`)
	atLine       = regexp.MustCompile(`^line (\d+): (.*)$`)
	duplicateKey = regexp.MustCompile(`already defined at line (\d+)`)
)

// explain rewrites one yaml.v3 decoding error as a problem naming the key.
func explain(msg string, keys map[int][]string) *problem {
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		where := m[2]
		for _, p := range keys[line] {
			if strings.HasSuffix(p, "."+m[2]) || p == m[2] {
				where = p
			}
		}
		text := "unknown key"
		if s := suggest(where); s != "" {
			text += "; did you mean " + s + "?"
		}
		return &problem{where, fmt.Sprintf("%s (line %d)", text, line)}
	}
	m := atLine.FindStringSubmatch(msg)
	if m == nil {
		return &problem{"config", msg}
	}
	line, _ := strconv.Atoi(m[1])
	where, text := "config", m[2]
	if d := duplicateKey.FindStringSubmatch(m[2]); d != nil {
		text = "set more than once (first on line " + d[1] + ")"
	}
	for _, p := range keys[line] { // the outermost key on the line that the schema knows
		if s, ok := lookupSetting(p); ok {
			where = p
			if duplicateKey.FindStringSubmatch(m[2]) == nil {
				text = s.hint
			}
			break
		}
		if isSection(p) {
			where, text = p, "must be a mapping of keys to values"
			break
		}
	}
	return &problem{where, fmt.Sprintf("%s (line %d)", text, line)}
}

// setting is one leaf key of the file, with its environment variable.
type setting struct {
	path, env string
	index     []int  // field index path from Config
	hint      string // what a value must look like
	secret    bool
}

var settings = sync.OnceValue(func() []setting {
	var out []setting
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			path, idx := joinPath(prefix, name), append(slices.Clone(index), i)
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, path, idx)
				continue
			}
			out = append(out, setting{
				path: path, index: idx, hint: hintFor(f.Type),
				env:    EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_")),
				secret: f.Type == secretType || f.Type == reflect.TypeFor[[]Secret](),
			})
		}
	}
	walk(reflect.TypeFor[Config](), "", nil)
	return out
})

var secretType = reflect.TypeFor[Secret]()

func hintFor(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[Duration]():
		return durationHint
	case t.Kind() == reflect.Bool:
		return "must be true or false"
	case t.Kind() == reflect.Int:
		return "must be an integer"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return "must be a list of mappings, written in the file (it cannot be set from the environment)"
	case t.Kind() == reflect.Slice:
		return `must be a list of strings, such as ["a", "b"]`
	}
	return "must be a single value, not a list or mapping"
}

// lookupSetting finds the setting of a key path; list items ("x[2]")
// belong to their list.
func lookupSetting(path string) (setting, bool) {
	if i := strings.IndexByte(path, '['); i >= 0 {
		path = path[:i]
	}
	for _, s := range settings() {
		if s.path == path {
			return s, true
		}
	}
	return setting{}, false
}

// isSection reports whether path names a mapping of keys, such as "oidc".
func isSection(path string) bool {
	for _, s := range settings() {
		if strings.HasPrefix(s.path, path+".") {
			return true
		}
	}
	return false
}

// suggest returns the known key nearest to an unknown one, or "".
func suggest(path string) string {
	parent, key := "", path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		parent, key = path[:i+1], path[i+1:]
	}
	best, bestDist := "", 3 // at most two edits away
	squash := strings.NewReplacer("_", "", "-", "")
	for _, s := range settings() {
		for _, cand := range []string{s.path, strings.Split(s.path, ".")[0]} {
			rest, ok := strings.CutPrefix(cand, parent)
			if !ok || strings.Contains(rest, ".") {
				continue
			}
			d := editDistance(strings.ToLower(squash.Replace(key)), strings.ToLower(squash.Replace(rest)))
			if squash.Replace(strings.ToLower(key)) != squash.Replace(rest) {
				d++ // spelled differently, not only by case, "-" or "_"
			}
			if d < bestDist {
				best, bestDist = rest, d
			}
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// applyEnv applies REZIGATE_* variables over the file. A variable that
// names no key is an error, not a silent no-op.
func (c *Config) applyEnv(environ []string) []*problem {
	c.fromEnv = map[string]string{}
	var probs []*problem
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		if _, dup := c.envName(name); dup {
			continue // the first of two wins, as in a shell
		}
		s, ok := envSetting(name)
		if !ok {
			probs = append(probs, &problem{name, "names no configuration key (see config.example.yaml for the keys)"})
			continue
		}
		c.fromEnv[s.path] = name
		if !setString(reflect.ValueOf(c).Elem().FieldByIndex(s.index), val) {
			probs = append(probs, &problem{name, s.hint})
		}
	}
	slices.SortFunc(probs, func(a, b *problem) int { return strings.Compare(a.where, b.where) })
	return probs
}

// pathOf returns the key path of an environment variable's name, or name.
func (c *Config) pathOf(name string) string {
	if s, ok := envSetting(name); ok {
		return s.path
	}
	return name
}

func (c *Config) envName(name string) (string, bool) {
	for p, n := range c.fromEnv {
		if n == name {
			return p, true
		}
	}
	return "", false
}

func envSetting(name string) (setting, bool) {
	for _, s := range settings() {
		if s.env == name {
			return s, true
		}
	}
	return setting{}, false
}

// setString sets v from an environment value: strings as they are, lists
// comma-separated, and every other kind read as a YAML scalar.
func setString(v reflect.Value, s string) bool {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return false
		}
		var items []string
		if strings.TrimSpace(s) != "" {
			items = strings.Split(s, ",")
		}
		out := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, it := range items {
			out.Index(i).SetString(strings.TrimSpace(it))
		}
		v.Set(out)
	default:
		if v.Kind() == reflect.Bool {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return false
			}
			v.SetBool(b)
			return true
		}
		n := &yaml.Node{Kind: yaml.ScalarNode, Value: s}
		return s != "" && n.Decode(v.Addr().Interface()) == nil
	}
	return true
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}
