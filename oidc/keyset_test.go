package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// keysProvider is an OpenID provider with nothing but discovery and a JWK
// Set, which counts how often it is fetched.
type keysProvider struct {
	srv     *httptest.Server
	fetches atomic.Int64
	mu      sync.Mutex
	keys    []jose.JSONWebKey // private keys; the JWKS serves their public halves
}

func newKeysProvider(t *testing.T) *keysProvider {
	t.Helper()
	kp := &keysProvider{}
	kp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			iss := kp.srv.URL
			_ = json.NewEncoder(w).Encode(map[string]any{
				"issuer": iss, "authorization_endpoint": iss + "/auth", "token_endpoint": iss + "/token",
				"jwks_uri": iss + "/keys", "id_token_signing_alg_values_supported": []string{"ES256"},
			})
		case "/keys":
			kp.fetches.Add(1)
			kp.mu.Lock()
			var set jose.JSONWebKeySet
			for _, k := range kp.keys {
				set.Keys = append(set.Keys, k.Public())
			}
			kp.mu.Unlock()
			_ = json.NewEncoder(w).Encode(set)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(kp.srv.Close)
	kp.addKey(t, "key-1")
	return kp
}

// addKey publishes a new key with kid and returns it.
func (kp *keysProvider) addKey(t *testing.T, kid string) jose.JSONWebKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k := jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"}
	kp.mu.Lock()
	kp.keys = append(kp.keys, k)
	kp.mu.Unlock()
	return k
}

// logoutToken returns a logout token for sub whose claims are all valid,
// signed by key under kid (which need not be key's own).
func (kp *keysProvider) logoutToken(t *testing.T, key jose.JSONWebKey, kid string) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key.Key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	raw, err := jwt.Signed(sig).Claims(map[string]any{
		"iss": kp.srv.URL, "aud": "rezigate", "sub": "alice", "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti":    NewState(),
		"events": map[string]any{BackchannelLogoutEvent: map[string]any{}},
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestKeyFetchesBounded: 100 logout tokens naming unknown kids, as anyone
// can post to the back-channel endpoint, cost the provider no JWKS fetch
// beyond the one a verification made just before, and neither do tokens
// forged under the known kid, while tokens signed by a known key keep
// verifying. A key the provider rotates in is picked up
// once MinKeyRefetchInterval has passed since the last fetch. The clock
// is the limiter's; nothing sleeps.
func TestKeyFetchesBounded(t *testing.T) {
	kp := newKeysProvider(t)
	p := newProvider(t, kp.srv.URL)
	var clock atomic.Int64 // offset from the start
	start := time.Now()
	p.keys.now = func() time.Time { return start.Add(time.Duration(clock.Load())) }
	ctx := context.Background()
	known := kp.keys[0]
	roguePriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rogue := jose.JSONWebKey{Key: roguePriv}

	if _, err := p.VerifyLogoutToken(ctx, kp.logoutToken(t, known, known.KeyID)); err != nil {
		t.Fatalf("VerifyLogoutToken(known key) = %v", err)
	}
	if n := kp.fetches.Load(); n != 1 {
		t.Fatalf("first verification: %d JWKS fetches; want 1", n)
	}

	tests := []struct {
		name       string
		tokens     int
		kid        func(i int) string // nil: the known key's kid
		advance    time.Duration      // moved before the tokens
		forged     bool               // signed by a key the provider never published
		wantOK     bool
		maxFetches int64 // in total, from the start
	}{
		{"unknown kids in the same window", 100, func(int) string { return NewState() }, 0, false, false, 1},
		{"known kid meanwhile", 5, nil, 0, false, true, 1},
		{"known kid, forged signature", 100, nil, 0, true, false, 1},
		{"unknown kids in the next window", 100, func(int) string { return NewState() }, MinKeyRefetchInterval, false, false, 2},
		{"known kid still verifies", 5, nil, time.Second, false, true, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.Add(int64(tc.advance))
			for i := range tc.tokens {
				kid := known.KeyID
				if tc.kid != nil {
					kid = tc.kid(i)
				}
				key := known
				if tc.forged {
					key = rogue
				}
				_, err := p.VerifyLogoutToken(ctx, kp.logoutToken(t, key, kid))
				if (err == nil) != tc.wantOK {
					t.Fatalf("token %d (kid %s): VerifyLogoutToken = %v; want ok %v", i, kid, err, tc.wantOK)
				}
				if err != nil && !errors.Is(err, ErrBadLogoutToken) {
					t.Fatalf("token %d: err = %v; want ErrBadLogoutToken", i, err)
				}
			}
			if n := kp.fetches.Load(); n > tc.maxFetches {
				t.Errorf("%d JWKS fetches in total; want at most %d", n, tc.maxFetches)
			}
		})
	}

	t.Run("rotation picked up after the interval", func(t *testing.T) {
		before := kp.fetches.Load()
		clock.Add(int64(MinKeyRefetchInterval)) // one refetch allowed again
		rotated := kp.addKey(t, "key-2")
		if err := verifyOwnFetch(t, p, kp.logoutToken(t, rotated, rotated.KeyID)); err != nil {
			t.Fatalf("VerifyLogoutToken(rotated key) = %v", err)
		}
		if n := kp.fetches.Load() - before; n != 1 {
			t.Errorf("%d JWKS fetches for a rotated key; want 1", n)
		}
		clock.Add(int64(time.Second))
		newer := kp.addKey(t, "key-3")
		if _, err := p.VerifyLogoutToken(ctx, kp.logoutToken(t, newer, newer.KeyID)); err == nil {
			t.Errorf("a key rotated in 1s after the last fetch verified at once; want it refused until the interval passes")
		}
		clock.Add(int64(MinKeyRefetchInterval))
		if err := verifyOwnFetch(t, p, kp.logoutToken(t, newer, newer.KeyID)); err != nil {
			t.Errorf("VerifyLogoutToken(key rotated in, after the interval) = %v", err)
		}
	})
}

// verifyOwnFetch verifies a logout token signed by a key p does not hold
// yet, by a call that makes a fetch attempt of its own. go-oidc shares one
// in-flight fetch between callers and forgets it only after handing its
// result out, so a call made just after a refused fetch can be handed
// that refusal without asking again; such a call is repeated, a bounded
// number of times. Nothing here depends on time: a call either asked the
// limiter (and its answer is final) or did not.
func verifyOwnFetch(t *testing.T, p *Provider, token string) error {
	t.Helper()
	for range 100000 {
		before := p.keys.attempts.Load()
		_, err := p.VerifyLogoutToken(context.Background(), token)
		if err == nil || p.keys.attempts.Load() != before {
			return err
		}
		runtime.Gosched()
	}
	t.Fatal("every verification shared an earlier refused fetch")
	return nil
}
