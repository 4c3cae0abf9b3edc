package rezi

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []string // substrings of the error; nil means valid
	}{
		{"defaults", Options{PrivateKey: testKey}, nil},
		{"https", Options{PrivateKey: testKey, APIURL: "https://api.example.com/v1/"}, nil},
		{"http loopback v4", Options{PrivateKey: testKey, APIURL: "http://127.0.0.1:8080/v1"}, nil},
		{"http loopback v6", Options{PrivateKey: testKey, APIURL: "http://[::1]:8080/v1"}, nil},
		{"http localhost", Options{PrivateKey: testKey, APIURL: "http://localhost/v1"}, nil},
		{"all knobs", Options{PrivateKey: testKey, Timeout: time.Second, CacheSize: -1, CacheMargin: 59 * time.Minute}, nil},
		{"missing key", Options{}, []string{"PrivateKey: required"}},
		{"key with space", Options{PrivateKey: "Bearer " + testKey}, []string{"PrivateKey: must be"}},
		{"key with newline", Options{PrivateKey: testKey + "\n"}, []string{"PrivateKey: must be"}},
		{"http remote", Options{PrivateKey: testKey, APIURL: "http://open-api.rezi.ai/v1"}, []string{"APIURL: must be"}},
		{"relative", Options{PrivateKey: testKey, APIURL: "/v1"}, []string{"APIURL: must be"}},
		{"no scheme", Options{PrivateKey: testKey, APIURL: "open-api.rezi.ai/v1"}, []string{"APIURL: must be"}},
		{"ftp", Options{PrivateKey: testKey, APIURL: "ftp://open-api.rezi.ai/v1"}, []string{"APIURL: must be"}},
		{"user info", Options{PrivateKey: testKey, APIURL: "https://u:p@open-api.rezi.ai/v1"}, []string{"APIURL: must be"}},
		{"query", Options{PrivateKey: testKey, APIURL: "https://open-api.rezi.ai/v1?x=1"}, []string{"APIURL: must be"}},
		{"fragment", Options{PrivateKey: testKey, APIURL: "https://open-api.rezi.ai/v1#x"}, []string{"APIURL: must be"}},
		{"unparsable", Options{PrivateKey: testKey, APIURL: "https://[::1"}, []string{"APIURL: must be"}},
		{"negative timeout", Options{PrivateKey: testKey, Timeout: -time.Second}, []string{"Timeout: must not be negative"}},
		{"negative margin", Options{PrivateKey: testKey, CacheMargin: -time.Second}, []string{"CacheMargin: must not be negative"}},
		{"margin of an hour", Options{PrivateKey: testKey, CacheMargin: time.Hour}, []string{"CacheMargin: must be shorter"}},
		{"every problem at once", Options{APIURL: "http://example.com", Timeout: -1, CacheMargin: -1},
			[]string{"APIURL:", "PrivateKey: required", "Timeout:", "CacheMargin:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if tc.want == nil {
				if err != nil {
					t.Errorf("Validate(%v) = %v; want nil", tc.opts, err)
				}
				if _, err := New(tc.opts); err != nil {
					t.Errorf("New(%v) = %v; want nil error", tc.opts, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate(%v) = nil; want errors %q", tc.opts, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate(%v) = %q; want it to contain %q", tc.opts, err, w)
				}
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("Validate(%v) = %q; contains the private key", tc.opts, err)
			}
			if _, nerr := New(tc.opts); nerr == nil || !strings.HasPrefix(nerr.Error(), "rezi: invalid options: ") {
				t.Errorf("New(%v) = %v; want an error starting %q", tc.opts, nerr, "rezi: invalid options: ")
			}
		})
	}
}

func TestOptionsRedacted(t *testing.T) {
	opts := Options{APIURL: "https://user:" + testKey + "@api.example.com/v1", PrivateKey: testKey, Timeout: time.Second}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "rezi", opts, "ptr", &opts)
	outputs := map[string]string{
		"String":   opts.String(),
		"%v":       fmt.Sprintf("%v", opts),
		"%+v":      fmt.Sprintf("%+v", opts),
		"%#v":      fmt.Sprintf("%#v", opts),
		"%v ptr":   fmt.Sprintf("%v", &opts),
		"slog":     logged.String(),
		"Validate": fmt.Sprint(opts.Validate()),
	}
	for name, out := range outputs {
		if strings.Contains(out, testKey) {
			t.Errorf("%s of Options = %q; contains the private key", name, out)
		}
	}
	for _, name := range []string{"String", "%#v", "slog"} {
		if !strings.Contains(outputs[name], "REDACTED") {
			t.Errorf("%s of Options = %q; want the key shown as REDACTED", name, outputs[name])
		}
	}
	if got := (Options{}).String(); strings.Contains(got, "REDACTED") {
		t.Errorf("Options{}.String() = %q; want an unset key shown as empty", got)
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New(Options{PrivateKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if c.endpoint != DefaultAPIURL+"/user/token" {
		t.Errorf("endpoint = %q; want %q", c.endpoint, DefaultAPIURL+"/user/token")
	}
	if c.timeout != 10*time.Second || c.margin != 5*time.Minute || c.cache == nil || c.cache.size != 10000 {
		t.Errorf("defaults: timeout %v, margin %v, cache %v; want 10s, 5m, 10000", c.timeout, c.margin, c.cache != nil)
	}
	if c.hc.CheckRedirect == nil {
		t.Errorf("CheckRedirect = nil; want redirects refused")
	}
	c2, err := New(Options{PrivateKey: testKey, APIURL: "http://127.0.0.1:1/v1/"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "http://127.0.0.1:1/v1/user/token"; c2.endpoint != want {
		t.Errorf("endpoint for a trailing slash = %q; want %q", c2.endpoint, want)
	}
}
