//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	// refreshedLog is what rezigate logs when the provider renewed a session.
	refreshedLog = "session refreshed with the provider"
	// dexRefreshLog is what Dex logs (at debug level) on a refresh_token
	// grant.
	dexRefreshLog = "connector data before refresh"
)

// TestDexRefresh runs rezigate with session.store redis against a real
// redis-server and Dex, with sessions checked with the provider every 2 s:
// the sign-in asks Dex for offline_access, and once the interval has
// passed rezigate renews the session with Dex's refresh token grant and
// the session stays valid.
func TestDexRefresh(t *testing.T) {
	ports := freePorts(t, 3)
	dexPort, rgPort, redisPort := ports[0], ports[1], ports[2]
	rgURL := fmt.Sprintf("http://127.0.0.1:%d", rgPort)
	d := startDex(t, dexPort, rgURL+"/oauth2/callback")
	redis := startRedis(t, redisPort, randomHex(t, 24))
	parts := startDemoParts(t)
	rg := startRezigate(t, d, parts, rezigateOptions{
		Port:     rgPort,
		Upstream: parts.RMSURL,
		Config: map[string]any{
			"session": map[string]any{"store": "redis", "refresh_interval": "2s", "refresh_grace": "1h"},
		},
		Env: []string{"REZIGATE_REDIS_URL=" + redis.URL()},
	})

	jar := newJarClient(t, 20*time.Second)
	var authScopes []string
	jar.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return fmt.Errorf("stopped after %d redirects", len(via))
		}
		if req.URL.Path == "/dex/auth" && authScopes == nil {
			authScopes = strings.Fields(req.URL.Query().Get("scope"))
		}
		return nil
	}
	resp := dexFormLogin(t, jar, rgURL+"/oauth2/start?rd="+url.QueryEscape("/"), alice)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != rgURL+"/" {
		t.Fatalf("sign-in ended at %s with %s; want %s/ with 200\n%s", resp.Request.URL, resp.Status, rgURL, body)
	}
	if !slices.Contains(authScopes, "offline_access") {
		t.Fatalf("rezigate asked Dex for scopes %q; want offline_access among them", authScopes)
	}
	if strings.Contains(rg.proc.out.String(), refreshedLog) {
		t.Fatalf("rezigate logged %q before the refresh interval passed", refreshedLog)
	}

	userinfo := func(t *testing.T) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rgURL+"/oauth2/userinfo", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		resp, err := jar.Do(req)
		if err != nil {
			t.Fatalf("GET /oauth2/userinfo: %v", err)
		}
		return resp.StatusCode, readBody(t, resp)
	}
	checkAlice := func(t *testing.T, when string) {
		t.Helper()
		status, body := userinfo(t)
		if status != http.StatusOK {
			t.Fatalf("%s: GET /oauth2/userinfo = %d; want 200\n%s", when, status, body)
		}
		var v struct {
			Email string `json:"email"`
			UID   string `json:"uid"`
		}
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("%s: GET /oauth2/userinfo: %v\n%s", when, err, body)
		}
		if v.Email != alice.Email || v.UID != rg.uid(alice) {
			t.Fatalf("%s: /oauth2/userinfo names %q uid %q; want %q uid %q", when, v.Email, v.UID, alice.Email, rg.uid(alice))
		}
	}
	checkAlice(t, "after sign-in")

	// The session is due for its check 2 s after sign-in: poll until
	// rezigate has renewed it with Dex, bounded well past the interval.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(rg.proc.out.String(), refreshedLog) {
		if time.Now().After(deadline) {
			t.Fatalf("rezigate did not log %q within 30s of a 2s refresh interval", refreshedLog)
		}
		if status, body := userinfo(t); status != http.StatusOK {
			t.Fatalf("while waiting for the refresh: GET /oauth2/userinfo = %d; want 200\n%s", status, body)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if out := rg.proc.out.String(); strings.Contains(out, "refused to refresh") || strings.Contains(out, "session not refreshed") {
		t.Fatalf("rezigate logged a failed refresh:\n%s", out)
	}
	if !strings.Contains(d.proc.out.String(), dexRefreshLog) {
		t.Fatalf("rezigate logged %q, but Dex did not log %q: no refresh token grant reached Dex", refreshedLog, dexRefreshLog)
	}
	checkAlice(t, "after the refresh")
}
