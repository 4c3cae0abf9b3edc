//go:build e2e

package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/demo"
	"gopkg.in/yaml.v3"
)

// binDir holds the rezigate binary built for this run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rezigate-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// rezigateBinary builds the rezigate command once per run, as a user would
// (`go build` of the module's main package), and returns its path.
func rezigateBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		start := time.Now()
		goBin, err := goTool()
		if err != nil {
			buildErr = err
			return
		}
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		out := filepath.Join(binDir, "rezigate")
		cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "github.com/rezigate/rezigate")
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build github.com/rezigate/rezigate: %v\n%s", err, msg)
			return
		}
		buildPath = out
		t.Logf("built rezigate in %v", time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// demoParts are the Rezi stand-in and the demo RMS of internal/demo,
// served on loopback.
type demoParts struct {
	Rezi       *demo.Rezi
	ReziURL    string // base URL; the API is at ReziURL + "/v1"
	RMS        *demo.RMS
	RMSURL     string
	PrivateKey string
}

func startDemoParts(t *testing.T) *demoParts {
	t.Helper()
	p := &demoParts{PrivateKey: "rezi-e2e-" + randomHex(t, 24)}
	rezi, err := demo.NewRezi(demo.ReziOptions{
		PrivateKey: p.PrivateKey,
		// As the vendor does on a user's first call: the journey must
		// tolerate it.
		FirstCallDelay: 2 * time.Second,
		Logger:         slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatalf("demo.NewRezi: %v", err)
	}
	p.Rezi = rezi
	rs := httptest.NewServer(rezi)
	t.Cleanup(rs.Close)
	p.ReziURL = rs.URL
	p.RMS = demo.NewRMS()
	ms := httptest.NewServer(p.RMS)
	t.Cleanup(ms.Close)
	p.RMSURL = ms.URL
	return p
}

// rezigate is a running rezigate process.
type rezigate struct {
	URL       string // public_url
	Listen    string
	issuer    string
	uidSecret string
	proc      *process
}

// rezigateOptions are what differ between the tests' rezigate instances.
type rezigateOptions struct {
	Port      int    // listen on 127.0.0.1:Port
	PublicURL string // empty: http://127.0.0.1:Port
	Upstream  string // empty: no proxying (forward-auth only)
	// Config is laid over the generated configuration: a top-level key
	// whose both values are maps is merged key by key, any other replaces.
	Config map[string]any
	// Env are extra REZIGATE_* variables, e.g. signing keys.
	Env []string
	// SessionSecrets is REZIGATE_SESSION_SECRETS; empty means fresh ones,
	// so two instances given the same value open each other's cookies.
	SessionSecrets string
	// UIDSecret is REZIGATE_IDENTITY_UID_SECRET; empty means a fresh one.
	// Replicas of one deployment share it.
	UIDSecret string
}

// startRezigate writes a config for d and parts, starts the binary with
// its secrets in REZIGATE_* variables, and waits until /readyz is 200.
func startRezigate(t *testing.T, d *dex, parts *demoParts, o rezigateOptions) *rezigate {
	t.Helper()
	bin := rezigateBinary(t)
	rg := &rezigate{
		Listen:    "127.0.0.1:" + strconv.Itoa(o.Port),
		URL:       o.PublicURL,
		issuer:    d.Issuer,
		uidSecret: o.UIDSecret,
	}
	if rg.uidSecret == "" {
		rg.uidSecret = randomHex(t, 32)
	}
	if rg.URL == "" {
		rg.URL = "http://" + rg.Listen
	}
	cfg := map[string]any{
		"listen":     rg.Listen,
		"public_url": rg.URL,
		"upstream":   o.Upstream,
		"oidc": map[string]any{
			"issuer_url":             d.Issuer,
			"client_id":              d.ClientID,
			"scopes":                 []string{"openid", "email", "profile"},
			"allowed_email_domains":  []string{"example.com"},
			"require_email_verified": true,
		},
		"session": map[string]any{
			"cookie_name": "_rezigate",
			"max_age":     "1h",
			"secure":      false, // plain http on loopback
		},
		"rezi": map[string]any{
			"api_url":   parts.ReziURL + "/v1",
			"login_url": parts.RMSURL + "/login/",
			"timeout":   "10s",
		},
	}
	for k, v := range o.Config {
		over, ok1 := v.(map[string]any)
		base, ok2 := cfg[k].(map[string]any)
		if !ok1 || !ok2 {
			cfg[k] = v
			continue
		}
		for kk, vv := range over {
			base[kk] = vv
		}
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatalf("rezigate config: %v", err)
	}
	path := filepath.Join(t.TempDir(), "rezigate.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("rezigate config: %v", err)
	}
	sessionSecrets := o.SessionSecrets
	if sessionSecrets == "" {
		sessionSecrets = randomHex(t, 32) + "," + randomHex(t, 32)
	}
	env := append(baseEnv(),
		"REZIGATE_OIDC_CLIENT_SECRET="+d.ClientSecret,
		"REZIGATE_SESSION_SECRETS="+sessionSecrets,
		"REZIGATE_IDENTITY_UID_SECRET="+rg.uidSecret,
		"REZIGATE_REZI_PRIVATE_KEY="+parts.PrivateKey,
	)
	env = append(env, o.Env...)
	rg.proc = startProcess(t, "rezigate", bin, []string{"-config", path}, env)
	waitHTTP(t, rg.proc, "http://"+rg.Listen+"/readyz", http.StatusOK, 20*time.Second)
	return rg
}

// uid is the uid rezigate must derive for a Dex user, by the formula
// docs/configuration.md documents: hex(HMAC-SHA256(uid_secret, issuer_url + "|" + sub)).
func (rg *rezigate) uid(u dexUser) string {
	m := hmac.New(sha256.New, []byte(rg.uidSecret))
	m.Write([]byte(rg.issuer + "|" + dexSubject(u.UserID)))
	return hex.EncodeToString(m.Sum(nil))
}

// reziTokenClaims decodes the payload of a token the Rezi stand-in issued.
func reziTokenClaims(token string) (email, uid string, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", "", fmt.Errorf("token has %d parts; want 3", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", "", fmt.Errorf("token payload: %w", err)
	}
	var c struct {
		Email string `json:"email"`
		UID   string `json:"uid"`
		Iss   string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", "", fmt.Errorf("token payload: %w", err)
	}
	if c.Iss != "rezi-demo" {
		return "", "", fmt.Errorf("token iss = %q; want %q", c.Iss, "rezi-demo")
	}
	return c.Email, c.UID, nil
}
