package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts the name of every environment variable that overrides a
// key: EnvPrefix + the key path in upper snake case.
const EnvPrefix = "REZIGATE_"

// problem is one thing wrong with the configuration. path is a YAML key path
// ("session.secrets[1]") or, for an environment override, the variable name.
// msg never contains a secret's value.
type problem struct {
	path string
	msg  string
}

func (p *problem) Error() string { return p.path + ": " + p.msg }

// Load reads the file at path and parses it with [Parse]. A missing file is
// an error: running with built-in defaults by accident would hide a
// deployment mistake.
func Load(path string, environ []string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	return Parse(data, environ)
}

// Parse builds a Config from a YAML document and environment variables
// (environ holds "NAME=value" entries as [os.Environ] returns them; nil
// means no overrides). It applies defaults, the document, the overrides,
// normalisation and [Config.Validate], and returns the config only if all of
// them succeeded. Otherwise the error joins every problem found, one per
// line, each naming the key or variable; no secret value appears in it.
func Parse(data []byte, environ []string) (*Config, error) {
	c := Defaults()
	d := decoder{failed: map[string]bool{}}

	root, err := parseDocument(data)
	if err != nil {
		return nil, err
	}
	if root != nil {
		d.decodeStruct("", root, reflect.ValueOf(&c).Elem())
	}
	d.applyEnv(&c, environ)
	c.normalize()

	var errs []error
	for _, p := range d.problems {
		errs = append(errs, p)
	}
	if err := c.Validate(); err != nil {
		for _, e := range unjoin(err) {
			// A key that failed to decode kept its default; complaining
			// about that default as well would only confuse.
			if p, ok := e.(*problem); ok && d.failedPath(p.path) {
				continue
			}
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &c, nil
}

// parseDocument returns the top-level mapping of data, or nil for a
// document with no content (only comments, or nothing).
func parseDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("config: parse yaml: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("config: parse yaml: the file must hold exactly one YAML document")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	root := resolve(doc.Content[0])
	if root == nil {
		return nil, errors.New("config: parse yaml: unresolvable alias at the top level")
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config: parse yaml: the top level must be a mapping of keys to values (line %d)", root.Line)
	}
	return root, nil
}

// unjoin returns the errors joined in err, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

type decoder struct {
	problems []*problem
	// failed holds the key paths whose value could not be decoded; they
	// keep their defaults and validation skips them.
	failed map[string]bool
}

func (d *decoder) fail(path string, n *yaml.Node, msg string) {
	d.failed[path] = true
	if n != nil && n.Line > 0 {
		msg = fmt.Sprintf("%s (line %d)", msg, n.Line)
	}
	d.problems = append(d.problems, &problem{path: path, msg: msg})
}

// failedPath reports whether path is, or is inside, a key that failed to
// decode.
func (d *decoder) failedPath(path string) bool {
	for f := range d.failed {
		if path == f || strings.HasPrefix(path, f+".") || strings.HasPrefix(path, f+"[") {
			return true
		}
	}
	return false
}

// resolve follows aliases to the node they name; nil if there is none.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i == 8 {
			return nil
		}
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

var (
	durationType = reflect.TypeFor[Duration]()
	secretType   = reflect.TypeFor[Secret]()
)

// decodeStruct decodes mapping n into struct v. Only keys with a yaml tag
// on v's type are accepted, so the recursion is bounded by the schema's
// depth whatever aliases the document contains.
func (d *decoder) decodeStruct(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n, "must be a mapping of keys to values")
		return
	}
	fields := fieldsByName(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode {
			d.fail(joinPath(path, "?"), n.Content[i], "keys must be plain strings")
			continue
		}
		p := joinPath(path, k.Value)
		if k.ShortTag() == "!!merge" {
			d.fail(p, k, "YAML merge keys are not supported; write the keys out")
			continue
		}
		idx, ok := fields[k.Value]
		if !ok {
			msg := "unknown key"
			if s := suggest(k.Value, fields); s != "" {
				msg += "; did you mean " + s + "?"
			}
			d.fail(p, k, msg)
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.fail(p, k, fmt.Sprintf("set more than once (first on line %d)", line))
			continue
		}
		seen[k.Value] = k.Line
		d.decodeValue(p, n.Content[i+1], v.Field(idx))
	}
}

