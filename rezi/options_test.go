package rezi

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/optionerr"
)

// TestValidate has one case per rule; each names the field errors it
// expects, in order, as "Field: message start".
func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []string // nil means valid
	}{
		{"defaults", Options{PrivateKey: testKey}, nil},
		{"https", Options{PrivateKey: testKey, APIURL: "https://api.example.com/v1/"}, nil},
		{"http loopback v4", Options{PrivateKey: testKey, APIURL: "http://127.0.0.1:8080/v1"}, nil},
		{"http loopback v6", Options{PrivateKey: testKey, APIURL: "http://[::1]:8080/v1"}, nil},
		{"http localhost", Options{PrivateKey: testKey, APIURL: "http://localhost/v1"}, nil},
		{"all knobs", Options{PrivateKey: testKey, Timeout: time.Second, CacheSize: -1, CacheMargin: 59 * time.Minute}, nil},
		{"timeout of 2m", Options{PrivateKey: testKey, Timeout: 2 * time.Minute}, nil},
		{"cache off", Options{PrivateKey: testKey, CacheSize: -1}, nil},
		{"small cache", Options{PrivateKey: testKey, CacheSize: 1}, nil},
		{"cache margin just under 1h", Options{PrivateKey: testKey, CacheMargin: 59*time.Minute + 59*time.Second}, nil},
		{"missing key", Options{}, []string{"PrivateKey: required"}},
		{"key with space", Options{PrivateKey: "Bearer " + testKey}, []string{"PrivateKey: must be"}},
		{"key with newline", Options{PrivateKey: testKey + "\n"}, []string{"PrivateKey: must be"}},
		{"key not ASCII", Options{PrivateKey: testKey + "é"}, []string{"PrivateKey: must be"}},
		{"http remote", Options{PrivateKey: testKey, APIURL: "http://open-api.rezi.ai/v1"}, []string{"APIURL: must be an absolute https URL"}},
		{"http on a loopback look-alike", Options{PrivateKey: testKey, APIURL: "http://127.0.0.1.evil.com/v1"}, []string{"APIURL: must be an absolute https URL"}},
		{"relative", Options{PrivateKey: testKey, APIURL: "/v1"}, []string{"APIURL: must be an absolute https URL"}},
		{"no scheme", Options{PrivateKey: testKey, APIURL: "open-api.rezi.ai/v1"}, []string{"APIURL: must be an absolute https URL"}},
		{"ftp", Options{PrivateKey: testKey, APIURL: "ftp://open-api.rezi.ai/v1"}, []string{"APIURL: must be an absolute https URL"}},
		{"space", Options{PrivateKey: testKey, APIURL: "https://open-api.rezi.ai/v 1"}, []string{"APIURL: must be an absolute https URL"}},
		{"user info", Options{PrivateKey: testKey, APIURL: "https://u:" + testKey + "@open-api.rezi.ai/v1"}, []string{"APIURL: must not contain a user name or password"}},
		{"query", Options{PrivateKey: testKey, APIURL: "https://open-api.rezi.ai/v1?debug=1"}, []string{"APIURL: must not have a query or fragment"}},
		{"empty query", Options{PrivateKey: testKey, APIURL: "https://open-api.rezi.ai/v1?"}, []string{"APIURL: must not have a query or fragment"}},
		{"fragment", Options{PrivateKey: testKey, APIURL: "https://open-api.rezi.ai/v1#x"}, []string{"APIURL: must not have a query or fragment"}},
		{"unparsable", Options{PrivateKey: testKey, APIURL: "https://[::1"}, []string{"APIURL: must be an absolute https URL"}},
		{"negative timeout", Options{PrivateKey: testKey, Timeout: -time.Second}, []string{"Timeout: must not be negative"}},
		{"timeout over 2m", Options{PrivateKey: testKey, Timeout: 2*time.Minute + time.Second}, []string{"Timeout: must be at most 2m0s"}},
		{"negative margin", Options{PrivateKey: testKey, CacheMargin: -time.Second}, []string{"CacheMargin: must not be negative"}},
		{"margin of an hour", Options{PrivateKey: testKey, CacheMargin: time.Hour}, []string{"CacheMargin: must be shorter"}},
		{"every problem at once", Options{APIURL: "http://example.com", Timeout: -1, CacheMargin: -1},
			[]string{"APIURL:", "PrivateKey: required", "Timeout:", "CacheMargin:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			fields := optionerr.Fields(err)
			if len(fields) != len(tc.want) {
				t.Fatalf("Validate(%v) = %v; want %d field errors %q", tc.opts, err, len(tc.want), tc.want)
			}
			for i, fe := range fields {
				if fe.Pkg != "rezi" || !strings.HasPrefix(fe.Field+": "+fe.Msg, tc.want[i]) {
					t.Errorf("Validate(%v) problem %d = %q; want it to start %q in package rezi", tc.opts, i, fe, tc.want[i])
				}
				if !strings.HasPrefix(fe.Error(), "rezi: "+fe.Field+": ") {
					t.Errorf("Validate(%v) problem %d reads %q; want the prefix %q", tc.opts, i, fe, "rezi: "+fe.Field+": ")
				}
			}
			if err != nil && strings.Contains(err.Error(), testKey) {
				t.Errorf("Validate(%v) = %q; contains the private key", tc.opts, err)
			}
			_, nerr := New(tc.opts)
			switch {
			case err == nil && nerr != nil:
				t.Errorf("New(%v) = %v; want nil error", tc.opts, nerr)
			case err != nil && (nerr == nil || nerr.Error() != err.Error()):
				t.Errorf("New(%v) = %v; want Validate's error %q unchanged", tc.opts, nerr, err)
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
	if c.timeout != DefaultTimeout || c.margin != DefaultCacheMargin || c.cache == nil || c.cache.size != DefaultCacheSize {
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
