package yamlenv

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Secret is a value that must never be shown: it formats (every fmt
// verb), logs and marshals as "REDACTED", or as "" when empty so that a
// missing secret is still visible.
type Secret string

// String returns "REDACTED", or "" when s is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

// Format writes the redacted form for every verb, so that %d, %x or %#v
// cannot reveal the value either.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", s.String())
		return
	}
	_, _ = io.WriteString(f, s.String())
}

// LogValue implements [slog.LogValuer] with the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalYAML implements [yaml.Marshaler] with the redacted form.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText implements [encoding.TextMarshaler] with the redacted form,
// so that encoding/json cannot reveal the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Duration is a [time.Duration] written with a unit, such as "8h", "90s"
// or "1h30m". A bare number is refused: "3600" could mean seconds or
// nanoseconds.
type Duration time.Duration

// String returns the duration in Go syntax without zero trailing units.
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalYAML implements [yaml.Marshaler]; the output parses back.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML implements [yaml.Unmarshaler] with a [TypeError].
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return TypeError(n, `must be a duration with a unit, such as "8h", "90s" or "1h30m"`)
	}
	*d = Duration(v)
	return nil
}

// ZeroOff is a count where the document's 0 means "off", while rezigate's
// Options read 0 as "the default" and a negative value as "off". A key
// left out keeps its default, so the two never meet; Option is the one
// place the document's 0 becomes the Options' "off".
type ZeroOff int

// Option returns n for the packages' Options: -1 (off) for 0.
func (n ZeroOff) Option() int {
	if n == 0 {
		return -1
	}
	return int(n)
}

// UnmarshalYAML implements [yaml.Unmarshaler], refusing a negative count.
func (n *ZeroOff) UnmarshalYAML(node *yaml.Node) error {
	var v int
	if node.Kind != yaml.ScalarNode || node.Decode(&v) != nil {
		return TypeError(node, "must be an integer")
	}
	if v < 0 {
		return TypeError(node, "must not be negative (0 turns it off)")
	}
	*n = ZeroOff(v)
	return nil
}
