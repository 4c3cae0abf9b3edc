// Package yamlenv decodes a YAML document, then environment overrides,
// onto a struct whose yaml tags name its keys, and reports every problem
// by the key's path (or the variable's name) with its line, never with a
// value, which may be a secret.
//
// Decoding is yaml.v3's, with unknown keys refused (and the nearest known
// key suggested); a nested struct is a section of keys. An override is
// named by the prefix and the key's path in upper snake case
// (REZIGATE_SESSION_MAX_AGE sets session.max_age) and decoded as the
// document's value would be; lists are comma-separated.
package yamlenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong. Where is a key path such as
// "session.secrets[1]", the variable a value came from, or "config" for
// the document as a whole; Msg never holds a value.
type Problem struct{ Where, Msg string }

func (p *Problem) Error() string { return p.Where + ": " + p.Msg }

// Join returns the problems as one error, one per line, or nil.
func Join(probs []*Problem) error {
	errs := make([]error, len(probs))
	for i, p := range probs {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// TypeError is what an UnmarshalYAML method of a value type returns for a
// value of the wrong form, so that decoding goes on and reports every bad
// key. msg must start with "must" and must not quote the value: it is
// shown as it is, while yaml.v3's own messages, which quote the value,
// are replaced by a hint from the key's Go type.
func TypeError(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
}

// Key is one leaf key of a schema.
type Key struct {
	Path, Env string              // "session.max_age", "REZIGATE_SESSION_MAX_AGE"
	Field     reflect.StructField // its type and tags
	Index     []int               // of the field in the schema's type, for reflect.Value.FieldByIndex
	Secret    bool                // a Secret or []Secret
	Items     []Key               // for a list of mappings: their keys ("policy.routes[].path"), without Env or Index
	hint      string
}

// Schema is the keys of a struct type.
type Schema struct {
	keys      []Key
	sections  map[string]bool
	envPrefix string
}

// NewSchema reads the keys of t, a struct type, from its yaml tags; a
// nested struct is a section. envPrefix starts every variable's name.
func NewSchema(t reflect.Type, envPrefix string) *Schema {
	s := &Schema{sections: map[string]bool{}, envPrefix: envPrefix}
	s.keys = s.walk(t, "", []int{})
	return s
}

// walk returns the keys of t below prefix; index is nil inside a list.
func (s *Schema) walk(t reflect.Type, prefix string, index []int) []Key {
	var keys []Key
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("yaml")
		if name == "" || name == "-" {
			continue
		}
		k := Key{Path: joinPath(prefix, name), Field: f, hint: hintFor(f.Type)}
		k.Secret = f.Type == reflect.TypeFor[Secret]() || f.Type == reflect.TypeFor[[]Secret]()
		if index != nil {
			k.Index, k.Env = append(slices.Clone(index), i), s.envPrefix+strings.ToUpper(strings.ReplaceAll(k.Path, ".", "_"))
		}
		switch {
		case f.Type.Kind() == reflect.Struct && index != nil:
			s.sections[k.Path] = true
			keys = append(keys, s.walk(f.Type, k.Path, k.Index)...)
			continue
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			k.Items = s.walk(f.Type.Elem(), k.Path+"[]", nil)
		}
		keys = append(keys, k)
	}
	return keys
}

// Keys returns the leaf keys, in the order of the type's fields.
func (s *Schema) Keys() []Key { return s.keys }

// Key returns the leaf key of a path; a list item ("x[2]") belongs to
// its list.
func (s *Schema) Key(path string) (Key, bool) {
	path, _, _ = strings.Cut(path, "[")
	return s.find(func(k Key) bool { return k.Path == path })
}

func (s *Schema) find(match func(Key) bool) (Key, bool) {
	if i := slices.IndexFunc(s.keys, match); i >= 0 {
		return s.keys[i], true
	}
	return Key{}, false
}

// PathOf returns the key path of the field whose tag (a struct tag of
// space-separated names) lists name, indices carried over: with a list of
// mappings at "policy.routes" whose path field is tagged
// `opt:"policy.Routes[].Path"`, PathOf("opt", "policy.Routes[2].Path") is
// "policy.routes[2].path". An index at the end of name is kept
// ("middleware.Session.Secrets[1]" is "session.secrets[1]").
func (s *Schema) PathOf(tag, name string) (string, bool) {
	plain, trailing := strings.CutSuffix(fieldIndex.ReplaceAllString(name, "[]"), "[]")
	for _, k := range s.keys {
		for _, k := range slices.Concat(k.Items, []Key{k}) {
			if !slices.Contains(strings.Fields(k.Field.Tag.Get(tag)), plain) {
				continue
			}
			path := k.Path
			if trailing {
				path += "[]"
			}
			for _, i := range fieldIndex.FindAllString(name, -1) {
				path = strings.Replace(path, "[]", i, 1)
			}
			return path, !strings.Contains(path, "[]")
		}
	}
	return "", false
}

// fieldIndex matches one index in a name, such as "[2]".
var fieldIndex = regexp.MustCompile(`\[\d+\]`)

// Origin says where a decoded value came from.
type Origin struct {
	Lines map[string]int    // key path -> line, for every key the document sets
	Env   map[string]string // key path -> the variable that set it
}

// Where names a key path as the operator set it: by its variable, index
// kept, when the value came from the environment.
func (o Origin) Where(path string) string {
	base, index, found := strings.Cut(path, "[")
	if env, ok := o.Env[base]; ok && found {
		return env + "[" + index
	} else if ok {
		return env
	}
	return path
}

var (
	atLine       = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (.+) not found in type`)
	duplicateKey = regexp.MustCompile(`already defined at line (\d+)`)
	quotedValue  = regexp.MustCompile("`[^`]*`")
)

// Decode decodes data onto dst, a pointer to the schema's type holding
// the defaults (a key left out keeps its value), then applies the
// overrides in environ ("NAME=value" as os.Environ returns them; of two
// with one name the first wins, and one that names no key is a problem).
// ok is false when data is not a configuration at all: then probs says
// why and nothing was applied.
func (s *Schema) Decode(data []byte, environ []string, dst any) (o Origin, probs []*Problem, ok bool) {
	o = Origin{Lines: map[string]int{}, Env: map[string]string{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(&doc)
	switch {
	case err != nil && !errors.Is(err, io.EOF):
		return o, []*Problem{{"config", "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}, false
	case !errors.Is(dec.Decode(new(yaml.Node)), io.EOF):
		return o, []*Problem{{"config", "the file must hold exactly one YAML document"}}, false
	case len(doc.Content) > 0 && doc.Content[0].Kind != yaml.MappingNode && doc.Content[0].ShortTag() != "!!null":
		return o, []*Problem{{"config", fmt.Sprintf("the top level must be a mapping of keys to values (line %d)", doc.Content[0].Line)}}, false
	}
	if len(doc.Content) > 0 {
		byLine := map[int][]string{}
		indexKeys(doc.Content[0], "", o.Lines, byLine)
		kd := yaml.NewDecoder(bytes.NewReader(data))
		kd.KnownFields(true)
		var te *yaml.TypeError
		if err := kd.Decode(dst); errors.As(err, &te) {
			for _, msg := range te.Errors {
				probs = append(probs, s.explain(msg, byLine))
			}
		} else if err != nil {
			return o, []*Problem{{"config", "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}, false
		}
	}
	return o, append(probs, s.applyEnv(environ, reflect.ValueOf(dst).Elem(), o.Env)...), true
}

// indexKeys records the line of every key path in the document, and the
// key paths on every line, since yaml.v3's errors name only a line.
func indexKeys(n *yaml.Node, prefix string, lines map[string]int, byLine map[int][]string) {
	add := func(p string, n *yaml.Node) {
		if _, ok := lines[p]; !ok {
			lines[p] = n.Line
		}
		if !slices.Contains(byLine[n.Line], p) {
			byLine[n.Line] = append(byLine[n.Line], p)
		}
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p, v := joinPath(prefix, n.Content[i].Value), n.Content[i+1]
			add(p, n.Content[i])
			if v.Kind == yaml.ScalarNode || v.Kind == yaml.AliasNode {
				add(p, v) // a value on a line of its own
			}
			indexKeys(v, p, lines, byLine)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", prefix, i)
			add(p, item)
			indexKeys(item, p, lines, byLine)
		}
	}
}

// explain rewrites one yaml.v3 decoding error as a problem naming the
// outermost key on its line that the schema knows.
func (s *Schema) explain(msg string, byLine map[int][]string) *Problem {
	m := atLine.FindStringSubmatch(msg)
	if m == nil {
		return &Problem{"config", quotedValue.ReplaceAllString(msg, "a value")}
	}
	line, _ := strconv.Atoi(m[1])
	where, text := "config", quotedValue.ReplaceAllString(m[2], "a value")
	if u := unknownField.FindStringSubmatch(m[2]); u != nil {
		where, text = u[1], "unknown key"
		for _, p := range byLine[line] {
			if p == u[1] || strings.HasSuffix(p, "."+u[1]) {
				where = p
			}
		}
		if near := s.suggest(where); near != "" {
			text += "; did you mean " + near + "?"
		}
	}
	for _, p := range byLine[line] {
		if where != "config" {
			break
		}
		if k, ok := s.Key(p); ok {
			where, text = p, ownMessage(m[2], k.hint)
			if d := duplicateKey.FindStringSubmatch(m[2]); d != nil {
				text = "set more than once (first on line " + d[1] + ")"
			}
		} else if s.sections[p] {
			where, text = p, "must be a mapping of keys to values"
		}
	}
	return &Problem{where, fmt.Sprintf("%s (line %d)", text, line)}
}

// ownMessage returns msg when it is a value type's own (see TypeError),
// or else hint.
func ownMessage(msg, hint string) string {
	if strings.HasPrefix(msg, "must ") {
		return msg
	}
	return hint
}

func hintFor(t reflect.Type) string {
	switch {
	case t.Kind() == reflect.Bool:
		return "must be true or false"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return "must be a list of mappings, written in the file (it cannot be set from the environment)"
	case t.Kind() == reflect.Slice:
		return `must be a list of strings, such as ["a", "b"]`
	}
	return "must be a single value, not a list or mapping"
}

// suggest returns the known key or section nearest to an unknown one at
// the same level, at most two edits away ignoring case, "-" and "_", or "".
// Two swapped neighbours count as one edit ("cleint_id" is client_id).
func (s *Schema) suggest(path string) string {
	parent, key := "", path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		parent, key = path[:i+1], path[i+1:]
	}
	squash := strings.NewReplacer("_", "", "-", "")
	best, bestDist := "", 3
	for _, k := range s.keys {
		for _, cand := range []string{k.Path, strings.Split(k.Path, ".")[0]} {
			rest, ok := strings.CutPrefix(cand, parent)
			if !ok || strings.Contains(rest, ".") {
				continue
			}
			d := editDistance(strings.ToLower(squash.Replace(key)), squash.Replace(rest))
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

// editDistance is the optimal string alignment distance between a and b:
// the fewest insertions, deletions, substitutions and swaps of two
// adjacent bytes that turn one into the other, no substring edited twice.
func editDistance(a, b string) int {
	// d[i][j] is the distance between a[:i] and b[:j]; three rows suffice.
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// applyEnv applies the overrides onto v, recording in fromEnv which
// variable set which key.
func (s *Schema) applyEnv(environ []string, v reflect.Value, fromEnv map[string]string) []*Problem {
	var probs []*Problem
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		k, known := s.find(func(k Key) bool { return k.Env == name })
		switch {
		case !ok || !strings.HasPrefix(name, s.envPrefix) || known && fromEnv[k.Path] != "":
		case !known:
			probs = append(probs, &Problem{name, "names no configuration key (see config.example.yaml for the keys)"})
		default:
			fromEnv[k.Path] = name
			if msg := setValue(v.FieldByIndex(k.Index), val, k.hint); msg != "" {
				probs = append(probs, &Problem{name, msg})
			}
		}
	}
	slices.SortFunc(probs, func(a, b *Problem) int { return strings.Compare(a.Where, b.Where) })
	return probs
}

// setValue sets v from a variable's value as the document's value would
// be decoded: a string as it is, a list comma-separated, a boolean as
// strconv.ParseBool reads it, anything else as a YAML scalar. It returns
// what is wrong, or "".
func setValue(v reflect.Value, s, hint string) string {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	switch v.Kind() {
	case reflect.String:
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return hint
		}
		v.SetBool(b)
		return ""
	case reflect.Slice:
		n = &yaml.Node{Kind: yaml.SequenceNode}
		for it := range strings.SplitSeq(s, ",") {
			if strings.TrimSpace(s) != "" {
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.TrimSpace(it)})
			}
		}
	default:
		if s != "" {
			n.Tag = "" // resolved as in the document: "5" is an integer
		}
	}
	var te *yaml.TypeError
	if err := n.Decode(v.Addr().Interface()); errors.As(err, &te) {
		return ownMessage(atLine.ReplaceAllString(te.Errors[0], "$2"), hint)
	} else if err != nil {
		return hint
	}
	return ""
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}
