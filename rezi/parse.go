package rezi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"
)

// maxResponseBytes bounds how much of a response is read. A real answer is
// about 1 KiB; anything far larger is not a token response and must not be
// allowed to exhaust memory.
const maxResponseBytes = 64 << 10

// Parse failures. Their texts are fixed so that nothing from a response
// body can reach an error string.
var (
	errMalformed     = errors.New("malformed JSON")
	errNotSuccess    = errors.New(`response status is not "success"`)
	errMissingStatus = errors.New("missing status")
	errMissingToken  = errors.New("missing token")
	errBadToken      = errors.New("token is not printable ASCII")
	errTooLarge      = errors.New("response larger than 64 KiB")
)

// parseTokenResponse extracts the user token from the body of a 2xx answer.
// It accepts only {"status":"success","token":"..."} with a non-empty token
// of printable ASCII (the token ends up in a URL); other fields are ignored.
// errNotSuccess means Rezi answered but refused; every other error means
// the answer could not be understood.
func parseTokenResponse(body []byte) (string, error) {
	if len(body) > maxResponseBytes {
		return "", errTooLarge
	}
	var r struct {
		Status *string `json:"status"`
		Token  *string `json:"token"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", errMalformed
	}
	if r.Status == nil {
		return "", errMissingStatus
	}
	if *r.Status != "success" {
		return "", errNotSuccess
	}
	if r.Token == nil || *r.Token == "" {
		return "", errMissingToken
	}
	for i := 0; i < len(*r.Token); i++ {
		if c := (*r.Token)[i]; c <= ' ' || c >= 0x7f {
			return "", errBadToken
		}
	}
	return *r.Token, nil
}

// latestExp is the largest exp accepted (year 9999): beyond it time.Unix
// arithmetic stops being meaningful and no real token goes there.
const latestExp = 253402300799

// tokenExpiry reads the "exp" claim (seconds since the epoch, possibly
// fractional) from the payload of a JWT-shaped token. The signature is not
// checked: the token came from Rezi over TLS and the expiry is used only to
// decide how long to cache it. ok is false when the token has no readable,
// positive exp.
func tokenExpiry(token string) (exp time.Time, ok bool) {
	_, rest, found := strings.Cut(token, ".")
	if !found {
		return time.Time{}, false
	}
	payload, sig, found := strings.Cut(rest, ".")
	if !found || strings.Contains(sig, ".") {
		return time.Time{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(payload, "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *float64 `json:"exp"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	f := *claims.Exp
	if math.IsNaN(f) || f < 1 || f > latestExp {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// cacheUntil says until when a token fetched at now may be handed out:
// margin before its exp, never later than maxTokenLife after now, and at
// most 10 minutes after now when exp cannot be read. ok is false when that
// moment is not after now, so the token must not be cached at all.
func cacheUntil(token string, now time.Time, margin time.Duration) (until time.Time, ok bool) {
	const unknownExpiry = 10 * time.Minute
	latest := now.Add(maxTokenLife)
	exp, found := tokenExpiry(token)
	switch {
	case !found:
		exp = now.Add(unknownExpiry + margin)
		if exp.After(latest) {
			exp = latest
		}
	case exp.After(latest):
		exp = latest
	}
	until = exp.Add(-margin)
	return until, until.After(now)
}
