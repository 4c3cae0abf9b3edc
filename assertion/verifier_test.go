package assertion

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestVerifierOptionsValidate(t *testing.T) {
	valid := VerifierOptions{JWKSURL: "https://gate.example.com" + JWKSPath, Issuer: testIssuer, Audience: testAudience}
	tests := []struct {
		name string
		mod  func(*VerifierOptions)
		want []string
	}{
		{"valid", func(*VerifierOptions) {}, nil},
		{"loopback http", func(o *VerifierOptions) { o.JWKSURL = "http://127.0.0.1:4180" + JWKSPath }, nil},
		{"localhost http", func(o *VerifierOptions) { o.JWKSURL = "http://localhost:4180" + JWKSPath }, nil},
		{"limits", func(o *VerifierOptions) { o.Leeway, o.RefreshInterval = MaxLeeway, MinRefetchInterval }, nil},
		{"no URL", func(o *VerifierOptions) { o.JWKSURL = "" }, []string{"assertion: JWKSURL: required"}},
		{"public http", func(o *VerifierOptions) { o.JWKSURL = "http://gate.example.com" + JWKSPath }, []string{"assertion: JWKSURL: must be an absolute https URL (http only for a loopback host)"}},
		{"lookalike loopback", func(o *VerifierOptions) { o.JWKSURL = "http://127.0.0.1.example.com/" }, []string{"assertion: JWKSURL: must be an absolute https URL (http only for a loopback host)"}},
		{"user info", func(o *VerifierOptions) { o.JWKSURL = "https://u:p@gate.example.com/" }, []string{"assertion: JWKSURL: must not contain a user name or password"}},
		{"query", func(o *VerifierOptions) { o.JWKSURL = "https://gate.example.com/?k=1" }, []string{"assertion: JWKSURL: must not have a query or fragment"}},
		// The rule is package httpurl's; this copy once checked u.Host only.
		{"port without host name", func(o *VerifierOptions) { o.JWKSURL = "https://:443" + JWKSPath }, []string{"assertion: JWKSURL: must be an absolute https URL (http only for a loopback host)"}},
		{"relative", func(o *VerifierOptions) { o.JWKSURL = JWKSPath }, []string{"assertion: JWKSURL: must be an absolute https URL (http only for a loopback host)"}},
		{"no issuer", func(o *VerifierOptions) { o.Issuer = "" }, []string{"assertion: Issuer: required"}},
		{"no audience", func(o *VerifierOptions) { o.Audience = "" }, []string{"assertion: Audience: required"}},
		{"negative leeway", func(o *VerifierOptions) { o.Leeway = -1 }, []string{"assertion: Leeway: must not be negative"}},
		{"large leeway", func(o *VerifierOptions) { o.Leeway = MaxLeeway + 1 }, []string{"assertion: Leeway: must be at most 5m"}},
		{"negative refresh", func(o *VerifierOptions) { o.RefreshInterval = -1 }, []string{"assertion: RefreshInterval: must be zero (5m) or at least 10s"}},
		{"tiny refresh", func(o *VerifierOptions) { o.RefreshInterval = time.Second }, []string{"assertion: RefreshInterval: must be zero (5m) or at least 10s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := valid
			tc.mod(&o)
			var got []string
			if err := o.Validate(); err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Validate() = %q; want %q", got, tc.want)
			}
		})
	}
}

// alter re-encodes part i (0 header, 1 payload) of tok after mod changed
// it, keeping the other parts.
func alter(t testing.TB, tok string, i int, mod func(map[string]any)) string {
	t.Helper()
	m := decodePart(t, tok, i)
	mod(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	parts[i] = b64(b)
	return strings.Join(parts, ".")
}

// hs256 builds an HS256 token by hand, keyed with key.
func hs256(header, claims map[string]any, key []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := b64(h) + "." + b64(c)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(in))
	return in + "." + b64(mac.Sum(nil))
}

func unsigned(header, claims map[string]any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return b64(h) + "." + b64(c) + "."
}