// decodeValue decodes n into v. A null value keeps v's default. Messages
// describe the expected form and never repeat the value, which may be a
// secret.
func (d *decoder) decodeValue(path string, n *yaml.Node, v reflect.Value) {
	orig := n
	if n = resolve(n); n == nil {
		d.fail(path, orig, "alias names no value")
		return
	}
	if isNull(n) {
		return
	}
	if v.Kind() == reflect.Struct {
		d.decodeStruct(path, n, v)
		return
	}
	if v.Kind() == reflect.Slice {
		if n.Kind != yaml.SequenceNode {
			d.fail(path, n, `must be a list, such as ["a", "b"]`)
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		ok := true
		for i, item := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			if item = resolve(item); item == nil || item.Kind != yaml.ScalarNode || isNull(item) {
				d.fail(ip, n.Content[i], "must be a string")
				ok = false
				continue
			}
			s.Index(i).SetString(item.Value)
		}
		if ok {
			v.Set(s)
		}
		return
	}
	if n.Kind != yaml.ScalarNode {
		d.fail(path, n, "must be a single value, not a list or mapping")
		return
	}
	if v.Type() == durationType {
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.fail(path, n, durationHint)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if err := n.Decode(&b); err != nil {
			d.fail(path, n, "must be true or false")
			return
		}
		v.SetBool(b)
	case reflect.Int:
		var i int
		if err := n.Decode(&i); err != nil {
			d.fail(path, n, "must be an integer")
			return
		}
		v.SetInt(int64(i))
	default:
		panic("config: no decoder for " + v.Type().String())
	}
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

func fieldsByName(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

// suggest returns the known key that key probably meant (same letters up to
// case, "-" and "_"), or "".
func suggest(key string, fields map[string]int) string {
	squash := func(s string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
	}
	for name := range fields {
		if squash(name) == squash(key) {
			return name
		}
	}
	return ""
}

// setting is one leaf key of the schema.
type setting struct {
	path   string // "session.secrets"
	env    string // "REZIGATE_SESSION_SECRETS"
	index  []int  // field index path from Config
	secret bool
}

// settings lists every leaf key, derived from the yaml tags, so adding a
// field to Config adds its environment variable too.
var settings = sync.OnceValue(func() []setting {
	var out []setting
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := yamlName(f)
			if name == "" || name == "-" {
				continue
			}
			path := joinPath(prefix, name)
			idx := append(slices.Clone(index), i)
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, path, idx)
				continue
			}
			out = append(out, setting{
				path:   path,
				env:    EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_")),
				index:  idx,
				secret: f.Type == secretType || (f.Type.Kind() == reflect.Slice && f.Type.Elem() == secretType),
			})
		}
	}
	walk(reflect.TypeFor[Config](), "", nil)
	return out
})

// applyEnv applies the REZIGATE_ variables in environ to c. The first entry
// for a name wins, as with [os.Getenv].
func (d *decoder) applyEnv(c *Config, environ []string) {
	byEnv := map[string]setting{}
	for _, s := range settings() {
		byEnv[s.env] = s
	}
	seen := map[string]bool{}
	var probs []*problem
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || seen[name] {
			continue
		}
		seen[name] = true
		s, ok := byEnv[name]
		if !ok {
			probs = append(probs, &problem{path: name, msg: "names no configuration key (see config.example.yaml for the keys)"})
			continue
		}
		v := reflect.ValueOf(c).Elem().FieldByIndex(s.index)
		if msg := setFromString(v, val); msg != "" {
			d.failed[s.path] = true
			probs = append(probs, &problem{path: name, msg: msg})
		}
	}
	slices.SortFunc(probs, func(a, b *problem) int { return strings.Compare(a.path, b.path) })
	d.problems = append(d.problems, probs...)
}

// setFromString sets v from an environment value and returns "" or what is
// wrong. The message never repeats the value.
func setFromString(v reflect.Value, s string) string {
	if v.Type() == durationType {
		dur, err := time.ParseDuration(s)
		if err != nil {
			return durationHint
		}
		v.SetInt(int64(dur))
		return ""
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return "must be true or false"
		}
		v.SetBool(b)
	case reflect.Int:
		i, err := strconv.Atoi(s)
		if err != nil {
			return "must be an integer"
		}
		v.SetInt(int64(i))
	case reflect.Slice:
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
		panic("config: no environment decoder for " + v.Type().String())
	}
	return ""
}

// normalize rewrites values that have one canonical spelling, so the code
// that uses them compares and concatenates without surprises.
func (c *Config) normalize() {
	if u, err := url.Parse(c.PublicURL); err == nil && u.Path == "/" && u.RawQuery == "" && u.Fragment == "" &&
		!strings.ContainsAny(c.PublicURL, "?#") {
		c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	}
	if u, err := url.Parse(c.Rezi.APIURL); err == nil && u.RawQuery == "" && !strings.ContainsAny(c.Rezi.APIURL, "?#") {
		c.Rezi.APIURL = strings.TrimRight(c.Rezi.APIURL, "/")
	}
	for i, dom := range c.OIDC.AllowedEmailDomains {
		c.OIDC.AllowedEmailDomains[i] = strings.ToLower(dom)
	}
	c.Log.Format = strings.ToLower(c.Log.Format)
	c.Log.Level = strings.ToLower(c.Log.Level)
}
