package wsframe

import (
	"bytes"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload string
		mask    bool
	}{
		{"client", "hello", true},
		{"server", "hello", false},
		{"empty", "", true},
		{"longest", strings.Repeat("x", maxPayload), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteText(&b, []byte(tc.payload), tc.mask); err != nil {
				t.Fatal(err)
			}
			if masked := b.Bytes()[1]&0x80 != 0; masked != tc.mask {
				t.Errorf("mask bit = %v; want %v", masked, tc.mask)
			}
			got, err := ReadText(&b)
			if err != nil || string(got) != tc.payload {
				t.Errorf("ReadText = %q, %v; want %q", got, err, tc.payload)
			}
		})
	}
	if err := WriteText(new(bytes.Buffer), make([]byte, maxPayload+1), true); err == nil {
		t.Error("WriteText(126 bytes) = nil; want an error")
	}
	if _, err := ReadText(bytes.NewReader([]byte{0x82, 0x01, 'x'})); err == nil {
		t.Error("ReadText(binary frame) = nil error; want one")
	}
}
