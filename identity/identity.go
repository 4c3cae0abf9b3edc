// Package identity names a person for rezigate: the uid, a stable and
// opaque id derived from who the identity provider says the person is
// (issuer and subject), keyed by a secret of the deployment.
//
// The uid is what Rezi binds the person's RMS account to, what upstreams
// receive in X-Forwarded-User, and what `rezigate revoke` and the session
// stores index sessions by. Its formula therefore never changes: a new
// formula, or a new secret, would detach every user from their account.
package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// UID returns the uid of the person the provider at issuer names subject:
// lowercase hex(HMAC-SHA256(secret, issuer + "|" + subject)), 64
// characters. It is stable as long as secret does not change, and reveals
// neither the subject nor the email. The middleware derives every uid with
// it; tools that must find a person's sessions or RMS account without a
// running middleware call it with the same secret (identity.uid_secret)
// and the issuer URL.
func UID(secret []byte, issuer, subject string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(issuer))
	m.Write([]byte{'|'})
	m.Write([]byte(subject))
	return hex.EncodeToString(m.Sum(nil))
}
