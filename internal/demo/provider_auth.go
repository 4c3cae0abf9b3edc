package demo

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/rezigate/rezigate/internal/pages"
)

// providerPages are the provider's HTML pages, in the layout and with the
// stylesheet that rezigate's own pages use. html/template escapes every
// value by context, so nothing a client sends can become markup.
var providerPages = pages.Parse(`
{{define "login"}}{{template "head" "Sign in"}}<h1>Sign in</h1>
<p class="note">Demo OpenID provider for <strong>{{.ClientID}}</strong>. Not for production.</p>
{{if .Error}}<p class="error" id="error" role="alert">{{.Error}}</p>
{{end}}<form method="post" action="{{.Action}}">
<label for="login">Email</label>
<input id="login" name="login" type="text" inputmode="email" autocomplete="username" value="{{.Login}}" autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<button id="submit-login" type="submit">Sign in</button>
</form>
{{template "tail"}}{{end}}
{{define "error"}}{{template "head" "Sign-in error"}}<h1>Sign-in error</h1>
<p class="error" id="error">{{.}}</p>
<p class="note">The application sent an authorization request this provider does not accept. Nothing was sent back to it.</p>
{{template "tail"}}{{end}}
{{define "signedout"}}{{template "head" "Signed out"}}<h1>Signed out</h1>
<p>You are signed out of the demo OpenID provider. You can close this page.</p>
{{template "tail"}}{{end}}
`)

// writePage renders a provider page under pages.CSP, which has no
// form-action: browsers apply it to the redirect that follows the form
// post, which goes to the client's origin.
func writePage(w http.ResponseWriter, status int, name string, data any) {
	pages.Render(w, providerPages, status, name, data)
}

// authRequest is a validated authorization request.
type authRequest struct {
	redirectURI string
	state       string
	nonce       string
	challenge   string
	scope       string
	action      string // where the login form posts: /auth with the same parameters
}

type loginPage struct {
	ClientID string
	Action   string
	Login    string
	Error    string
}

