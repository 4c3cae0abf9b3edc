package oidc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/rezigate/rezigate/internal/demo"
)

var (
	bob     = demo.User{Email: "bob@example.com", Password: "bob-pw", Subject: "bob"}
	mallory = demo.User{Email: "mallory@evil.com@example.com", Password: "mallory-pw", Subject: "mallory", EmailVerified: true}
)

// When the ID token has no email, Exchange reads email and email_verified
// from the userinfo endpoint, and only when userinfo is about the same
// subject.
func TestExchangeUserInfo(t *testing.T) {
	tests := []struct {
		name         string
		fault        demo.Fault
		user         demo.User
		wantErr      error
		wantVerified bool
	}{
		{"email only in userinfo", demo.FaultEmailOnlyInUserinfo, alice, nil, true},
		{"unverified only in userinfo", demo.FaultEmailOnlyInUserinfo, bob, nil, false},
		{"email_verified false in userinfo", demo.FaultUserinfoUnverified, alice, nil, false},
		{"email_verified as string true", demo.FaultUserinfoVerifiedString, alice, nil, true},
		{"email_verified as string false", demo.FaultUserinfoVerifiedString, bob, nil, false},
		{"userinfo names another subject", demo.FaultUserinfoOtherSubject, alice, ErrUserInfoSubject, false},
		{"no email anywhere", demo.FaultNoEmail, alice, ErrNoEmail, false},
		{"no userinfo endpoint", demo.FaultNoUserinfo, alice, ErrNoEmail, false},
		{"bad email only in userinfo", demo.FaultEmailOnlyInUserinfo, mallory, ErrBadEmail, false},
	}
	idp := startProviderWith(t, nil, alice, bob, mallory)
	shared := newProvider(t, idp.Issuer())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			idp.SetFault(tc.fault)
			defer idp.SetFault(demo.FaultNone)
			p := shared
			if tc.fault == demo.FaultNoUserinfo {
				p = newProvider(t, idp.Issuer()) // discovery changes with this fault
			}
			v := oauth2.GenerateVerifier()
			id, err := p.Exchange(context.Background(), codeFor(t, p, tc.user.Email, tc.user.Password, "n", v), v, "n")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Exchange = %+v, %v; want %v", id, err, tc.wantErr)
				}
				if id.Email != "" || id.EmailVerified || id.Subject != tc.user.Subject {
					t.Errorf("Exchange identity = %+v; want subject %q and no email", id, tc.user.Subject)
				}
				return
			}
			if err != nil {
				t.Fatalf("Exchange = %v; want nil error", err)
			}
			if id.SID == "" {
				t.Error("Exchange gave no SID; the demo provider sends one")
			}
			if id.IDToken == "" {
				t.Error("Exchange gave no IDToken; want the raw ID token, the id_token_hint of sign-out")
			}
			id.SID, id.IDToken = "", "" // fresh values at every sign-in
			want := Identity{Issuer: idp.Issuer(), Subject: tc.user.Subject, Email: tc.user.Email, EmailVerified: tc.wantVerified}
			if !reflect.DeepEqual(id, want) {
				t.Errorf("Exchange = %+v; want %+v", id, want)
			}
		})
	}
}

// An email in the ID token is used as it is: userinfo cannot replace a
// bad one, nor is it asked.
func TestExchangeIDTokenEmailWins(t *testing.T) {
	u := demo.User{Email: "Name <x@evil.com>@example.com", Password: "pw", Subject: "m", EmailVerified: true}
	idp := startProviderWith(t, nil, u)
	p := newProvider(t, idp.Issuer())
	v := oauth2.GenerateVerifier()
	_, err := p.Exchange(context.Background(), codeFor(t, p, u.Email, u.Password, "n", v), v, "n")
	if !errors.Is(err, ErrBadEmail) || strings.Contains(err.Error(), "evil") {
		t.Errorf("Exchange = %v; want ErrBadEmail without the claim", err)
	}
}

