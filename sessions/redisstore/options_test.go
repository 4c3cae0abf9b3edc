package redisstore

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/sessions"
)

const testPassword = "s3cr3t-Pa55word"

func validOptions() Options {
	return Options{Settings: sessions.Settings{Deployment: testDeployment, Secrets: [][]byte{secretA}, MaxAge: time.Hour}, URL: "redis://127.0.0.1:6379/0"}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*Options)
		fields []string // the fields reported, in order; none means valid
	}{
		{"valid", func(*Options) {}, nil},
		{"tls", func(o *Options) { o.URL = "rediss://redis.example.com:6380" }, nil},
		{"unix socket", func(o *Options) { o.URL = "unix:///run/redis.sock?db=2" }, nil},
		{"cluster", func(o *Options) { o.URL = "redis://10.0.0.1:7000?addr=10.0.0.2:7000&addr=10.0.0.3:7000" }, nil},
		{"sentinel", func(o *Options) { o.URL = "redis://s1:26379?addr=s2:26379&master_set=mymaster" }, nil},
		{"password in URL", func(o *Options) { o.URL = "redis://:" + testPassword + "@127.0.0.1:6379" }, nil},
		{"password alone", func(o *Options) { o.Password = testPassword }, nil},
		{"every default overridden", func(o *Options) {
			o.Prefix, o.LocalCacheTTL, o.LocalCacheSize, o.DialTimeout, o.ReadTimeout = "app1:", time.Minute, 1<<20, time.Second, time.Second
		}, nil},
		{"local cache off", func(o *Options) { o.LocalCacheTTL = -1 }, nil},
		{"no URL", func(o *Options) { o.URL = "" }, []string{"URL"}},
		{"bad scheme", func(o *Options) { o.URL = "http://127.0.0.1:6379" }, []string{"URL"}},
		{"no host", func(o *Options) { o.URL = "redis://:6379" }, []string{"URL"}},
		{"unparsable", func(o *Options) { o.URL = "redis://:" + testPassword + "%zz@host" }, []string{"URL"}},
		{"bad db", func(o *Options) { o.URL = "redis://127.0.0.1:6379/x" }, []string{"URL"}},
		{"replica wait as long as a call", func(o *Options) { o.ReadTimeout, o.ReplicaAckTimeout = time.Second, time.Second }, []string{"ReplicaAckTimeout"}},
		{"replica wait off", func(o *Options) { o.ReplicaAckTimeout = -1 }, nil},
		{"cluster with a database", func(o *Options) { o.URL = "redis://10.0.0.1:7000/1?addr=10.0.0.2:7000" }, []string{"URL"}},
		{"cluster with ?db=", func(o *Options) { o.URL = "redis://10.0.0.1:7000?addr=10.0.0.2:7000&db=2" }, []string{"URL"}},
		{"sentinel with a database", func(o *Options) { o.URL = "redis://s1:26379/1?addr=s2:26379&master_set=mymaster" }, nil},
		{"skip_verify", func(o *Options) { o.URL = "rediss://h:6380?skip_verify=true" }, []string{"URL"}},
		{"RESP2", func(o *Options) { o.URL = "redis://h?protocol=2" }, []string{"URL"}},
		{"cache off in URL", func(o *Options) { o.URL = "redis://h?client_cache=0" }, []string{"URL"}},
		{"timeout in URL", func(o *Options) { o.URL = "redis://h?dial_timeout=1h" }, []string{"URL"}},
		{"unknown parameter", func(o *Options) { o.URL = "redis://h?" + testPassword + "=1" }, []string{"URL"}},
		{"space", func(o *Options) { o.URL = "redis://h /0" }, []string{"URL"}},
		{"password twice", func(o *Options) {
			o.URL, o.Password = "redis://:"+testPassword+"@127.0.0.1:6379", testPassword
		}, []string{"Password"}},
		{"no secrets", func(o *Options) { o.Settings.Secrets = nil }, []string{"Settings.Secrets"}},
		{"short secret", func(o *Options) { o.Settings.Secrets = [][]byte{secretA, []byte("short")} }, []string{"Settings.Secrets[1]"}},
		{"default name and max age", func(o *Options) { o.Settings.CookieName, o.Settings.MaxAge = "", 0 }, nil},
		{"bad name", func(o *Options) { o.Settings.CookieName = "a;b" }, []string{"Settings.CookieName"}},
		{"negative max age", func(o *Options) { o.Settings.MaxAge = -1 }, []string{"Settings.MaxAge"}},
		{"long prefix", func(o *Options) { o.Prefix = strings.Repeat("p", 65) }, []string{"Prefix"}},
		{"prefix with space", func(o *Options) { o.Prefix = "a b" }, []string{"Prefix"}},
		{"local cache TTL over a minute", func(o *Options) { o.LocalCacheTTL = time.Minute + 1 }, []string{"LocalCacheTTL"}},
		{"negative cache size", func(o *Options) { o.LocalCacheSize = -1 }, []string{"LocalCacheSize"}},
		{"negative timeouts", func(o *Options) { o.DialTimeout, o.ReadTimeout = -1, -1 }, []string{"DialTimeout", "ReadTimeout"}},
		{"huge timeout", func(o *Options) { o.ReadTimeout = time.Hour }, []string{"ReadTimeout"}},
		{"everything wrong", func(o *Options) { *o = Options{Prefix: "\x00", LocalCacheSize: -1} }, []string{"Settings.Deployment", "Settings.Secrets", "URL", "Prefix", "LocalCacheSize"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := validOptions()
			tc.mod(&o)
			err := o.Validate()
			var got []string
			for _, fe := range optionerr.Fields(err) {
				if fe.Pkg != "redisstore" {
					t.Errorf("error %q: Pkg = %q; want redisstore", fe, fe.Pkg)
				}
				got = append(got, fe.Field)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.fields) {
				t.Errorf("Validate() = %v; want errors for fields %v", err, tc.fields)
			}
			if err != nil && strings.Contains(err.Error(), testPassword) {
				t.Errorf("Validate() = %q; it shows the password", err)
			}
		})
	}
}