func TestVerify(t *testing.T) {
	key := newKey(t)
	kid := kidOf(t, key)
	clk := newClock()
	s := newSigner(t, clk.Now, key)
	srv := newJWKSServer(t, s.JWKS())
	verifierClock := newClock()
	v := newVerifier(t, srv.url(), verifierClock.Now)

	claims := Claims{Subject: "uid-1", Email: "alice@example.com", Groups: []string{"staff", "hr"}}
	good, err := s.Assertion(claims)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	sig := unb64(t, parts[2])
	sig[10] ^= 1
	badSig := parts[0] + "." + parts[1] + "." + b64(sig)
	pubBytes, _ := key.PublicKey.Bytes()
	now := t0

	tests := []struct {
		name    string
		token   string
		skew    time.Duration // verifier clock minus signer clock
		wantErr error         // nil means valid
	}{
		{"round trip", good, 0, nil},
		{"within leeway after exp", good, DefaultLifetime + 29*time.Second, nil},
		{"expired", good, DefaultLifetime + 30*time.Second, ErrExpired},
		{"long expired", good, time.Hour, ErrExpired},
		{"iat within leeway in the future", good, -30 * time.Second, nil},
		{"iat in the future", good, -31 * time.Second, ErrInvalid},
		{"tampered payload", alter(t, good, 1, func(m map[string]any) { m["sub"] = "uid-2" }), 0, ErrInvalid},
		{"tampered groups", alter(t, good, 1, func(m map[string]any) { m["groups"] = []string{"admin"} }), 0, ErrInvalid},
		{"tampered header", alter(t, good, 0, func(m map[string]any) { m["x"] = 1 }), 0, ErrInvalid},
		{"tampered signature", badSig, 0, ErrInvalid},
		{"signature removed", parts[0] + "." + parts[1] + ".", 0, ErrInvalid},
		{"alg none", unsigned(map[string]any{"alg": "none", "typ": "JWT", "kid": kid}, validClaims(now)), 0, ErrInvalid},
		{"alg none, original payload", alter(t, good, 0, func(m map[string]any) { m["alg"] = "none" }), 0, ErrInvalid},
		{"HS256 keyed with the public key", hs256(map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}, validClaims(now), pubBytes), 0, ErrInvalid},
		{"HS256 keyed with the JWKS", hs256(map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}, validClaims(now), s.JWKS()), 0, ErrInvalid},
		{"RS256 header", alter(t, good, 0, func(m map[string]any) { m["alg"] = "RS256" }), 0, ErrInvalid},
		{"ES384 header", alter(t, good, 0, func(m map[string]any) { m["alg"] = "ES384" }), 0, ErrInvalid},
		{"wrong audience", signRaw(t, key, kid, "JWT", with(validClaims(now), "aud", "other")), 0, ErrInvalid},
		{"audience list with ours", signRaw(t, key, kid, "JWT", with(validClaims(now), "aud", []string{"other", testAudience})), 0, nil},
		{"no audience", signRaw(t, key, kid, "JWT", without(validClaims(now), "aud")), 0, ErrInvalid},
		{"wrong issuer", signRaw(t, key, kid, "JWT", with(validClaims(now), "iss", testIssuer+"/")), 0, ErrInvalid},
		{"no subject", signRaw(t, key, kid, "JWT", without(validClaims(now), "sub")), 0, ErrInvalid},
		{"no iat", signRaw(t, key, kid, "JWT", without(validClaims(now), "iat")), 0, ErrInvalid},
		{"no exp", signRaw(t, key, kid, "JWT", without(validClaims(now), "exp")), 0, ErrInvalid},
		{"exp before iat", signRaw(t, key, kid, "JWT", with(validClaims(now), "exp", now.Add(-time.Second).Unix())), 0, ErrInvalid},
		{"lifetime over the maximum", signRaw(t, key, kid, "JWT", with(validClaims(now), "exp", now.Add(MaxLifetime+time.Second).Unix())), 0, ErrInvalid},
		{"nbf in the future", signRaw(t, key, kid, "JWT", with(validClaims(now), "nbf", now.Add(time.Minute).Unix())), 0, ErrInvalid},
		{"groups not an array", signRaw(t, key, kid, "JWT", with(validClaims(now), "groups", "admin")), 0, ErrInvalid},
		{"no kid", signRaw(t, key, "", "JWT", validClaims(now)), 0, ErrInvalid},
		{"no typ", signRaw(t, key, kid, "", validClaims(now)), 0, ErrInvalid},
		{"other typ", signRaw(t, key, kid, "at+jwt", validClaims(now)), 0, ErrInvalid},
		{"empty", "", 0, ErrInvalid},
		{"garbage", "not.a.token", 0, ErrInvalid},
		{"too long", good + strings.Repeat("A", maxTokenLen), 0, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			verifierClock.Set(t0.Add(tc.skew))
			got, err := v.Verify(context.Background(), tc.token)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify(%s) = %v; want valid", tc.name, err)
				}
				if got.Subject != "uid-1" || got.Email != "alice@example.com" || !got.IssuedAt.Equal(t0) || !got.Expiry.Equal(t0.Add(DefaultLifetime)) {
					t.Errorf("Verify(%s) = %+v; want uid-1, alice@example.com, iat %v, exp +5m", tc.name, got, t0)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Verify(%s) = %+v, %v; want %v", tc.name, got, err, tc.wantErr)
			}
			if got.Subject != "" {
				t.Errorf("Verify(%s) returned claims %+v with an error", tc.name, got)
			}
			for _, p := range strings.Split(tc.token, ".") {
				if len(p) >= 8 && strings.Contains(err.Error(), p) {
					t.Errorf("Verify(%s) error %q contains the token", tc.name, err)
				}
			}
		})
	}
	// The round trip keeps the claims exactly.
	verifierClock.Set(t0)
	got, err := v.Verify(context.Background(), good)
	if err != nil || !slices.Equal(got.Groups, claims.Groups) {
		t.Errorf("Verify(good).Groups = %q, %v; want %q", got.Groups, err, claims.Groups)
	}
	// Expired is also reported as ErrInvalid but not the other way round.
	if errors.Is(ErrInvalid, ErrExpired) || errors.Is(ErrInvalid, ErrUnknownKey) {
		t.Errorf("ErrInvalid matches a more specific error")
	}
}

