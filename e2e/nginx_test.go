//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"
)

// nginxConf is nginx in front of the RMS, asking rezigate about every
// request with auth_request, as docs/forward-auth.md shows.
var nginxConf = template.Must(template.New("nginx.conf").Parse(`# written by startForwardAuthNginx
daemon off;
# One process as the invoking user: no worker switches to "nobody", which
# could not read the test's private temp directory.
master_process off;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log info;

events {
    worker_connections 64;
}

http {
    access_log {{.Dir}}/access.log;
    client_body_temp_path {{.Dir}}/client_body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;

    server {
        listen {{.Listen}};

        location = /nginx-health {
            return 204;
        }

        # Sign-in, callback, sign-out and the auth check itself.
        location /oauth2/ {
            proxy_pass {{.Rezigate}};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
        }

        location = /oauth2/auth {
            proxy_pass {{.Rezigate}};
            proxy_set_header Host $host;
            # What the policy judges; rezigate believes them only from
            # trusted_proxies. The subrequest itself is always a GET.
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
        }

        location / {
            auth_request /oauth2/auth;
            auth_request_set $email $upstream_http_x_auth_request_email;
            auth_request_set $user  $upstream_http_x_auth_request_user;
            auth_request_set $groups $upstream_http_x_auth_request_groups;
            # proxy_set_header replaces any client-sent header of the same
            # name (any case); nginx drops headers with "_" by default.
            proxy_set_header X-Forwarded-Email $email;
            proxy_set_header X-Forwarded-User  $user;
            proxy_set_header X-Forwarded-Groups $groups;
            error_page 401 = @signin;
            proxy_pass {{.Upstream}};
        }

        location @signin {
            return 302 /oauth2/start?rd=$request_uri;
        }
    }
}
`))

// startForwardAuthNginx starts nginx with nginxConf on 127.0.0.1:port,
// asking the rezigate at rezigateAddr (host:port) about every request and
// proxying to upstream (a base URL without a path, so that nginx passes
// the request target on as the client sent it). nginx stops with the
// test; its logs are shown when the test fails. It returns nginx's base
// URL once it answers.
func startForwardAuthNginx(t *testing.T, port int, rezigateAddr, upstream string) string {
	t.Helper()
	nginx := nginxBinary(t)
	edge := fmt.Sprintf("http://127.0.0.1:%d", port)
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	f, err := os.Create(conf)
	if err != nil {
		t.Fatalf("nginx.conf: %v", err)
	}
	err = nginxConf.Execute(f, map[string]string{
		"Dir":      dir,
		"Listen":   fmt.Sprintf("127.0.0.1:%d", port),
		"Rezigate": "http://" + rezigateAddr,
		"Upstream": upstream,
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("nginx.conf: %v", err)
	}
	proc := startProcess(t, "nginx", nginx, []string{"-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log")}, baseEnv())
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range []string{"error.log", "access.log"} {
				b, _ := os.ReadFile(filepath.Join(dir, name))
				t.Logf("---- nginx %s ----\n%s", name, b)
			}
		}
	})
	waitHTTP(t, proc, edge+"/nginx-health", http.StatusNoContent, 10*time.Second)
	return edge
}

// nginxPolicy is the policy of TestNginxForwardAuth: sign-in for staff
// and rms-users (alice is both), /admin/ for rms-admins only (alice is not
// one), and only reading /headers unless one is an admin; everything else
// is open to any signed-in user.
var nginxPolicy = map[string]any{
	"allow_groups": []string{"rms-users", "staff"},
	"routes": []map[string]any{
		{"path": "/admin/", "groups": []string{"rms-admins"}},
		{"path": "/headers", "methods": []string{"POST", "PUT", "PATCH", "DELETE"}, "groups": []string{"rms-admins"}},
	},
}

