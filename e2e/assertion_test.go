//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/rezigate/rezigate/assertion"
)

// python3Path is Debian's interpreter, which sees Debian's python3-jwt and
// python3-cryptography (e2e/install.sh installs them); a python3 earlier
// on PATH, from pyenv or a virtualenv, would not.
const python3Path = "/usr/bin/python3"

// verifyScript is what an upstream written in Python does with PyJWT: take
// the key named by the token's kid from rezigate's JWK Set and check the
// signature (ES256 only), iss, aud, exp and iat. It prints the identity as
// JSON, or the name of PyJWT's exception and exits 3 when the token is
// refused; any other exit is a broken script or installation.
const verifyScript = `import json, sys
import jwt

jwks_url, issuer, audience = sys.argv[1:4]
token = sys.stdin.read().strip()
try:
    key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token).key
    claims = jwt.decode(token, key, algorithms=["ES256"], audience=audience, issuer=issuer,
                        options={"require": ["iss", "aud", "sub", "iat", "exp"]})
except jwt.PyJWTError as e:
    print(type(e).__name__)
    sys.exit(3)
print(json.dumps({"sub": claims["sub"], "email": claims["email"], "groups": claims["groups"]}))
`

// requirePyJWT fails the test unless Debian's python3 can import PyJWT with
// the cryptography backend that ES256 needs.
func requirePyJWT(t *testing.T) {
	t.Helper()
	requireFile(t, "python3", python3Path)
	out, err := exec.Command(python3Path, "-c", "import jwt, cryptography; print(jwt.__version__)").CombinedOutput()
	if err != nil {
		t.Fatalf("python3-jwt or python3-cryptography missing (%v): run e2e/install.sh\n%s", err, out)
	}
	t.Logf("PyJWT %s", bytes.TrimSpace(out))
}

// pyVerdict is what verifyScript said about one token.
type pyVerdict struct {
	ok     bool
	claims struct {
		Sub    string   `json:"sub"`
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
	}
	refusal string // PyJWT's exception name when !ok
}