func TestUserInfoRequest(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		token   string
		wantErr string // "" means success
		want    userInfoClaims
	}{
		{"json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			io.WriteString(w, `{"sub":"s1","email":"a@example.com","email_verified":"true","name":"A"}`)
		}, "tok-7f3a9c", "", userInfoClaims{Subject: "s1", Email: "a@example.com", EmailVerified: "true"}},
		{"no content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil
			io.WriteString(w, `{"sub":"s1","email":"a@example.com","email_verified":true}`)
		}, "tok-7f3a9c", "", userInfoClaims{Subject: "s1", Email: "a@example.com", EmailVerified: true}},
		{"no access token", nil, "", "no access_token", userInfoClaims{}},
		{"unauthorized", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "token tok-secret rejected", http.StatusUnauthorized)
		}, "tok-secret", "provider answered 401", userInfoClaims{}},
		{"signed response", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/jwt")
			io.WriteString(w, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJzMSJ9.")
		}, "tok-7f3a9c", "application/jwt", userInfoClaims{}},
		{"not json", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<html>")
		}, "tok-7f3a9c", "not a JSON object", userInfoClaims{}},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"sub":"s1","name":"`+strings.Repeat("x", maxUserInfoBytes)+`"}`)
		}, "tok-7f3a9c", "larger than", userInfoClaims{}},
		{"other subject", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"sub":"s2","email":"a@example.com"}`)
		}, "tok-7f3a9c", ErrUserInfoSubject.Error(), userInfoClaims{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var gotAuth string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotAuth = r.Header.Get("Authorization")
				if r.Method != http.MethodGet {
					t.Errorf("userinfo method = %s; want GET", r.Method)
				}
				tc.handler(w, r)
			}))
			defer srv.Close()
			p := &Provider{client: srv.Client()}
			got, err := p.userInfo(context.Background(), srv.URL+"/userinfo", tc.token, "s1")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("userInfo = %+v, %v; want an error containing %q", got, err, tc.wantErr)
				}
				if tc.token != "" && strings.Contains(err.Error(), tc.token) {
					t.Errorf("userInfo error %q contains the access token", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("userInfo = %v; want nil error", err)
			}
			if gotAuth != "Bearer "+tc.token {
				t.Errorf("Authorization = %q; want %q", gotAuth, "Bearer "+tc.token)
			}
			if got != tc.want {
				t.Errorf("userInfo = %+v; want %+v", got, tc.want)
			}
		})
	}
}

func TestParseUserInfo(t *testing.T) {
	tests := []struct {
		body    string
		wantErr error // nil: success; errAny: any error
	}{
		{`{"sub":"s1"}`, nil},
		{`{"sub":"s1","email":42,"email_verified":"yes"}`, nil}, // judged later, not here
		{`{"sub":"s2"}`, ErrUserInfoSubject},
		{`{"sub":"S1"}`, ErrUserInfoSubject},
		{`{"sub":"s1 "}`, ErrUserInfoSubject},
		{`{"sub":""}`, ErrUserInfoSubject},
		{`{"sub":1}`, ErrUserInfoSubject},
		{`{"email":"a@example.com"}`, ErrUserInfoSubject},
		{`null`, ErrUserInfoSubject},
		{`{"sub":"s2","sub":"s1"}`, nil}, // encoding/json keeps the last
		{`[]`, errAny},
		{``, errAny},
		{`{"sub":"s1"`, errAny},
	}
	for _, tc := range tests {
		t.Run(tc.body, func(t *testing.T) {
			_, err := parseUserInfo([]byte(tc.body), "s1")
			switch {
			case tc.wantErr == nil && err != nil,
				tc.wantErr == errAny && err == nil,
				tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Errorf("parseUserInfo(%q) = %v; want %v", tc.body, err, tc.wantErr)
			}
		})
	}
}

var errAny = errors.New("any error")

// FuzzUserInfo checks that a userinfo body never panics the parser and is
// accepted only when its sub is exactly the ID token's.
func FuzzUserInfo(f *testing.F) {
	f.Add([]byte(`{"sub":"s1","email":"a@example.com","email_verified":true}`), "s1")
	f.Add([]byte(`{"sub":"s2"}`), "s1")
	f.Add([]byte(`{"sub":"s1","email_verified":"false"}`), "s1")
	f.Add([]byte(`null`), "")
	f.Fuzz(func(t *testing.T, body []byte, subject string) {
		c, err := parseUserInfo(body, subject)
		if err != nil {
			return
		}
		if sub, _ := c.Subject.(string); sub != subject || sub == "" {
			t.Fatalf("parseUserInfo(%q, %q) accepted sub %v", body, subject, c.Subject)
		}
		if e, ok := c.Email.(string); ok && validEmail(e) && strings.Count(e, "@") != 1 {
			t.Fatalf("email %q passed validEmail with more than one '@'", e)
		}
	})
}

// A userinfo_endpoint that would carry the access token over plain http
// off loopback is ignored, as if the provider had none.
func TestUserInfoEndpointMustBeHTTPS(t *testing.T) {
	var issuer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":%q,"token_endpoint":%q,"jwks_uri":%q,"userinfo_endpoint":"http://userinfo.example.com/userinfo","id_token_signing_alg_values_supported":["RS256"]}`,
			issuer, issuer+"/auth", issuer+"/token", issuer+"/keys")
	}))
	defer srv.Close()
	issuer = srv.URL
	p := newProvider(t, issuer)
	d := p.state.Load()
	if d == nil {
		t.Fatal("discovery failed")
	}
	if d.userInfo != "" {
		t.Errorf("userinfo endpoint = %q; want it ignored", d.userInfo)
	}
}

func TestEmailVerified(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want bool
	}{
		{true, true}, {"true", true},
		{false, false}, {"false", false}, {nil, false}, {"TRUE", false}, {"yes", false},
		{1.0, false}, {"1", false}, {map[string]any{}, false}, {[]any{true}, false},
	} {
		if got := emailVerified(tc.v); got != tc.want {
			t.Errorf("emailVerified(%#v) = %v; want %v", tc.v, got, tc.want)
		}
	}
}
