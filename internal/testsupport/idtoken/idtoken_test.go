package idtoken

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func TestEntra(t *testing.T) {
	for _, size := range []int{1400, 2048, 4096} {
		tok := Entra(1, size)
		if len(tok) != size {
			t.Errorf("len(Entra(1, %d)) = %d", size, len(tok))
		}
		if Entra(1, size) != tok || Entra(2, size) == tok {
			t.Errorf("Entra(seed, %d): not the same for one seed, or the same for two", size)
		}
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatalf("Entra(1, %d) has %d segments; want 3", size, len(parts))
		}
		var claims map[string]any
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil || json.Unmarshal(payload, &claims) != nil || claims["ver"] != "2.0" {
			t.Errorf("Entra(1, %d) payload = %s, %v; want Entra v2.0 claims", size, payload, err)
		}
		if sig, err := base64.RawURLEncoding.DecodeString(parts[2]); err != nil || len(sig) != 256 {
			t.Errorf("Entra(1, %d) signature = %d bytes, %v; want 256", size, len(sig), err)
		}
	}
	if small := Entra(1, 0); len(small) < 1000 || len(small) > 1400 {
		t.Errorf("len(Entra(1, 0)) = %d; want the unpadded token, about 1,250", len(small))
	}
}