func with(m map[string]any, k string, v any) map[string]any { m[k] = v; return m }

func without(m map[string]any, k string) map[string]any { delete(m, k); return m }

func TestVerifyEmptyGroups(t *testing.T) {
	clk := newClock()
	s := newSigner(t, clk.Now, newKey(t))
	v := newVerifier(t, newJWKSServer(t, s.JWKS()).url(), clk.Now)
	tok, _ := s.Assertion(Claims{Subject: "u", Email: "e@example.com"})
	got, err := v.Verify(context.Background(), tok)
	if err != nil || got.Groups != nil || got.Subject != "u" || got.Email != "e@example.com" {
		t.Errorf("Verify() = %+v, %v; want u, e@example.com, nil groups", got, err)
	}
}

func TestVerifyUnknownKidRefetch(t *testing.T) {
	clk := newClock()
	s := newSigner(t, clk.Now, newKey(t))
	srv := newJWKSServer(t, s.JWKS())
	v := newVerifier(t, srv.url(), clk.Now)
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("NewVerifier fetched %d times; want 1", n)
	}
	stranger := newSigner(t, clk.Now, newKey(t)) // its key is not published
	tok, _ := stranger.Assertion(Claims{Subject: "u"})

	steps := []struct {
		name     string
		advance  time.Duration
		wantHits int32
	}{
		{"within 10s of the first fetch: no fetch", 9 * time.Second, 1},
		{"10s after it: fetches again", time.Second, 2},
		{"9s later: no fetch", 9 * time.Second, 2},
		{"10s later: fetches again", time.Second, 3},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clk.Add(st.advance)
			_, err := v.Verify(context.Background(), tok)
			if !errors.Is(err, ErrUnknownKey) || !errors.Is(err, ErrInvalid) {
				t.Errorf("Verify(unknown kid) = %v; want ErrUnknownKey", err)
			}
			if n := srv.hits.Load(); n != st.wantHits {
				t.Errorf("JWKS fetched %d times; want %d", n, st.wantHits)
			}
		})
	}
}

