//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tomcatAdminMarker is in every file under the Tomcat webapp's /admin/: a
// response that holds it reached the route the policy denies.
const tomcatAdminMarker = "tomcat-admin-page-e2e"

// tomcatServerXML is the whole server.xml: one HTTP connector on
// loopback, no shutdown port (the test stops Tomcat by its PID), no AJP,
// and the ROOT webapp deployed once at start.
const tomcatServerXML = `<?xml version="1.0" encoding="UTF-8"?>
<!-- written by startTomcat -->
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector address="127.0.0.1" port="%d" protocol="HTTP/1.1" connectionTimeout="20000"/>
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false"/>
    </Engine>
  </Service>
</Server>
`

// startTomcat runs Debian's Tomcat 10 (catalina.sh run, which execs the
// JVM, so the process the test stops is Tomcat itself) with a throwaway
// CATALINA_BASE: tomcatServerXML on port, Debian's default web.xml (the
// DefaultServlet serves static files, and strips path parameters as for
// any servlet), and a ROOT webapp with /admin/index.html and
// /admin/secret.txt holding tomcatAdminMarker, /public/index.html and
// /public/file.txt. It returns Tomcat's base URL once /public/ answers.
func startTomcat(t *testing.T, port int) string {
	t.Helper()
	catalina := tomcatBinary(t)
	base := t.TempDir()
	files := map[string]string{
		"conf/server.xml":                fmt.Sprintf(tomcatServerXML, port),
		"webapps/ROOT/admin/index.html":  "<p>" + tomcatAdminMarker + "</p>\n",
		"webapps/ROOT/admin/secret.txt":  tomcatAdminMarker + " secret\n",
		"webapps/ROOT/public/index.html": "<p>tomcat public page</p>\n",
		"webapps/ROOT/public/file.txt":   "tomcat public file\n",
	}
	webXML, err := os.ReadFile(filepath.Join(tomcatHome, "etc", "web.xml"))
	if err != nil {
		t.Fatalf("tomcat: default web.xml: %v", err)
	}
	files["conf/web.xml"] = string(webXML)
	for _, dir := range []string{"logs", "temp", "work"} {
		if err := os.MkdirAll(filepath.Join(base, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range files {
		p := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := append(baseEnv(),
		"CATALINA_HOME="+tomcatHome,
		"CATALINA_BASE="+base,
		"CATALINA_TMPDIR="+filepath.Join(base, "temp"),
		"CATALINA_OPTS=",
		// A quick start matters more here than peak speed.
		"JAVA_OPTS=-Djava.awt.headless=true -XX:TieredStopAtLevel=1 -Xshare:auto",
	)
	proc := startProcess(t, "tomcat", catalina, []string{"run"}, env)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHTTP(t, proc, url+"/public/", http.StatusOK, 60*time.Second)
	return url
}

// tomcatPolicy denies /admin/ to everyone but rms-admins (alice is not
// one) and opens /public/ to staff; other paths are open to any
// signed-in user, so that only the routes stand between a trick and
// Tomcat's admin pages.
func tomcatPolicy(fold bool) map[string]any {
	return map[string]any{
		"allow_groups":           []string{"rms-users", "staff"},
		"case_insensitive_paths": fold,
		"routes": []map[string]any{
			{"path": "/admin/", "groups": []string{"rms-admins"}},
			{"path": "/public/", "groups": []string{"staff"}},
		},
	}
}

// TestTomcatPathParameters puts Debian's Tomcat 10 behind rezigate, both
// proxied by rezigate and behind nginx with forward-auth, and sends path
// shapes that Tomcat reads as /admin/ (it cuts each segment at ";" and
// reads "..;" as "..") or that a Windows server would (a trailing dot or
// space). None may reach Tomcat's admin pages for a user the /admin/
// route refuses; a path parameter that changes no route still works.
func TestTomcatPathParameters(t *testing.T) {
	tomcatBinary(t)
	nginxBinary(t)
	ports := freePorts(t, 5)
	dexPort, tomcatPort, rgPort, foldPort, nginxPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	tomcat := startTomcat(t, tomcatPort)
	public := fmt.Sprintf("http://127.0.0.1:%d", rgPort)
	d := startDex(t, dexPort, public+"/oauth2/callback")
	parts := startDemoParts(t)
	groupsScope := map[string]any{"scopes": []string{"openid", "email", "profile", "groups"}}
	// Both instances open the same cookies (cookies are per host, not
	// per port), so one sign-in serves both and nginx.
	secrets := randomHex(t, 32) + "," + randomHex(t, 32)
	rg := startRezigate(t, d, parts, rezigateOptions{Port: rgPort, Upstream: tomcat, SessionSecrets: secrets,
		Config: map[string]any{"oidc": groupsScope, "policy": tomcatPolicy(false), "trusted_proxies": []string{"127.0.0.1/32"}}})
	folding := startRezigate(t, d, parts, rezigateOptions{Port: foldPort, PublicURL: public, Upstream: tomcat, SessionSecrets: secrets,
		Config: map[string]any{"oidc": groupsScope, "policy": tomcatPolicy(true)}})
	edge := startForwardAuthNginx(t, nginxPort, rg.Listen, tomcat)

	jar := newJarClient(t, 15*time.Second)
	resp := dexFormLogin(t, jar, public+"/oauth2/start?rd=%2Fpublic%2F", alice)
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, "tomcat public page") {
		t.Fatalf("sign-in ended at %s with %s; want Tomcat's /public/ page\n%s", resp.Request.URL, resp.Status, body)
	}
	noFollow := &http.Client{
		Jar:           jar.Jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// get sends target exactly as written, with the session cookie.
	get := func(t *testing.T, base, target string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = target // the request line's target, not cleaned or re-escaped
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatalf("GET %s%s: %v", base, target, err)
		}
		return resp.StatusCode, readBody(t, resp)
	}

	// want* are the answers of rezigate (case-sensitive), rezigate with
	// case_insensitive_paths, and nginx asking the first. A 404 is
	// Tomcat's own: the path was judged as not /admin/ and Tomcat read it
	// so too.
	tests := []struct {
		target              string
		want, wantFold      int
		wantNginx           int
		tomcatServesTheMark bool // Tomcat alone serves the admin page for it
	}{
		{"/admin/", 403, 403, 403, true},
		{"/admin;/", 400, 400, 403, true},
		{"/admin;jsessionid=1/", 400, 400, 403, true},
		{"/admin;x;y/", 400, 400, 403, true},
		{"/admin;/secret.txt", 400, 400, 403, true},
		{"/admin%3B/", 400, 400, 403, false},
		{"/admin%3b/", 400, 400, 403, false},
		{"/x/..;/admin/", 400, 400, 403, true},
		{"/public/..;/admin/", 400, 400, 403, true},
		{"/public/%2e%2e;/admin/", 400, 400, 403, true},
		{"/public/..%3B/admin/", 400, 400, 403, false},
		{"/public;/../admin/", 403, 403, 403, true},
		{"/public/x;/../../admin/", 403, 403, 403, true},
		{"/.;/admin/", 400, 400, 403, true},
		{"/public/.;/../admin/", 400, 400, 403, true},
		{"/a/;/../admin/", 400, 400, 403, true},
		{"/;/admin/", 400, 400, 403, true},
		{"/..;/admin/", 400, 400, 403, false},
		{"/admin/;/", 400, 400, 403, true},
		{"/admin/.;/", 400, 400, 403, true},
		{"/admin/secret.txt;x", 403, 403, 403, true},
		{"/ADMIN;foo", 404, 400, 404, false},
		{"/ADMIN./", 404, 400, 404, false},
		{"/admin./", 404, 400, 404, false},
		{"/admin%2e/", 404, 400, 404, false},
		{"/admin%20/", 404, 400, 404, false},
		// A parameter that changes no route keeps working.
		{"/public/file.txt;v=1", 200, 200, 200, false},
		{"/public/;jsessionid=ABC", 200, 200, 200, false},
	}

	t.Run("Tomcat alone serves the admin page for these", func(t *testing.T) {
		for _, tc := range tests {
			if !tc.tomcatServesTheMark {
				continue
			}
			if status, body := get(t, tomcat, tc.target); status != http.StatusOK || !strings.Contains(body, tomcatAdminMarker) {
				t.Errorf("Tomcat: GET %s = %d without the admin page; the case proves nothing", tc.target, status)
			}
		}
	})
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			for _, front := range []struct {
				name string
				base string
				want int
			}{
				{"rezigate", public, tc.want},
				{"rezigate, case-insensitive paths", "http://" + folding.Listen, tc.wantFold},
				{"nginx forward-auth", edge, tc.wantNginx},
			} {
				status, body := get(t, front.base, tc.target)
				if strings.Contains(body, tomcatAdminMarker) {
					t.Errorf("%s: GET %s = %d with Tomcat's admin page", front.name, tc.target, status)
				}
				if status != front.want {
					t.Errorf("%s: GET %s = %d; want %d\n%.300s", front.name, tc.target, status, front.want, body)
				}
			}
		})
	}
}
