// Package wsframe writes and reads the one WebSocket frame shape the
// tests need: a short, final text frame. It exists so that the proxy's
// tests and the end-to-end WebSocket test share one implementation; it is
// no general WebSocket library.
package wsframe

import (
	"errors"
	"fmt"
	"io"
)

// maxPayload is the longest payload a frame with a 7-bit length carries.
const maxPayload = 125

// WriteText writes payload as one final text frame. A client must mask
// its frames (mask true); a server must not.
func WriteText(w io.Writer, payload []byte, mask bool) error {
	if len(payload) > maxPayload {
		return errors.New("wsframe: payload longer than 125 bytes")
	}
	b := []byte{0x81, byte(len(payload))}
	if mask {
		key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
		b[1] |= 0x80
		b = append(b, key[:]...)
		for i, c := range payload {
			b = append(b, c^key[i%4])
		}
	} else {
		b = append(b, payload...)
	}
	_, err := w.Write(b)
	return err
}

// ReadText reads one short final text frame, masked or not, and returns
// its payload unmasked. Any other frame is an error.
func ReadText(r io.Reader) ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := int(h[1] & 0x7f)
	if h[0] != 0x81 || n > maxPayload {
		return nil, fmt.Errorf("wsframe: unexpected frame header %x", h)
	}
	var key [4]byte
	masked := h[1]&0x80 != 0
	if masked {
		if _, err := io.ReadFull(r, key[:]); err != nil {
			return nil, err
		}
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, err
	}
	if masked {
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	return p, nil
}