func TestVerifyUnknownKidFlood(t *testing.T) {
	clk := newClock()
	s := newSigner(t, clk.Now, newKey(t))
	srv := newJWKSServer(t, s.JWKS())
	v := newVerifier(t, srv.url(), clk.Now)
	const n = 50
	toks := make([]string, n)
	for i := range toks {
		toks[i], _ = newSigner(t, clk.Now, newKey(t)).Assertion(Claims{Subject: "u"})
	}
	clk.Add(MinRefetchInterval)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = v.Verify(context.Background(), toks[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrUnknownKey) {
			t.Errorf("Verify(stranger %d) = %v; want ErrUnknownKey", i, err)
		}
	}
	if got := srv.hits.Load(); got != 2 {
		t.Errorf("%d unknown kids caused %d JWKS fetches (with the first); want 2", n, got)
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := newKey(t), newKey(t)
	clk := newClock()
	before := newSigner(t, clk.Now, oldKey)
	srv := newJWKSServer(t, before.JWKS())
	v := newVerifier(t, srv.url(), clk.Now, func(o *VerifierOptions) { o.RefreshInterval = time.Minute })
	oldTok, _ := before.Assertion(Claims{Subject: "u"})

	// Rotate: the new key signs, the old one is still published.
	during := newSigner(t, clk.Now, newKey, oldKey)
	srv.set(during.JWKS())
	clk.Add(10 * time.Second)
	newTok, _ := during.Assertion(Claims{Subject: "u"})
	if kid := decodePart(t, newTok, 0)["kid"]; kid != kidOf(t, newKey) {
		t.Fatalf("after rotation kid = %v; want the new key's", kid)
	}
	for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Errorf("during rotation: Verify(%s token) = %v; want valid", name, err)
		}
	}

	// Drop the old key; once the verifier refreshes, old tokens fail even
	// though they have not expired.
	after := newSigner(t, clk.Now, newKey)
	srv.set(after.JWKS())
	clk.Add(time.Minute)
	if _, err := v.Verify(context.Background(), newTok); err != nil {
		t.Errorf("after rotation: Verify(new token) = %v; want valid", err)
	}
	if _, err := v.Verify(context.Background(), oldTok); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("after rotation: Verify(old token) = %v; want ErrUnknownKey", err)
	}
	if clk.Now().After(t0.Add(DefaultLifetime)) {
		t.Fatal("test bug: the old token expired; the refusal would not prove the key was dropped")
	}
}

func TestVerifyRefreshFailureKeepsKeys(t *testing.T) {
	clk := newClock()
	s := newSigner(t, clk.Now, newKey(t))
	srv := newJWKSServer(t, s.JWKS())
	v := newVerifier(t, srv.url(), clk.Now, func(o *VerifierOptions) { o.RefreshInterval = time.Minute })
	srv.status.Store(http.StatusInternalServerError)
	clk.Add(2 * time.Minute)
	tok, _ := s.Assertion(Claims{Subject: "u"})
	for i := range 3 {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Errorf("Verify #%d with the JWKS URL down = %v; want valid with the cached keys", i, err)
		}
	}
	if got := srv.hits.Load(); got != 2 {
		t.Errorf("JWKS fetched %d times; want 2 (start, then one rate-limited refresh)", got)
	}
}

