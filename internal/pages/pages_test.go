package pages

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// page is one rendered page and what every page must show.
type page struct {
	name   string
	render func(w http.ResponseWriter)
	status int
	want   []string
}

func gatewayPages() []page {
	return []page{
		{"403", func(w http.ResponseWriter) { Error(w, 403, "Not for you.", "RID403") }, 403,
			[]string{"<title>You can&#39;t open this page</title>", "<h1>You can&#39;t open this page</h1>", "Error 403", "Not for you.", `<code id="request-id">RID403</code>`, `<a id="next" href="/rezi">Open the RMS</a>`}},
		{"502", func(w http.ResponseWriter) { Error(w, 502, "Upstream down.", "RID502") }, 502,
			[]string{"<title>The application is not answering</title>", "Upstream down.", "RID502"}},
		{"unknown status", func(w http.ResponseWriter) { Error(w, 599, "Odd.", "RID599") }, 599,
			[]string{"<title>Something went wrong</title>", "Error 599", "RID599"}},
		{"another way forward", func(w http.ResponseWriter) {
			ErrorWithLink(w, 403, "Not this account.", Link{Text: "Sign in with another account", Href: "/oauth2/sign_out"}, "RIDLINK")
		}, 403, []string{`<a id="next" href="/oauth2/sign_out">Sign in with another account</a>`, "Not this account."}},
		{"signed out", func(w http.ResponseWriter) { SignedOut(w, "/oauth2/start?rd=%2Fdocs", "RIDOUT") }, 200,
			[]string{"<title>Signed out</title>", "You are signed out", `href="/oauth2/start?rd=%2Fdocs"`, "RIDOUT"}},
		{"confirm", func(w http.ResponseWriter) {
			ConfirmSignOut(w, SignOutForm{Action: "/oauth2/sign_out", Redirect: "/docs?a=1&b=2", Email: "alice@example.com", RequestID: "RIDCONF"})
		}, 200, []string{`<form method="post" action="/oauth2/sign_out">`, `<input type="hidden" name="rd" value="/docs?a=1&amp;b=2">`,
			`<button id="sign-out" type="submit">Sign out</button>`, `<strong id="email">alice@example.com</strong>`, "RIDCONF", `<a id="stay" href="/rezi">`}},
	}
}

func TestPages(t *testing.T) {
	for _, tc := range gatewayPages() {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			tc.render(w)
			body := w.Body.String()
			if w.Code != tc.status {
				t.Errorf("status = %d; want %d", w.Code, tc.status)
			}
			for _, want := range tc.want {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q:\n%s", want, body)
				}
			}
			checkSelfContained(t, w)
		})
	}
}

// checkSelfContained fails unless the page has the safe headers, loads
// nothing from elsewhere, has no script and its one stylesheet is the one
// the CSP allows.
func checkSelfContained(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	for h, want := range map[string]string{
		"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Content-Security-Policy": CSP,
	} {
		if got := w.Header().Get(h); got != want {
			t.Errorf("%s = %q; want %q", h, got, want)
		}
	}
	body := w.Body.String()
	if strings.Contains(body, "<script") || strings.Contains(body, "<link") || strings.Contains(body, "src=") ||
		strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, "url(") {
		t.Errorf("page refers to something outside itself:\n%s", body)
	}
	styles := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(body, -1)
	if len(styles) != 1 {
		t.Fatalf("page has %d style elements; want 1", len(styles))
	}
	sum := sha256.Sum256([]byte(styles[0][1]))
	hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	if !strings.Contains(CSP, "style-src "+hash) {
		t.Errorf("CSP %q does not allow the page's stylesheet (%s): the browser would drop it", CSP, hash)
	}
}

func TestPagesEscape(t *testing.T) {
	const evil = `"><script>alert(1)</script>`
	w := httptest.NewRecorder()
	ConfirmSignOut(w, SignOutForm{Action: "/oauth2/sign_out", Redirect: evil, Email: evil, RequestID: evil})
	if strings.Contains(w.Body.String(), "<script>") {
		t.Errorf("ConfirmSignOut echoes markup unescaped:\n%s", w.Body.String())
	}
	w = httptest.NewRecorder()
	Error(w, 400, evil, evil)
	if strings.Contains(w.Body.String(), "<script>") {
		t.Errorf("Error echoes markup unescaped:\n%s", w.Body.String())
	}
	w = httptest.NewRecorder()
	SignedOut(w, "javascript:alert(1)", "")
	if strings.Contains(w.Body.String(), `href="javascript:`) {
		t.Errorf("SignedOut writes a javascript: link:\n%s", w.Body.String())
	}
}

