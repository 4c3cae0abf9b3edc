// Package pages renders the HTML pages people see from rezigate and its
// demo: the error pages, the sign-out confirmation, the signed-out page
// and the demo provider's login page. They share one layout and one small
// stylesheet, inline in the page: nothing is loaded from elsewhere and no
// JavaScript is needed, so every page works under a Content-Security-Policy
// that allows that one stylesheet and nothing else.
//
// html/template escapes every value by context, so no message, email or
// path a client influenced can become markup.
package pages

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
)

// css is the one stylesheet. Its SHA-256 is in the Content-Security-Policy,
// so changing it needs nothing else.
const css = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1d2330;margin:0;line-height:1.5}
main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin:0 0 1rem}
p{margin:.75rem 0}
a{color:#2456c8}
label{display:block;margin-top:1rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.5rem;margin-top:.25rem;font-size:1rem}
button{margin-top:1.5rem;width:100%;padding:.6rem;font-size:1rem;background:#2456c8;color:#fff;border:0;border-radius:4px;cursor:pointer}
button:hover,button:focus{background:#1b44a3}
code{background:#f0f1f4;padding:.1rem .3rem;border-radius:3px;font-size:.85em;word-break:break-all}
.status{color:#5a6270;font-size:.9rem;font-weight:600;letter-spacing:.03em;text-transform:uppercase;margin:0 0 .25rem}
.error{color:#a01818;font-weight:600}
.note{color:#5a6270;font-size:.9rem}
.links{margin-top:1.5rem}
.rid{margin:1.5rem 0 0;padding-top:1rem;border-top:1px solid #e3e5ea;color:#5a6270;font-size:.8rem}
`

// CSP is the Content-Security-Policy of every page Render writes: the
// inline stylesheet by its hash, nothing else, and no framing (the
// sign-out button must not be clickable through another site's frame).
// It sets no form-action: browsers apply that to the redirect after a
// form post too, and a sign-out continues at the identity provider.
var CSP = "default-src 'none'; style-src '" + styleHash() + "'; frame-ancestors 'none'; base-uri 'none'"

func styleHash() string {
	sum := sha256.Sum256([]byte(css))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// layout is the shared frame: "head" takes the title, "tail" the request
// id (empty or nil shows none). Every page of every set starts with
// {{template "head" TITLE}} and ends with {{template "tail" ID}}.
const layout = `{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}}</title>
<style>` + css + `</style>
</head>
<body>
<main>
{{end}}
{{define "tail"}}{{if .}}<p class="rid">Request id: <code id="request-id">{{.}}</code></p>
{{end}}</main>
</body>
</html>
{{end}}`

// The gateway's own pages.
const gateway = `
{{define "error"}}{{template "head" .Heading}}<p class="status">Error {{.Status}}</p>
<h1>{{.Heading}}</h1>
<p id="message">{{.Message}}</p>
<p class="links"><a id="next" href="{{.Link.Href}}">{{.Link.Text}}</a></p>
{{template "tail" .RequestID}}{{end}}
{{define "signed-out"}}{{template "head" "Signed out"}}<h1>You are signed out</h1>
<p>Your session on this site has ended.</p>
{{if .Revoked}}<p id="revoked">It has been ended for good: it cannot be used again, from this browser or any other.</p>
{{end}}<p class="note">An RMS window that is already open stays signed in until the RMS ends its own session.</p>
<p class="links"><a id="sign-in" href="{{.SignInURL}}">Sign in again</a></p>
{{template "tail" .RequestID}}{{end}}
{{define "confirm-sign-out"}}{{template "head" "Sign out?"}}<h1>Sign out?</h1>
{{if .Email}}<p>You are signed in as <strong id="email">{{.Email}}</strong>.</p>
{{end}}<p class="note">A link alone does not sign you out, so that another site cannot do it for you. Press the button to end your session here.</p>
<form method="post" action="{{.Action}}">
{{if .Redirect}}<input type="hidden" name="rd" value="{{.Redirect}}">
{{end}}<button id="sign-out" type="submit">Sign out</button>
</form>
<p class="links"><a id="stay" href="` + RMSPath + `">Stay signed in and go back to the RMS</a></p>
{{template "tail" .RequestID}}{{end}}
`

var base = template.Must(template.New("").Parse(layout))

var set = Parse(gateway)

// Parse returns a copy of the shared layout with the page definitions in
// text added, so another package's pages get the same frame and
// stylesheet: each page starts with {{template "head" TITLE}} and ends
// with {{template "tail" REQUEST_ID}}. It panics if text does not parse,
// like template.Must: call it with constant text when a package starts.
func Parse(text string) *template.Template {
	return template.Must(template.Must(base.Clone()).Parse(text))
}

// Render writes page name of t with status and headers that keep it out
// of caches and frames, its URL (which may carry a state or a token) out
// of Referer headers, and everything but its own stylesheet out (CSP). It
// renders into a buffer first, so a template error becomes a plain 500
// rather than half a page.
func Render(w http.ResponseWriter, t *template.Template, status int, name string, data any) {
	RenderWithCSP(w, t, status, name, data, CSP)
}

// RenderWithCSP is Render with another Content-Security-Policy, for a page
// that does not use this package's stylesheet.
func RenderWithCSP(w http.ResponseWriter, t *template.Template, status int, name string, data any, csp string) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", csp)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// RMSPath is where the pages send a person back into the RMS: the
// hand-off, which signs in first when needed.
const RMSPath = "/rezi"

// Link is the way forward an error page offers.
type Link struct {
	Text string // what the link says, such as "Open the RMS"
	Href string // a local path
}

// ToRMS is the link an error page offers unless told otherwise.
var ToRMS = Link{Text: "Open the RMS", Href: RMSPath}

// headings are what an error page's heading says per status, in words
// for the person who met it rather than the status text.
var headings = map[int]string{
	http.StatusBadRequest:            "This link doesn't work",
	http.StatusUnauthorized:          "Please sign in",
	http.StatusForbidden:             "You can't open this page",
	http.StatusNotFound:              "There is nothing here",
	http.StatusMethodNotAllowed:      "This link doesn't work",
	http.StatusRequestEntityTooLarge: "This request is too large",
	http.StatusTooManyRequests:       "Too many tries",
	http.StatusInternalServerError:   "Something went wrong",
	http.StatusBadGateway:            "The application is not answering",
	http.StatusServiceUnavailable:    "Not available right now",
	http.StatusGatewayTimeout:        "The application took too long",
}

// Error writes an error page for status with a fixed, human message, the
// link ToRMS, and the request id that also appears in the logs (empty
// shows none). The message must never carry error text: causes belong in
// the log.
func Error(w http.ResponseWriter, status int, message, requestID string) {
	ErrorWithLink(w, status, message, ToRMS, requestID)
}

// ErrorWithLink is Error with another way forward than ToRMS, for a page
// where going back into the RMS would only lead to it again (a sign-in
// refused for the account: the way forward is another account).
func ErrorWithLink(w http.ResponseWriter, status int, message string, link Link, requestID string) {
	heading := headings[status]
	if heading == "" {
		heading = "Something went wrong"
	}
	Render(w, set, status, "error", struct {
		Heading, Message, RequestID string
		Link                        Link
		Status                      int
	}{heading, message, requestID, link, status})
}

// SignedOut writes the page shown once a sign-out is done, with a link to
// signInURL (a local path, such as /oauth2/start?rd=%2Fdocs) to sign in
// again.
func SignedOut(w http.ResponseWriter, signInURL, requestID string) {
	Render(w, set, http.StatusOK, "signed-out", signedOut{SignInURL: signInURL, RequestID: requestID})
}

// SignedOutRevoked is SignedOut for a session that was deleted at the
// server: the page says it ended on every replica.
func SignedOutRevoked(w http.ResponseWriter, signInURL, requestID string) {
	Render(w, set, http.StatusOK, "signed-out", signedOut{SignInURL: signInURL, RequestID: requestID, Revoked: true})
}

type signedOut struct {
	SignInURL, RequestID string
	Revoked              bool
}

// SignOutForm is what the sign-out confirmation page shows and sends.
type SignOutForm struct {
	// Action is where the form posts (a local path). Required.
	Action string
	// Redirect is sent as the form's rd field. Empty sends no rd.
	Redirect string
	// Email names the signed-in user. Empty leaves the line out.
	Email string
	// RequestID is shown at the foot of the page. Empty shows none.
	RequestID string
}

// ConfirmSignOut writes a page with a button that posts f to f.Action:
// a sign-out that did not start on this site needs the user's click.
func ConfirmSignOut(w http.ResponseWriter, f SignOutForm) {
	Render(w, set, http.StatusOK, "confirm-sign-out", f)
}
