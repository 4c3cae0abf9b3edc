package rezi

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// vendorToken is the example token from Rezi's documentation
// (iat 1661839968, exp 1661843568).
const vendorToken = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL2lkZW50aXR5dG9vbGtpdC5nb29nbGVhcGlzLmNvbS9nb29nbGUuaWRlbnRpdHkuaWRlbnRpdHl0b29sa2l0LnYxLklkZW50aXR5VG9vbGtpdCIsImlhdCI6MTY2MTgzOTk2OCwiZXhwIjoxNjYxODQzNTY4LCJpc3MiOiJyZXppLTNmMjY4QGFwcHNwb3QuZ3NlcnZpY2VhY2NvdW50LmNvbSIsInN1YiI6InJlemktM2YyNjhAYXBwc3BvdC5nc2VydmljZWFjY291bnQuY29tIiwidWlkIjoib0xYNFFCdm9PZTA0RE1uTzFGUUQifQ.VPCY_bjo8kNj8x1IOdMbHSvRuGB4yjfJjDudQ9m1A2AIoIRmFqFpl4P6ZCFaFqmYRx08jw2NH3JAMrlLmsc1XNjkWzOupgYqOYYU71f9ulalHL-h4Enb6RLm72iIQA8WbOhBNAiMi6khCHX-102wRhY0fS0vLVYUfrkUH3u2V3TP42lE1HpusxUlWs0FDp7pVqI7XmQydFFTI3CXOBUXftM1rPsqanqJw2U6SVCLz_iv9U8QhDmJMiel1PQO6a8Qt1nomwSMNpjRR2_63kouUQGeAw5vzoJwe85aYa7LsrsKu_nxh8vmos_XoR5R3Dr848rXnc5BNyX_UIXUh7CkZw"

