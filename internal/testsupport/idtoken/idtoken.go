// Package idtoken makes ID tokens of a realistic shape and size for tests
// that measure what keeping one costs (a session cookie, a Redis record).
//
// The tokens are shaped like Microsoft Entra ID v2.0 ID tokens, the
// largest a workforce provider issues (claims as listed in
// https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference):
// an RS256 header with a kid, GUIDs for aud, tid and oid, random opaque
// values for aio, rh, uti, sub and nonce, and a 256-byte signature. They
// are not signed by any key: the signature is random bytes of the size a
// 2048-bit RSA key gives, which compress no better than a real one.
package idtoken

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Entra returns a token of exactly size bytes, the same for the same
// seed; a size under that of the unpadded token (about 1,250 bytes) gives
// the unpadded token. It pads the aio claim, an opaque random value
// in real tokens, so padding is as incompressible as the rest.
func Entra(seed uint64, size int) string {
	r := rand.New(rand.NewPCG(seed, 0x1d70ce))
	guid := func() string {
		b := make([]byte, 16)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	}
	opaque := func(n int) string {
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		var sb strings.Builder
		for range n {
			sb.WriteByte(alphabet[r.UintN(64)])
		}
		return sb.String()
	}
	tid := guid()
	now := time.Unix(1767225600, 0)
	header := fmt.Sprintf(`{"typ":"JWT","alg":"RS256","kid":%q}`, opaque(27))
	claims := map[string]any{
		"aud": guid(), "iss": "https://login.microsoftonline.com/" + tid + "/v2.0",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"email": "alice.longname@contoso.example", "name": "Alice Longname",
		"nonce": opaque(22), "oid": guid(), "preferred_username": "alice.longname@contoso.example",
		"rh": opaque(40) + ".", "sid": guid(), "sub": opaque(43), "tid": tid,
		"uti": opaque(22), "ver": "2.0", "aio": "",
	}
	sig := make([]byte, 256)
	for i := range sig {
		sig[i] = byte(r.UintN(256))
	}
	enc := base64.RawURLEncoding
	build := func(aio string) string {
		claims["aio"] = aio
		payload, _ := json.Marshal(claims)
		return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(payload) + "." + enc.EncodeToString(sig)
	}
	tok := build("")
	// Each 4 more aio bytes add 3 payload bytes, which encode as 4.
	pad := opaque(max(0, size-len(tok)) * 3 / 4)
	tok = build(pad)
	for len(tok) < size {
		pad += opaque(1)
		tok = build(pad)
	}
	for len(tok) > size && pad != "" {
		pad = pad[:len(pad)-1]
		tok = build(pad)
	}
	return tok
}
