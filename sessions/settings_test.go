package sessions

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/optionerr"
)

// TestDeploymentOf: a public URL is named by its scheme and host, whatever
// their case, trailing slash or default port.
func TestDeploymentOf(t *testing.T) {
	for _, tc := range []struct{ public, want string }{
		{"https://rms.example.com", "https://rms.example.com"},
		{"https://RMS.Example.com/", "https://rms.example.com"},
		{"https://rms.example.com:443", "https://rms.example.com"},
		{"https://rms.example.com:8443", "https://rms.example.com:8443"},
		{"http://127.0.0.1:80/", "http://127.0.0.1"},
		{"http://[::1]:4180", "http://[::1]:4180"},
		{"not a url", ""},
		{"ftp://rms.example.com", ""},
		{"", ""},
	} {
		if got := DeploymentOf(tc.public); got != tc.want {
			t.Errorf("DeploymentOf(%q) = %q; want %q", tc.public, got, tc.want)
		}
	}
}

func TestSetCookieName(t *testing.T) {
	for _, tc := range []struct {
		s    Settings
		want string
	}{
		{Settings{}, "__Host-_rezigate"},
		{Settings{CookieName: "s"}, "__Host-s"},
		{Settings{InsecureCookies: true}, "_rezigate"},
		{Settings{CookieName: "s", InsecureCookies: true}, "s"},
	} {
		if got := tc.s.SetCookieName(); got != tc.want {
			t.Errorf("Settings{CookieName: %q, InsecureCookies: %t}.SetCookieName() = %q; want %q", tc.s.CookieName, tc.s.InsecureCookies, got, tc.want)
		}
	}
}

// TestSettingsValidate has one case per rule, listing the fields it
// reports, in order.
func TestSettingsValidate(t *testing.T) {
	valid := Settings{Deployment: testDeployment, Secrets: [][]byte{secretA}}
	for _, tc := range []struct {
		name   string
		mod    func(*Settings)
		fields []string
	}{
		{"valid with defaults", func(*Settings) {}, nil},
		{"everything set", func(s *Settings) { s.CookieName, s.MaxAge = "rezigate.v1!", LongestMaxAge }, nil},
		{"http on loopback", func(s *Settings) { s.Deployment = "http://127.0.0.1:4180" }, nil},
		{"http elsewhere, insecure", func(s *Settings) { s.Deployment, s.InsecureCookies = "http://rms.internal.example", true }, nil},
		{"http elsewhere, secure", func(s *Settings) { s.Deployment = "http://rms.example.com" }, []string{"InsecureCookies"}},
		{"http on a loopback look-alike", func(s *Settings) { s.Deployment = "http://127.0.0.1.example.com" }, []string{"InsecureCookies"}},
		{"no deployment", func(s *Settings) { s.Deployment = "" }, []string{"Deployment"}},
		{"deployment with a path", func(s *Settings) { s.Deployment = "https://rms.example.com/app" }, []string{"Deployment"}},
		{"deployment not canonical", func(s *Settings) { s.Deployment = "https://RMS.example.com:443" }, []string{"Deployment"}},
		{"no secrets", func(s *Settings) { s.Secrets = nil }, []string{"Secrets"}},
		{"short second secret", func(s *Settings) { s.Secrets = [][]byte{secretA, []byte("x")} }, []string{"Secrets[1]"}},
		{"cookie name with ;", func(s *Settings) { s.CookieName = "a;b" }, []string{"CookieName"}},
		{"cookie name too long", func(s *Settings) { s.CookieName = strings.Repeat("a", 65) }, []string{"CookieName"}},
		{"cookie name with its own prefix", func(s *Settings) { s.CookieName = "__Host-x" }, []string{"CookieName"}},
		{"negative max age", func(s *Settings) { s.MaxAge = -time.Second }, []string{"MaxAge"}},
		{"max age over 30 days", func(s *Settings) { s.MaxAge = LongestMaxAge + time.Second }, []string{"MaxAge"}},
		{"zero", func(s *Settings) { *s = Settings{} }, []string{"Deployment", "Secrets"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := valid
			tc.mod(&s)
			err := s.Validate()
			var got []string
			for _, fe := range optionerr.Fields(err) {
				got = append(got, fe.Field)
				if fe.Pkg != "sessions" || strings.Contains(fe.Msg, string(secretA)) {
					t.Errorf("field error %v; want package sessions, no secret", fe)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.fields) {
				t.Errorf("Validate() = %v; want errors for %v", err, tc.fields)
			}
		})
	}
}

// TestSettingsWithDefaults: zero fields take their defaults, and the
// secrets are a copy the caller cannot change afterwards.
func TestSettingsWithDefaults(t *testing.T) {
	secret := []byte(strings.Repeat("s", 32))
	in := Settings{Deployment: testDeployment, Secrets: [][]byte{secret}}
	got := in.WithDefaults()
	if got.CookieName != DefaultCookieName || got.MaxAge != DefaultMaxAge || got.Deployment != testDeployment {
		t.Errorf("WithDefaults() = %v; want the default cookie name and max age", got)
	}
	secret[0] = 'x'
	if got.Secrets[0][0] != 's' {
		t.Error("WithDefaults() shares the secrets' bytes with its input")
	}
	if !(Settings{}).IsZero() || in.IsZero() {
		t.Error("IsZero is wrong")
	}
	if s := fmt.Sprintf("%v %+v %#v", got, got, got); strings.Contains(s, "ssss") {
		t.Errorf("Settings print their secrets: %s", s)
	}
}