// pyVerify runs verifyScript on token.
func pyVerify(t *testing.T, script, jwksURL, issuer, audience, token string) pyVerdict {
	t.Helper()
	ctx, cancel := withTimeout(t, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python3Path, script, jwksURL, issuer, audience)
	cmd.Env = baseEnv()
	cmd.Stdin = strings.NewReader(token)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var v pyVerdict
	var ee *exec.ExitError
	switch {
	case err == nil:
		if jerr := json.Unmarshal(stdout.Bytes(), &v.claims); jerr != nil {
			t.Fatalf("verify script printed %q: %v", stdout.String(), jerr)
		}
		v.ok = true
	case errors.As(err, &ee) && ee.ExitCode() == 3:
		v.refusal = strings.TrimSpace(stdout.String())
	default:
		t.Fatalf("verify script: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	return v
}

// upstreamRecord is what the recording upstream saw of one request.
type upstreamRecord struct {
	path   string
	header http.Header
}

// TestAssertionVerifiedByPyJWT runs rezigate with a policy and the signed
// identity assertion in front of an upstream that records what it gets,
// signs in through Dex, and checks the assertion the upstream received
// with PyJWT (Debian's python3-jwt) against the JWK Set rezigate serves,
// and with the Go assertion.Verifier. A tampered assertion, an expired one,
// one minted for another audience and one signed by a key rezigate does
// not publish are refused by both. A denied route never reaches the
// upstream, and client-sent assertion headers never reach it either.
func TestAssertionVerifiedByPyJWT(t *testing.T) {
	requirePyJWT(t)
	const audience = "rms-e2e"
	ports := freePorts(t, 2)
	dexPort, rgPort := ports[0], ports[1]
	rgURL := fmt.Sprintf("http://127.0.0.1:%d", rgPort)
	d := startDex(t, dexPort, rgURL+"/oauth2/callback")
	parts := startDemoParts(t)

	seen := make(chan upstreamRecord, 16)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case seen <- upstreamRecord{path: r.URL.Path, header: r.Header.Clone()}:
		default:
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "upstream %s\n", r.URL.Path)
	}))
	t.Cleanup(up.Close)
	nextRecord := func(t *testing.T, path string) upstreamRecord {
		t.Helper()
		select {
		case rec := <-seen:
			if rec.path != path {
				t.Fatalf("upstream got %s; want %s", rec.path, path)
			}
			return rec
		default:
			t.Fatalf("upstream never got %s", path)
			return upstreamRecord{}
		}
	}

	// The signing key comes from the environment, as in production, so the
	// test holds a key that rezigate publishes.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	rg := startRezigate(t, d, parts, rezigateOptions{
		Port:     rgPort,
		Upstream: up.URL,
		Config: map[string]any{
			"oidc": map[string]any{"scopes": []string{"openid", "email", "profile", "groups"}},
			"policy": map[string]any{
				"allow_groups": alice.Groups,
				"routes":       []map[string]any{{"path": "/admin/", "groups": []string{"rms-admins"}}},
			},
			"assertion": map[string]any{"header": assertion.DefaultHeader, "audience": audience, "lifetime": "5m"},
		},
		Env: []string{"REZIGATE_ASSERTION_SIGNING_KEYS=" + string(keyPEM)},
	})
	jwksURL := rg.URL + assertion.JWKSPath

	t.Run("JWKS is public and lists the configured key", func(t *testing.T) {
		resp, err := http.Get(jwksURL)
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "public, max-age=300" {
			t.Fatalf("GET %s = %s, Cache-Control %q; want 200, %q\n%s", jwksURL, resp.Status, resp.Header.Get("Cache-Control"), "public, max-age=300", body)
		}
		var set jose.JSONWebKeySet
		if err := json.Unmarshal([]byte(body), &set); err != nil {
			t.Fatalf("JWKS: %v\n%s", err, body)
		}
		if len(set.Keys) != 1 {
			t.Fatalf("JWKS has %d keys; want 1\n%s", len(set.Keys), body)
		}
		pub, ok := set.Keys[0].Key.(*ecdsa.PublicKey)
		if !ok || !pub.Equal(&key.PublicKey) || set.Keys[0].Algorithm != "ES256" || !set.Keys[0].IsPublic() {
			t.Errorf("JWKS key = %T alg %q; want the configured P-256 public key, alg ES256\n%s", set.Keys[0].Key, set.Keys[0].Algorithm, body)
		}
	})

	jar := newJarClient(t, 20*time.Second)
	uid := rg.uid(alice)
	var token string
	t.Run("sign in and reach the upstream with an assertion", func(t *testing.T) {
		// A client that is not a browser gets 401, not a redirect, so start
		// where a sign-in link would.
		resp := dexFormLogin(t, jar, rg.URL+"/oauth2/start?rd=%2Fwhoami", alice)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != rg.URL+"/whoami" {
			t.Fatalf("sign-in ended at %s with %s; want %s/whoami with 200\n%s", resp.Request.URL, resp.Status, rg.URL, body)
		}
		rec := nextRecord(t, "/whoami")
		vals := rec.header.Values(assertion.DefaultHeader)
		if len(vals) != 1 || vals[0] == "" {
			t.Fatalf("upstream got %s: %q; want one assertion", assertion.DefaultHeader, vals)
		}
		token = vals[0]
		if got, want := rec.header.Values("X-Forwarded-Groups"), strings.Join(alice.Groups, ","); len(got) != 1 || got[0] != want {
			t.Errorf("upstream got X-Forwarded-Groups: %q; want [%q]", got, want)
		}
	})
	if token == "" {
		t.FailNow()
	}

	// Tokens the upstream must refuse, all for the same user.
	claims := assertion.Claims{Subject: uid, Email: alice.Email, Groups: alice.Groups}
	sign := func(t *testing.T, k *ecdsa.PrivateKey, aud string, now func() time.Time) string {
		t.Helper()
		s, err := assertion.NewSigner(assertion.SignerOptions{Keys: []*ecdsa.PrivateKey{k}, Issuer: rg.URL, Audience: aud, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.Assertion(claims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// Signed an hour ago with the published key: genuine, but expired
	// 55 minutes ago (the default lifetime is 5m).
	expired := sign(t, key, audience, func() time.Time { return time.Now().Add(-time.Hour) })
	otherAudience := sign(t, key, "another-service", nil)
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	unpublished := sign(t, otherKey, audience, nil)
	tampered := tamperEmail(t, token, alice.Email, "blice"+alice.Email[len("alice"):])

	t.Run("client-sent assertions never reach the upstream", func(t *testing.T) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rg.URL+"/whoami", nil)
		if err != nil {
			t.Fatal(err)
		}
		// As given, not canonicalised: every spelling a back end might
		// fold into the header it reads.
		req.Header["X-Rezigate-Assertion"] = []string{expired, otherAudience}
		req.Header["x-rezigate-assertion"] = []string{unpublished}
		req.Header["X_Rezigate_Assertion"] = []string{tampered}
		resp, err := jar.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if body := readBody(t, resp); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /whoami = %s; want 200\n%s", resp.Status, body)
		}
		rec := nextRecord(t, "/whoami")
		var got []string
		for k, vs := range rec.header {
			if strings.ReplaceAll(strings.ToLower(k), "_", "-") == "x-rezigate-assertion" {
				got = append(got, vs...)
			}
		}
		if len(got) != 1 || slices.Contains([]string{expired, otherAudience, unpublished, tampered}, got[0]) {
			t.Fatalf("upstream got assertion headers %d, forged among them %v; want exactly rezigate's one", len(got), len(got) != 1 || got[0] != token)
		}
	})

	t.Run("denied route never reaches the upstream", func(t *testing.T) {
		// Each spelling normalises to a path under /admin/.
		for _, path := range []string{"/admin/", "/admin", "/admin/reports?x=1", "//admin/x", "/x/../admin/", "/%61dmin/"} {
			t.Run(path, func(t *testing.T) {
				resp, err := jar.Get(rg.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				body := readBody(t, resp)
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("GET %s = %s; want 403\n%s", path, resp.Status, body)
				}
				select {
				case rec := <-seen:
					t.Errorf("GET %s reached the upstream as %s", path, rec.path)
				default:
				}
			})
		}
	})

	script := filepath.Join(t.TempDir(), "verify_assertion.py")
	if err := os.WriteFile(script, []byte(verifyScript), 0o600); err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name, token string
		pyErr       string // PyJWT's exception
		goErr       error  // what assertion.Verifier's error matches
	}{
		{"tampered email", tampered, "InvalidSignatureError", assertion.ErrInvalid},
		{"expired", expired, "ExpiredSignatureError", assertion.ErrExpired},
		{"another audience", otherAudience, "InvalidAudienceError", assertion.ErrInvalid},
		{"unpublished key", unpublished, "PyJWKClientError", assertion.ErrUnknownKey},
	}

	t.Run("PyJWT", func(t *testing.T) {
		t.Run("accepts the upstream's assertion", func(t *testing.T) {
			v := pyVerify(t, script, jwksURL, rg.URL, audience, token)
			if !v.ok {
				t.Fatalf("PyJWT refused rezigate's assertion: %s", v.refusal)
			}
			if v.claims.Sub != uid || v.claims.Email != alice.Email || !slices.Equal(v.claims.Groups, alice.Groups) {
				t.Errorf("PyJWT verified sub %q, email %q, groups %q; want %q, %q, %q",
					v.claims.Sub, v.claims.Email, v.claims.Groups, uid, alice.Email, alice.Groups)
			}
		})
		for _, tc := range refused {
			t.Run("refuses "+tc.name, func(t *testing.T) {
				if v := pyVerify(t, script, jwksURL, rg.URL, audience, tc.token); v.ok || v.refusal != tc.pyErr {
					t.Errorf("PyJWT: ok %v, refusal %q; want refused with %s", v.ok, v.refusal, tc.pyErr)
				}
			})
		}
		t.Run("refuses it when expecting another audience", func(t *testing.T) {
			if v := pyVerify(t, script, jwksURL, rg.URL, "another-service", token); v.ok || v.refusal != "InvalidAudienceError" {
				t.Errorf("PyJWT: ok %v, refusal %q; want refused with InvalidAudienceError", v.ok, v.refusal)
			}
		})
	})

	t.Run("Go verifier", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		v, err := assertion.NewVerifier(ctx, assertion.VerifierOptions{JWKSURL: jwksURL, Issuer: rg.URL, Audience: audience})
		if err != nil {
			t.Fatalf("NewVerifier: %v", err)
		}
		got, err := v.Verify(ctx, token)
		if err != nil {
			t.Fatalf("Verify(rezigate's assertion) = %v", err)
		}
		if got.Subject != uid || got.Email != alice.Email || !slices.Equal(got.Groups, alice.Groups) {
			t.Errorf("Verify = sub %q, email %q, groups %q; want %q, %q, %q", got.Subject, got.Email, got.Groups, uid, alice.Email, alice.Groups)
		}
		if life := got.Expiry.Sub(got.IssuedAt); life != 5*time.Minute {
			t.Errorf("assertion lifetime = %v; want 5m (assertion.lifetime)", life)
		}
		for _, tc := range refused {
			t.Run("refuses "+tc.name, func(t *testing.T) {
				if _, err := v.Verify(ctx, tc.token); !errors.Is(err, tc.goErr) {
					t.Errorf("Verify = %v; want an error matching %v", err, tc.goErr)
				}
			})
		}
	})
}

// tamperEmail changes one claim of a compact JWS, as a forger would: the
// email from → to, one letter apart, in a payload that still decodes as
// JSON (PyJWKClient parses it before any signature is checked), with the
// original signature.
func tamperEmail(t *testing.T, token, from, to string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion is not a compact JWS: %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("assertion payload: %v", err)
	}
	changed := bytes.Replace(payload, []byte(`"`+from+`"`), []byte(`"`+to+`"`), 1)
	if bytes.Equal(changed, payload) || !json.Valid(changed) {
		t.Fatalf("assertion payload names no email %q", from)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(changed)
	return strings.Join(parts, ".")
}
