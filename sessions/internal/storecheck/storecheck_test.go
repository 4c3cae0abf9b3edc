package storecheck

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSecrets(t *testing.T) {
	good := bytes.Repeat([]byte("s"), MinSecretLen)
	tests := []struct {
		name    string
		secrets [][]byte
		want    []string
	}{
		{"one", [][]byte{good}, nil},
		{"none", nil, []string{"p: Secrets: required: at least one secret of 32 bytes or more"}},
		{"short second", [][]byte{good, good[:31]}, []string{"p: Secrets[1]: must be at least 32 bytes, got 31"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range Secrets("p", tc.secrets) {
				got = append(got, e.Error())
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("Secrets = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestCookieName(t *testing.T) {
	for name, ok := range map[string]bool{
		"_rezigate": true, "__Host-_rezigate": true, "a!#$%&'*+-.^_`|~z": true,
		"": false, "a b": false, "a;b": false, "a=b": false, "é": false, strings.Repeat("n", 72): false,
	} {
		if got := CookieName(name) == ""; got != ok {
			t.Errorf("CookieName(%q) = %q; want ok %v", name, CookieName(name), ok)
		}
	}
}

func TestPut(t *testing.T) {
	now := time.Unix(1000, 0)
	tests := []struct {
		name    string
		uid     string
		expires time.Time
		ok      bool
	}{
		{"valid", "u", now.Add(time.Hour), true},
		{"no uid", "", now.Add(time.Hour), false},
		{"now", "u", now, false},
		{"past", "u", now.Add(-time.Second), false},
		{"beyond max age", "u", now.Add(time.Hour + time.Nanosecond), false},
	}
	for _, tc := range tests {
		if msg := Put(tc.uid, tc.expires, now, time.Hour); (msg == "") != tc.ok {
			t.Errorf("%s: Put = %q; want ok %v", tc.name, msg, tc.ok)
		}
	}
}

func TestRedactSecrets(t *testing.T) {
	if got := RedactSecrets(nil); got != "[]" {
		t.Errorf("RedactSecrets(nil) = %q", got)
	}
	if got := RedactSecrets([][]byte{[]byte("x"), []byte("y")}); got != "[2 REDACTED]" {
		t.Errorf("RedactSecrets = %q", got)
	}
}