func TestParseTokenResponse(t *testing.T) {
	tests := []struct {
		body    string
		want    string
		wantErr error
	}{
		{`{"status":"success","userID":"abcdefg","token":"` + vendorToken + `"}`, vendorToken, nil},
		{`{"status":"success","token":"t"}`, "t", nil},
		{` {"token":"t","status":"success","extra":[1,2]} `, "t", nil},
		{`{"status":"error","token":"t"}`, "", errNotSuccess},
		{`{"status":"SUCCESS","token":"t"}`, "", errNotSuccess},
		{`{"status":"","token":"t"}`, "", errNotSuccess},
		{`{"token":"t"}`, "", errMissingStatus},
		{`null`, "", errMissingStatus},
		{`{"status":"success"}`, "", errMissingToken},
		{`{"status":"success","token":""}`, "", errMissingToken},
		{`{"status":"success","token":null}`, "", errMissingToken},
		{`{"status":"success","token":"a b"}`, "", errBadToken},
		{`{"status":"success","token":"a\u0000b"}`, "", errBadToken},
		{`{"status":"success","token":"é"}`, "", errBadToken},
		{`{"status":"success","token":42}`, "", errMalformed},
		{`{"status":"success","token":"t"`, "", errMalformed},
		{`{"status":"success","token":"t"} trailing`, "", errMalformed},
		{``, "", errMalformed},
		{`<html>Bad Gateway</html>`, "", errMalformed},
		{`{"status":"success","token":"` + strings.Repeat("a", maxResponseBytes) + `"}`, "", errTooLarge},
	}
	for _, tc := range tests {
		got, err := parseTokenResponse([]byte(tc.body))
		if got != tc.want || !errors.Is(err, tc.wantErr) {
			t.Errorf("parseTokenResponse(%.60q) = %.20q, %v; want %.20q, %v", tc.body, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestTokenExpiry(t *testing.T) {
	tests := []struct {
		token  string
		want   time.Time
		wantOK bool
	}{
		{vendorToken, time.Unix(1661843568, 0), true},
		{makeToken(`{"exp":1700000000}`), time.Unix(1700000000, 0), true},
		{makeToken(`{"exp":1700000000.5}`), time.Unix(1700000000, 5e8), true},
		{makeToken(`{"exp":1.7e9}`), time.Unix(1700000000, 0), true},
		{"h." + strings.Split(makeToken(`{"exp":1700000000}`), ".")[1] + "==.s", time.Unix(1700000000, 0), true},
		{makeToken(`{"exp":"1700000000"}`), time.Time{}, false},
		{makeToken(`{"exp":0}`), time.Time{}, false},
		{makeToken(`{"exp":-5}`), time.Time{}, false},
		{makeToken(`{"exp":1e300}`), time.Time{}, false},
		{makeToken(`{"exp":null}`), time.Time{}, false},
		{makeToken(`{"iat":1700000000}`), time.Time{}, false},
		{makeToken(`[1,2]`), time.Time{}, false},
		{makeToken(`not json`), time.Time{}, false},
		{"a.%%%.c", time.Time{}, false},
		{"only.two", time.Time{}, false},
		{"a.b.c.d", time.Time{}, false},
		{"opaque", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tc := range tests {
		got, ok := tokenExpiry(tc.token)
		if ok != tc.wantOK || !got.Equal(tc.want) {
			t.Errorf("tokenExpiry(%.60q) = %v, %v; want %v, %v", tc.token, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestCacheUntil(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	exp := func(d time.Duration) string {
		b, _ := json.Marshal(map[string]int64{"exp": now.Add(d).Unix()})
		return makeToken(string(b))
	}
	tests := []struct {
		name   string
		token  string
		margin time.Duration
		want   time.Duration // after now; 0 means not cached
	}{
		{"exp minus margin", exp(30 * time.Minute), 5 * time.Minute, 25 * time.Minute},
		{"exp capped at one hour", exp(3 * time.Hour), 5 * time.Minute, 55 * time.Minute},
		{"exp inside margin", exp(4 * time.Minute), 5 * time.Minute, 0},
		{"exp exactly at margin", exp(5 * time.Minute), 5 * time.Minute, 0},
		{"exp in the past", exp(-time.Minute), 5 * time.Minute, 0},
		{"no exp", "opaque", 5 * time.Minute, 10 * time.Minute},
		{"no exp, large margin", "opaque", 55 * time.Minute, 5 * time.Minute},
		{"no exp, no margin", "opaque", 0, 10 * time.Minute},
	}
	for _, tc := range tests {
		until, ok := cacheUntil(tc.token, now, tc.margin)
		got := time.Duration(0)
		if ok {
			got = until.Sub(now)
		}
		if got != tc.want {
			t.Errorf("%s: cacheUntil(margin %v) = now+%v (ok %v); want now+%v", tc.name, tc.margin, got, ok, tc.want)
		}
	}
}

// FuzzParseTokenResponse checks that no body panics the parser and that
// whatever it accepts is a token that can travel in a URL and came from
// a success response.
func FuzzParseTokenResponse(f *testing.F) {
	for _, s := range []string{
		`{"status":"success","userID":"abcdefg","token":"` + vendorToken + `"}`,
		`{"status":"error","token":"t"}`,
		`{"status":"success","token":""}`,
		`{"status":"success","token":"a\u0000b"}`,
		`{"status":"success","token":"t","token":"u"}`,
		`{"Status":"success","TOKEN":"t"}`,
		`null`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := parseTokenResponse(body)
		if err != nil {
			if tok != "" {
				t.Errorf("parseTokenResponse(%q) = %q, %v; want no token with an error", body, tok, err)
			}
			return
		}
		if tok == "" || len(tok) > len(body) {
			t.Fatalf("parseTokenResponse(%q) = %q, nil; want a non-empty token from the body", body, tok)
		}
		for i := 0; i < len(tok); i++ {
			if tok[i] <= ' ' || tok[i] >= 0x7f {
				t.Fatalf("parseTokenResponse(%q) = %q; want printable ASCII", body, tok)
			}
		}
		var r struct{ Status string }
		if json.Unmarshal(body, &r) != nil || r.Status != "success" {
			t.Errorf("parseTokenResponse(%q) accepted a body whose status is %q", body, r.Status)
		}
	})
}

// FuzzTokenExpiry checks that no token panics the exp reader and that an
// accepted exp is a real moment that survives the cache arithmetic.
func FuzzTokenExpiry(f *testing.F) {
	for _, s := range []string{
		vendorToken,
		makeToken(`{"exp":1700000000.5}`),
		makeToken(`{"exp":1e300}`),
		makeToken(`{"exp":"1"}`),
		"a.b.c", "a..c", "..", "opaque", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		exp, ok := tokenExpiry(token)
		if !ok {
			if !exp.IsZero() {
				t.Errorf("tokenExpiry(%q) = %v, false; want the zero time", token, exp)
			}
			return
		}
		if exp.Unix() <= 0 || exp.Unix() > latestExp {
			t.Errorf("tokenExpiry(%q) = %v; want within (epoch, year 9999]", token, exp)
		}
		now := time.Unix(1_700_000_000, 0)
		if until, ok := cacheUntil(token, now, 5*time.Minute); ok && until.After(now.Add(maxTokenLife)) {
			t.Errorf("cacheUntil(%q) = %v; want at most an hour after %v", token, until, now)
		}
	})
}