// TestNginxForwardAuth runs Debian's nginx with auth_request against
// rezigate's GET /oauth2/auth and checks what reaches the upstream, and
// that the policy judges the URI and method nginx passes on, believing
// them only from a trusted proxy.
func TestNginxForwardAuth(t *testing.T) {
	nginxBinary(t) // before starting anything else
	ports := freePorts(t, 4)
	dexPort, nginxPort, rgPort, rg2Port := ports[0], ports[1], ports[2], ports[3]
	edge := fmt.Sprintf("http://127.0.0.1:%d", nginxPort)
	d := startDex(t, dexPort, edge+"/oauth2/callback")
	parts := startDemoParts(t)
	groupsScope := map[string]any{"scopes": []string{"openid", "email", "profile", "groups"}}
	// Both instances open the same cookies, so one sign-in serves both.
	sessionSecrets := randomHex(t, 32) + "," + randomHex(t, 32)
	// Browsers reach rezigate only through nginx, so its public URL is
	// nginx's; it proxies nothing itself.
	rg := startRezigate(t, d, parts, rezigateOptions{Port: rgPort, PublicURL: edge, SessionSecrets: sessionSecrets,
		Config: map[string]any{"oidc": groupsScope, "policy": nginxPolicy, "trusted_proxies": []string{"127.0.0.1/32"}}})
	// The same policy without trusted_proxies: nobody can tell it which
	// URI a request is for, so it lets nobody through.
	untrusting := startRezigate(t, d, parts, rezigateOptions{Port: rg2Port, PublicURL: edge, SessionSecrets: sessionSecrets,
		Config: map[string]any{"oidc": groupsScope, "policy": nginxPolicy}})

	if got := startForwardAuthNginx(t, nginxPort, rg.Listen, parts.RMSURL); got != edge {
		t.Fatalf("nginx listens at %s; want %s", got, edge)
	}

	// noFollow sees each response as nginx sent it.
	jar := newJarClient(t, 15*time.Second)
	noFollow := &http.Client{
		Jar:           jar.Jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// Identity headers a client might forge, in the spellings a back end
	// might fold together.
	spoofed := http.Header{
		"X-Forwarded-Email":  {"evil@example.com", "evil2@example.com"},
		"x-forwarded-user":   {"evil-uid"},
		"X_Forwarded_Email":  {"evil@example.com"},
		"X_Forwarded_User":   {"evil-uid"},
		"X-Forwarded-Groups": {"evil-rms-admins"},
	}
	// What a client might send to make the auth check vouch for it.
	spoofedAuth := http.Header{
		"X-Auth-Request-Email":  {"evil@example.com"},
		"X-Auth-Request-User":   {"evil-uid"},
		"X-Auth-Request-Groups": {"evil-rms-admins"},
	}
	for k, v := range spoofed {
		spoofedAuth[k] = v
	}
	get := func(t *testing.T, c *http.Client, path string, extra http.Header) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, edge+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, vs := range extra {
			req.Header[k] = vs // as given: no canonical form
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp
	}

	signedOut := func(t *testing.T) {
		t.Helper()
		for _, tc := range []struct {
			name  string
			extra http.Header
		}{
			{"plain", nil},
			{"spoofed identity headers", spoofedAuth},
		} {
			resp := get(t, noFollow, "/headers", tc.extra)
			body := readBody(t, resp)
			loc := resp.Header.Get("Location")
			u, err := url.Parse(loc)
			if resp.StatusCode != http.StatusFound || err != nil || u.Path != "/oauth2/start" || u.Query().Get("rd") != "/headers" {
				t.Errorf("%s: GET /headers = %s, Location %q; want 302 to /oauth2/start?rd=/headers\n%s", tc.name, resp.Status, loc, body)
			}
			resp = get(t, noFollow, "/oauth2/auth", tc.extra)
			readBody(t, resp)
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" || resp.Header.Get("X-Auth-Request-Email") != "" {
				t.Errorf("%s: GET /oauth2/auth = %s, Location %q, X-Auth-Request-Email %q; want 401 and neither",
					tc.name, resp.Status, resp.Header.Get("Location"), resp.Header.Get("X-Auth-Request-Email"))
			}
		}
	}

	t.Run("no session redirects to sign-in", signedOut)
	if t.Failed() {
		t.FailNow()
	}

	uid := rg.uid(alice)
	t.Run("sign in through nginx", func(t *testing.T) {
		// The client follows nginx's 302, rezigate's start, Dex's form and
		// the callback, and ends on the page it first asked for.
		resp := dexFormLogin(t, jar, edge+"/headers", alice)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != edge+"/headers" {
			t.Fatalf("sign-in ended at %s with %s; want %s/headers with 200\n%s", resp.Request.URL, resp.Status, edge, body)
		}
		checkIdentityHeaders(t, body, alice.Email, uid)
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("auth endpoint answers 202 with identity", func(t *testing.T) {
		resp := get(t, noFollow, "/oauth2/auth", spoofedAuth)
		readBody(t, resp)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("GET /oauth2/auth = %s; want 202", resp.Status)
		}
		if got := resp.Header.Values("X-Auth-Request-Email"); len(got) != 1 || got[0] != alice.Email {
			t.Errorf("X-Auth-Request-Email = %q; want [%q]", got, alice.Email)
		}
		if got := resp.Header.Values("X-Auth-Request-User"); len(got) != 1 || got[0] != uid {
			t.Errorf("X-Auth-Request-User = %q; want [%q]", got, uid)
		}
		if got, want := resp.Header.Values("X-Auth-Request-Groups"), strings.Join(alice.Groups, ","); len(got) != 1 || got[0] != want {
			t.Errorf("X-Auth-Request-Groups = %q; want [%q]", got, want)
		}
	})

	t.Run("policy through nginx", func(t *testing.T) {
		t.Run("allowed route gets the groups", func(t *testing.T) {
			resp := get(t, noFollow, "/headers", http.Header{"X-Forwarded-Groups": {"evil-rms-admins"}, "X-Original-URI": {"/admin/"}})
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /headers = %s; want 200\n%s", resp.Status, body)
			}
			checkIdentityHeaders(t, body, alice.Email, uid)
			var got map[string][]string
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("upstream /headers: %v\n%s", err, body)
			}
			if g, want := got["X-Forwarded-Groups"], strings.Join(alice.Groups, ","); len(g) != 1 || g[0] != want {
				t.Errorf("upstream got X-Forwarded-Groups: %q; want [%q]", g, want)
			}
		})
		// Each is judged as nginx passes it on: the raw request URI, which
		// rezigate normalises as the upstream will.
		denied := []struct {
			method, path string
			extra        http.Header
			note         string // tells apart cases with the same request line
		}{
			{"GET", "/admin/", nil, ""},
			{"GET", "/admin", nil, ""},
			{"GET", "/admin/reports?x=1", nil, ""},
			{"GET", "/x/../admin/", nil, ""},
			{"GET", "/%61dmin/", nil, ""},
			// A client's own X-Forwarded-* reaches the auth subrequest
			// (nginx sets only the X-Original-* pair): it must not win.
			{"GET", "/admin/", http.Header{"X-Forwarded-Uri": {"/headers"}, "X-Forwarded-Method": {"GET"}, "X-Original-URI": {"/headers"}}, " naming /headers in client headers"},
			// The method route: reading /headers is open, writing is not.
			{"POST", "/headers", nil, ""},
			{"DELETE", "/headers", http.Header{"X-Forwarded-Method": {"GET"}, "X-Original-Method": {"GET"}}, " naming GET in client headers"},
		}
		for _, tc := range denied {
			t.Run(tc.method+" "+tc.path+tc.note, func(t *testing.T) {
				req, err := http.NewRequestWithContext(t.Context(), tc.method, edge+tc.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				for k, vs := range tc.extra {
					req.Header[k] = vs
				}
				resp, err := noFollow.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s %s through nginx = %s; want 403\n%s", tc.method, tc.path, resp.Status, body)
				}
			})
		}
	})

	t.Run("original URI only from trusted proxies", func(t *testing.T) {
		// Straight to each rezigate, with the session cookie nginx's
		// sign-in set (cookies are per host, not per port).
		auth := func(t *testing.T, base string, h http.Header) int {
			t.Helper()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+base+"/oauth2/auth", nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range h {
				req.Header[k] = vs
			}
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			readBody(t, resp)
			return resp.StatusCode
		}
		open := http.Header{"X-Original-URI": {"/headers"}, "X-Original-Method": {"GET"}}
		openFwd := http.Header{"X-Forwarded-Uri": {"/headers"}, "X-Forwarded-Method": {"GET"}}
		admin := http.Header{"X-Original-URI": {"/admin/"}, "X-Original-Method": {"GET"}}
		for _, tc := range []struct {
			name string
			base string
			h    http.Header
			want int
		}{
			// 127.0.0.1 is trusted by rg: its headers decide.
			{"trusted, open route", rg.Listen, open, http.StatusAccepted},
			{"trusted, open route, X-Forwarded-Uri", rg.Listen, openFwd, http.StatusAccepted},
			{"trusted, admin route", rg.Listen, admin, http.StatusForbidden},
			{"trusted, no original URI", rg.Listen, nil, http.StatusForbidden},
			// The other instance trusts nobody: the same headers are
			// ignored, and with routes and no URI it lets nobody in.
			{"untrusted, open route", untrusting.Listen, open, http.StatusForbidden},
			{"untrusted, open route, X-Forwarded-Uri", untrusting.Listen, openFwd, http.StatusForbidden},
			{"untrusted, no original URI", untrusting.Listen, nil, http.StatusForbidden},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := auth(t, tc.base, tc.h); got != tc.want {
					t.Errorf("GET %s/oauth2/auth with %v = %d; want %d", tc.base, tc.h, got, tc.want)
				}
			})
		}
		// The 403s above are the policy's, given to a session the
		// untrusting instance accepts: without the cookie it says 401.
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+untrusting.Listen+"/oauth2/auth", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if readBody(t, resp); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s/oauth2/auth without a session = %s; want 401", untrusting.Listen, resp.Status)
		}
	})

	t.Run("spoofed identity headers never reach the upstream", func(t *testing.T) {
		for name, h := range spoofed {
			t.Run(name, func(t *testing.T) {
				resp := get(t, noFollow, "/headers", http.Header{name: h})
				body := readBody(t, resp)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET /headers = %s; want 200\n%s", resp.Status, body)
				}
				checkIdentityHeaders(t, body, alice.Email, uid)
			})
		}
		resp := get(t, noFollow, "/headers", spoofed)
		checkIdentityHeaders(t, readBody(t, resp), alice.Email, uid)
	})

	t.Run("sign out", func(t *testing.T) {
		resp := get(t, noFollow, "/oauth2/sign_out", nil)
		readBody(t, resp)
		if resp.StatusCode/100 != 3 {
			t.Fatalf("GET /oauth2/sign_out = %s; want a redirect", resp.Status)
		}
		signedOut(t)
	})
}

// checkIdentityHeaders checks the demo RMS's /headers JSON: exactly one
// X-Forwarded-Email and X-Forwarded-User, with rezigate's values, no other
// spelling of them, and no spoofed value anywhere.
func checkIdentityHeaders(t *testing.T, body, email, uid string) {
	t.Helper()
	var got map[string][]string
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("upstream /headers: %v\n%s", err, body)
	}
	want := map[string]string{"x-forwarded-email": email, "x-forwarded-user": uid}
	seen := map[string]int{}
	for k, vs := range got {
		norm := strings.ReplaceAll(strings.ToLower(k), "_", "-")
		switch norm {
		case "x-forwarded-email", "x-forwarded-user":
			seen[norm]++
			if len(vs) != 1 || vs[0] != want[norm] || k != http.CanonicalHeaderKey(norm) {
				t.Errorf("upstream got %s: %q; want %s: [%q]", k, vs, http.CanonicalHeaderKey(norm), want[norm])
			}
		}
	}
	for name := range want {
		if seen[name] != 1 {
			t.Errorf("upstream got %d %s headers; want 1 (all: %v)", seen[name], name, got)
		}
	}
	if strings.Contains(body, "evil") {
		t.Errorf("a spoofed value reached the upstream: %s", body)
	}
}
