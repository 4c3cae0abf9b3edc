package middleware

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/session"
	"github.com/rezigate/rezigate/internal/testsupport/redistest"
	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/sessions"
)

// testCodec seals cookies as a's cookie store does, also ones the store
// would refuse to make (expired, or for another secret), for tests.
func testCodec(a *Auth) *session.Codec {
	c, err := session.NewBoundCodec(a.session.Secrets, a.session.MaxAge, a.session.Deployment)
	if err != nil {
		panic("testCodec: " + err.Error())
	}
	return c
}

// TestStoreSettingsGivenOnce: the session settings are given once, to the
// store, and the middleware reads them from it. A cookie store of one hour
// passed as Store beside otherwise default Options (whose default max age
// is 8 h) used to be accepted, and then every sign-in failed with 500 as
// the store refused the 8 h session; now the middleware makes 1 h
// sessions. Settings given to both, or a store of another deployment, are
// refused by New with a field error.
func TestStoreSettingsGivenOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(t *testing.T, o *Options)
	}{
		{"cookie store of 1h", func(t *testing.T, o *Options) {
			st := o.Session
			st.Deployment, st.MaxAge = sessions.DeploymentOf(o.PublicURL), time.Hour
			cs, err := sessions.NewCookieStore(sessions.CookieOptions{Settings: st})
			if err != nil {
				t.Fatal(err)
			}
			o.Store, o.Session = cs, sessions.Settings{}
		}},
		{"redis store of 1h", func(t *testing.T, o *Options) {
			o.Session.MaxAge = time.Hour
			useRedis(t, o, redistest.URL(t))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{mod: func(o *Options) { tc.mod(t, o) }})
			cb := e.signIn(newClient(), "/", "alice@example.com", alicePassword)
			sc := sessionCookie(cb)
			if cb.StatusCode != http.StatusFound || sc == nil {
				t.Fatalf("sign-in callback = %d, session cookie %v; want 302 with a session cookie", cb.StatusCode, sc)
			}
			if sc.MaxAge != int(time.Hour/time.Second) {
				t.Errorf("session cookie Max-Age = %d; want 3600, the store's max age", sc.MaxAge)
			}
			if r := e.userinfo(sc.Value); r.StatusCode != http.StatusOK {
				t.Errorf("userinfo with the new session = %d; want 200", r.StatusCode)
			}
		})
	}

	cookieStore := func(t *testing.T, st sessions.Settings) sessions.Store {
		cs, err := sessions.NewCookieStore(sessions.CookieOptions{Settings: st})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	secrets := [][]byte{[]byte(testSessionKey)}
	for _, tc := range []struct {
		name   string
		mod    func(t *testing.T, o *Options)
		fields []string
	}{
		{"settings given to both", func(t *testing.T, o *Options) {
			o.Store = cookieStore(t, sessions.Settings{Deployment: "https://rms.example.com", Secrets: secrets, MaxAge: time.Hour})
		}, []string{"Session"}},
		{"store of another deployment", func(t *testing.T, o *Options) {
			o.Session, o.Store = sessions.Settings{}, cookieStore(t, sessions.Settings{Deployment: "https://other.example.com", Secrets: secrets})
		}, []string{"Store"}},
		{"store with invalid settings", func(t *testing.T, o *Options) {
			o.Session, o.Store = sessions.Settings{}, settingsOnly{sessions.Settings{Deployment: "https://rms.example.com", MaxAge: -1}}
		}, []string{"Store", "Store"}},
		{"session of another deployment", func(t *testing.T, o *Options) {
			o.Session.Deployment = "https://other.example.com"
		}, []string{"Session.Deployment"}},
		{"session without secrets", func(t *testing.T, o *Options) { o.Session.Secrets = nil }, []string{"Session.Secrets"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := validOptions(t)
			tc.mod(t, &o)
			a, err := New(o)
			var got []string
			for _, fe := range optionerr.Fields(err) {
				got = append(got, fe.Field)
			}
			if a != nil || !slices.Equal(got, tc.fields) {
				t.Errorf("New = %v; want refused with field errors %q", err, tc.fields)
			}
		})
	}
}

// settingsOnly is a Store that has nothing but its settings, for Validate.
type settingsOnly struct{ st sessions.Settings }

func (s settingsOnly) Settings() sessions.Settings { return s.st }
func (settingsOnly) Put(context.Context, sessions.Session) (string, error) {
	return "", sessions.ErrNotSupported
}
func (settingsOnly) Get(context.Context, string) (sessions.Session, error) {
	return sessions.Session{}, sessions.ErrNotFound
}
func (settingsOnly) Delete(context.Context, string) error { return nil }