func (p *Provider) serveAuth(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	q := r.URL.Query()
	ar, ok := p.checkAuthRequest(w, q)
	if !ok {
		return
	}
	if r.Method == http.MethodGet {
		writePage(w, http.StatusOK, "login", loginPage{ClientID: p.clientID, Action: ar.action})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writePage(w, http.StatusBadRequest, "error", "The login form could not be read.")
		return
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	user, ok := p.authenticate(login, r.PostForm.Get("password"))
	if ok && p.isDisabled(user) {
		ok = false
	}
	if !ok {
		p.log.Info("demo provider: sign-in failed")
		writePage(w, http.StatusUnauthorized, "login", loginPage{
			ClientID: p.clientID, Action: ar.action, Login: login, Error: "Invalid email or password",
		})
		return
	}
	code := randomToken()
	now := p.now()
	p.mu.Lock()
	p.sweepLocked(now)
	p.codes[code] = &authCode{
		clientID:    p.clientID,
		redirectURI: ar.redirectURI,
		challenge:   ar.challenge,
		nonce:       ar.nonce,
		user:        p.currentLocked(user),
		expires:     now.Add(codeTTL),
		scope:       ar.scope,
		sid:         p.newSIDLocked(user),
	}
	p.mu.Unlock()
	p.log.Info("demo provider: signed in", "subject", user.Subject)
	params := url.Values{"code": {code}}
	if ar.state != "" {
		params.Set("state", ar.state)
	}
	redirectWith(w, ar.redirectURI, params)
}

// checkAuthRequest validates the authorization request. A request that
// cannot be trusted to name its own redirect URI gets an error page; one
// that can gets the error sent back there, as RFC 6749 section 4.1.2.1 says.
func (p *Provider) checkAuthRequest(w http.ResponseWriter, q url.Values) (authRequest, bool) {
	if q.Get("client_id") != p.clientID {
		p.log.Info("demo provider: authorization request rejected", "reason", "unknown client")
		writePage(w, http.StatusBadRequest, "error", "Unknown client.")
		return authRequest{}, false
	}
	ru := q.Get("redirect_uri")
	if !p.redirectAllowed(ru) {
		p.log.Info("demo provider: authorization request rejected", "reason", "redirect_uri not allowed")
		writePage(w, http.StatusBadRequest, "error", "The redirect_uri is missing or not registered for this client.")
		return authRequest{}, false
	}
	state := q.Get("state")
	fail := func(code, desc string) (authRequest, bool) {
		p.log.Info("demo provider: authorization request rejected", "reason", desc)
		params := url.Values{"error": {code}, "error_description": {desc}}
		if state != "" {
			params.Set("state", state)
		}
		redirectWith(w, ru, params)
		return authRequest{}, false
	}
	if q.Get("response_type") != "code" {
		return fail("unsupported_response_type", "only response_type=code is supported")
	}
	if !hasScope(q.Get("scope"), "openid") {
		return fail("invalid_scope", "the openid scope is required")
	}
	challenge := q.Get("code_challenge")
	if q.Get("code_challenge_method") != "S256" || !validChallenge(challenge) {
		return fail("invalid_request", "PKCE with code_challenge_method=S256 is required")
	}
	return authRequest{
		redirectURI: ru,
		state:       state,
		nonce:       q.Get("nonce"),
		scope:       q.Get("scope"),
		challenge:   challenge,
		action:      p.basePath + "/auth?" + q.Encode(),
	}, true
}

func (p *Provider) redirectAllowed(ru string) bool {
	if p.redirects != nil {
		return p.redirects[ru]
	}
	_, ok := parseHTTPURL(ru)
	return ok
}

func hasScope(scopes, want string) bool {
	for _, s := range strings.Fields(scopes) {
		if s == want {
			return true
		}
	}
	return false
}

// validChallenge accepts what an S256 challenge must be: 43 base64url
// characters (a SHA-256 sum without padding).
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for i := 0; i < len(c); i++ {
		ch := c[i]
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

// authenticate checks a login in constant time with respect to the
// password, and runs the same comparison for unknown users, so timing does
// not reveal which emails exist.
func (p *Provider) authenticate(login, password string) (User, bool) {
	u, found := p.users[strings.ToLower(login)]
	want := u.Password
	if !found {
		want = "\x00no such user"
	}
	ok := equalSecret([]byte(password), []byte(want))
	return u, found && ok
}

// redirectWith sends the browser to base with params added to its query.
// base has been validated as an absolute URL; the Location is written
// directly, since http.Redirect would clean it.
func redirectWith(w http.ResponseWriter, base string, params url.Values) {
	u, err := url.Parse(base)
	if err != nil {
		writePage(w, http.StatusBadRequest, "error", "The redirect_uri is not a valid URL.")
		return
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	h := w.Header()
	h.Set("Location", u.String())
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusFound)
}

// serveLogout implements the RP-initiated logout endpoint. The provider has
// no session to end; it only sends the browser back, and only to an origin
// of a registered redirect URI, so it cannot be used as an open redirect.
func (p *Provider) serveLogout(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writePage(w, http.StatusBadRequest, "error", "The logout request could not be read.")
		return
	}
	target := r.Form.Get("post_logout_redirect_uri")
	cid := r.Form.Get("client_id")
	if target != "" && (cid == "" || cid == p.clientID) {
		if u, ok := parseHTTPURL(target); ok && p.origins[origin(u)] {
			params := url.Values{}
			if st := r.Form.Get("state"); st != "" {
				params.Set("state", st)
			}
			redirectWith(w, u.String(), params)
			return
		}
		p.log.Info("demo provider: logout redirect refused", "reason", "post_logout_redirect_uri not at a registered origin")
	}
	writePage(w, http.StatusOK, "signedout", nil)
}