func TestNewVerifierFetchErrors(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	pub, _ := p384.PublicKey.Bytes() // 0x04 || X || Y, 48 bytes each
	p384Set, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{
		"kty": "EC", "crv": "P-384", "kid": "k", "x": b64(pub[1:49]), "y": b64(pub[49:]),
	}}})
	k := newKey(t)
	good := newSigner(t, nil, k).JWKS()
	withPrivate := func() []byte {
		d, _ := k.Bytes()
		var set map[string][]map[string]any
		_ = json.Unmarshal(good, &set)
		set["keys"][0]["d"] = b64(d)
		b, _ := json.Marshal(set)
		return b
	}()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr string
	}{
		{"status 500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, "status 500"},
		{"redirect not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://example.com/", http.StatusFound)
		}, "status 302"},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>")) }, "not a JWK Set"},
		{"no keys", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"keys":[]}`)) }, "no EC P-256 signing key"},
		{"P-384 only", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(p384Set) }, "no EC P-256 signing key"},
		{"private key published", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(withPrivate) }, "no EC P-256 signing key"},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"keys":[],"x":"` + strings.Repeat("a", maxJWKSBytes) + `"}`))
		}, "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			v, err := NewVerifier(context.Background(), VerifierOptions{JWKSURL: srv.URL + JWKSPath, Issuer: testIssuer, Audience: testAudience})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "assertion: fetch JWK Set: ") {
				t.Errorf("NewVerifier() = %v, %v; want error containing %q", v, err, tc.wantErr)
			}
		})
	}
	if _, err := NewVerifier(context.Background(), VerifierOptions{}); err == nil {
		t.Errorf("NewVerifier(zero options) = nil error; want the Validate problems")
	}
}

func TestParseJWKSSkipsUnusableKeys(t *testing.T) {
	good, other := newKey(t), newKey(t)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	_ = json.Unmarshal(newSigner(t, nil, good, other).JWKS(), &set)
	mk := func(mod func(map[string]any)) map[string]any {
		m := map[string]any{}
		for k, v := range set.Keys[1] {
			m[k] = v
		}
		mod(m)
		return m
	}
	body, _ := json.Marshal(map[string]any{"keys": []any{
		mk(func(m map[string]any) { m["kid"] = "rs"; m["alg"] = "RS256" }),
		mk(func(m map[string]any) { m["kid"] = "enc"; m["use"] = "enc" }),
		mk(func(m map[string]any) { delete(m, "kid") }),
		mk(func(m map[string]any) { m["kid"] = "off-curve"; m["y"] = m["x"] }),
		map[string]any{"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
		map[string]any{"kty": "nonsense"},
		set.Keys[0],
		mk(func(m map[string]any) { m["kid"] = set.Keys[0]["kid"] }), // duplicate kid: the first wins
	}})
	keys, err := parseJWKS(body)
	if err != nil {
		t.Fatalf("parseJWKS() = %v", err)
	}
	kid := set.Keys[0]["kid"].(string)
	if len(keys) != 1 || keys[kid] == nil || !keys[kid].Equal(&good.PublicKey) {
		t.Errorf("parseJWKS() kept %d keys; want only %s, the first key", len(keys), kid)
	}
}

func TestVerifyContextCanceledWhileWaiting(t *testing.T) {
	clk := newClock()
	s := newSigner(t, clk.Now, newKey(t))
	v := newVerifier(t, newJWKSServer(t, s.JWKS()).url(), clk.Now)
	v.fetching <- struct{}{} // a fetch is in progress
	defer func() { <-v.fetching }()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tok, _ := newSigner(t, clk.Now, newKey(t)).Assertion(Claims{Subject: "u"})
	if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrUnknownKey) || !errors.Is(err, context.Canceled) {
		t.Errorf("Verify(canceled, unknown kid) = %v; want ErrUnknownKey and context.Canceled", err)
	}
	// A known kid does not wait for the fetch.
	good, _ := s.Assertion(Claims{Subject: "u"})
	if _, err := v.Verify(ctx, good); err != nil {
		t.Errorf("Verify(known kid) during a fetch = %v; want valid", err)
	}
}
