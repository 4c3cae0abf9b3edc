package identity

import "testing"

// TestUIDFixedVectors: the uid of a person never changes, since Rezi binds
// RMS accounts to it. These values were computed with the formula as it
// shipped (HMAC-SHA256 of issuer "|" subject, lowercase hex); a change
// here detaches every user from their account.
func TestUIDFixedVectors(t *testing.T) {
	secret := []byte("uid-secret-abcdefghijklmnopqrstuvwxyz012345")
	for _, tc := range []struct{ issuer, subject, want string }{
		{"https://login.example.com", "alice-sub", "df9129e8347c116257714e32b21d050aada5e6f8875fde815045ec8400002387"},
		{"https://login.example.com", "", "47c0989ca2548d3da4f865d6b639e7d3c8c26208dc52efce7595f84bbbf53082"},
		{"https://login.example.com/tenant", "sübject|x", "375b1ade4b9beae0cfa46d25c5e22df02776b0c3a9b3d0a133735fd4284b121e"},
	} {
		if got := UID(secret, tc.issuer, tc.subject); got != tc.want {
			t.Errorf("UID(secret, %q, %q) = %q; want %q", tc.issuer, tc.subject, got, tc.want)
		}
	}
	if UID([]byte("another-secret-of-at-least-32-bytes!!"), "https://login.example.com", "alice-sub") == "df9129e8347c116257714e32b21d050aada5e6f8875fde815045ec8400002387" {
		t.Error("UID with another secret gives the same uid")
	}
}