func TestPagesOptionalParts(t *testing.T) {
	w := httptest.NewRecorder()
	ConfirmSignOut(w, SignOutForm{Action: "/oauth2/sign_out"})
	body := w.Body.String()
	for _, unwanted := range []string{`name="rd"`, `id="email"`, "Request id"} {
		if strings.Contains(body, unwanted) {
			t.Errorf("confirmation without rd, email and id shows %q:\n%s", unwanted, body)
		}
	}
}

// TestParse checks that another package's pages get the shared frame and
// stylesheet, and that extending the set leaves the shared one alone.
func TestParse(t *testing.T) {
	ext := Parse(`{{define "hello"}}{{template "head" "Hello"}}<h1>Hi {{.}}</h1>{{template "tail"}}{{end}}`)
	w := httptest.NewRecorder()
	Render(w, ext, http.StatusTeapot, "hello", "<b>you</b>")
	body := w.Body.String()
	if w.Code != http.StatusTeapot || !strings.Contains(body, "<title>Hello</title>") || !strings.Contains(body, "<h1>Hi &lt;b&gt;you&lt;/b&gt;</h1>") {
		t.Errorf("extended page = %d %s", w.Code, body)
	}
	if strings.Contains(body, "Request id") {
		t.Errorf("page without a request id shows one")
	}
	checkSelfContained(t, w)
	if set.Lookup("hello") != nil {
		t.Errorf("Parse added its definitions to the shared set")
	}
	// The shared layout is never executed itself, so Parse still works
	// after pages have been served.
	if again := Parse(`{{define "x"}}{{template "head" "X"}}{{template "tail"}}{{end}}`); again.Lookup("x") == nil {
		t.Errorf("Parse after rendering lost its definitions")
	}
}

func TestRenderTemplateError(t *testing.T) {
	w := httptest.NewRecorder()
	Render(w, set, http.StatusOK, "no-such-page", nil)
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "no-such-page") {
		t.Errorf("missing template = %d %q; want a plain 500 without detail", w.Code, w.Body.String())
	}
}

func TestParsePanicsOnBadText(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("Parse of bad text did not panic")
		}
	}()
	Parse(`{{define "x"}}{{.Unclosed`)
}

// TestPagesSpeakToEmployees: the pages a person meets name what happened
// in their words and lead back into the RMS; no status jargon as a
// heading, no operator words, and no link to "/", which a gateway with
// no upstream does not serve.
func TestPagesSpeakToEmployees(t *testing.T) {
	renders := map[string]func(w http.ResponseWriter){
		"signed out":         func(w http.ResponseWriter) { SignedOut(w, "/rezi", "") },
		"signed out revoked": func(w http.ResponseWriter) { SignedOutRevoked(w, "/rezi", "") },
		"confirm":            func(w http.ResponseWriter) { ConfirmSignOut(w, SignOutForm{Action: "/oauth2/sign_out"}) },
	}
	for _, status := range []int{400, 401, 403, 404, 405, 413, 429, 500, 502, 503, 504} {
		renders[http.StatusText(status)] = func(w http.ResponseWriter) { Error(w, status, "Message.", "") }
	}
	jargon := []string{"replica", "copy of its cookie", "cookie", "upstream", "Forbidden", "Bad Request", "Not Found",
		"Method Not Allowed", "Internal Server Error", "Bad Gateway", "Service Unavailable", "Gateway Timeout", "start page", `href="/"`}
	for name, render := range renders {
		t.Run(name, func(t *testing.T) {
			w := httptest.NewRecorder()
			render(w)
			body := w.Body.String()
			for _, j := range jargon {
				if strings.Contains(body, j) {
					t.Errorf("page %s says %q:\n%s", name, j, body)
				}
			}
			if !strings.Contains(body, `href="/rezi"`) {
				t.Errorf("page %s has no way back into the RMS (/rezi):\n%s", name, body)
			}
		})
	}
}