func TestOptionsRedacted(t *testing.T) {
	for _, url := range []string{
		"redis://user:" + testPassword + "@127.0.0.1:6379/0",
		"redis://:" + testPassword + "@127.0.0.1:6379",
		"redis://:" + testPassword + "%zz@host", // does not parse
		"rediss://:" + testPassword + "@h?addr=h2:6380",
	} {
		o := validOptions()
		o.URL, o.Password = url, testPassword
		o.Settings.Secrets = [][]byte{[]byte(strings.Repeat("S", 32))}
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("options", "opts", o)
		for _, out := range []string{o.String(), fmt.Sprintf("%v", o), fmt.Sprintf("%+v", o), fmt.Sprintf("%#v", o), logged.String()} {
			if strings.Contains(out, testPassword) || strings.Contains(out, strings.Repeat("S", 32)) {
				t.Errorf("options of %q print as %s; the password or a secret shows", url, out)
			}
			if !strings.Contains(out, "REDACTED") {
				t.Errorf("options print as %s; want REDACTED in place of the password", out)
			}
		}
	}
	o := validOptions()
	if s := o.String(); !strings.Contains(s, "127.0.0.1:6379") {
		t.Errorf("String() = %s; want the URL without a password shown as is", s)
	}
}

// urlMessages are all the messages Validate gives about a URL. None holds
// any part of the URL.
func urlMessages() map[string]bool {
	m := map[string]bool{}
	for _, msg := range refusedParams {
		m[msg] = true
	}
	for _, msg := range []string{
		"required", "must not contain spaces or line breaks",
		"cannot be parsed (it is not shown here, as it may hold a password)",
		"must name a host", "must name a socket path", "scheme must be redis, rediss or unix",
		"must not have a fragment", "has a query that cannot be parsed",
		"has an unsupported query parameter (supported: addr, master_set, db, client_name)",
		"is not a valid Redis URL (bad port, database number or path)",
	} {
		m[msg] = true
	}
	return m
}

// FuzzValidate: Validate never panics, and says about the URL only fixed
// messages, so it cannot echo a password.
func FuzzValidate(f *testing.F) {
	for _, u := range []string{
		"redis://127.0.0.1:6379/0", "rediss://:pw@h:6380?addr=h2", "unix:///s.sock?db=1", "redis://h?master_set=m",
		"redis://:pw%zz@h", "redis://h/1/2", "redis://h?skip_verify", "", "redis://[::1]:6379", "redis://:pw@:0",
		"redis://h#frag", "redis://h?a=%zz", "redis://h:99999",
	} {
		f.Add(u)
	}
	known := urlMessages()
	f.Fuzz(func(t *testing.T, url string) {
		o := validOptions()
		o.URL = url
		err := o.Validate()
		_ = o.String()
		for _, fe := range optionerr.Fields(err) {
			if fe.Field == "URL" && !known[fe.Msg] {
				t.Fatalf("Validate(%q): URL message %q is not one of the fixed messages", url, fe.Msg)
			}
		}
		if p := urlPassword(url); len(p) > 8 && strings.Contains(o.String(), p) {
			t.Fatalf("String() of %q = %s; it shows the password", url, o.String())
		}
	})
}

func TestLimiterAndTokenOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    LimiterOptions
		ok   bool
	}{
		{"valid", LimiterOptions{Limit: 10}, true},
		{"window", LimiterOptions{Limit: 1, Window: time.Second}, true},
		{"no limit", LimiterOptions{}, false},
		{"negative window", LimiterOptions{Limit: 1, Window: -1}, false},
		{"tiny window", LimiterOptions{Limit: 1, Window: time.Millisecond}, false},
	} {
		if err := tc.o.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: LimiterOptions.Validate() = %v; want ok %v", tc.name, err, tc.ok)
		}
	}
	for _, tc := range []struct {
		name string
		o    TokenCacheOptions
		ok   bool
	}{
		{"zero", TokenCacheOptions{}, true},
		{"margin", TokenCacheOptions{Margin: time.Minute}, true},
		{"negative", TokenCacheOptions{Margin: -1}, false},
		{"too long", TokenCacheOptions{Margin: MaxTokenTTL}, false},
	} {
		if err := tc.o.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: TokenCacheOptions.Validate() = %v; want ok %v", tc.name, err, tc.ok)
		}
	}
}
