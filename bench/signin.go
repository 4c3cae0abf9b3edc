package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

// signIn signs in at the rezigate at base the way a browser does, through
// the provider's login form, and returns the session cookie as a Cookie
// header value ("name=value"). Redirects are followed by hand, so a step
// that goes wrong is named.
func signIn(ctx context.Context, base, issuer, cookieName, email, password string) (string, error) {
	return signInWith(ctx, nil, base, issuer, cookieName, email, password)
}

// signInWith is signIn through tr; nil means http.DefaultTransport.
func signInWith(ctx context.Context, tr http.RoundTripper, base, issuer, cookieName, email, password string) (string, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", fmt.Errorf("bench: sign in: %w", err)
	}
	c := &http.Client{
		Transport:     tr,
		Jar:           jar,
		Timeout:       15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	get := func(target string) (*http.Response, error) {
		return send(ctx, c, http.MethodGet, target, nil)
	}
	resp, err := get(base + "/oauth2/start?rd=/")
	if err != nil {
		return "", err
	}
	authURL := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(authURL, issuer+"/auth") {
		return "", fmt.Errorf("bench: sign in: /oauth2/start answered %d, not a redirect to the provider", resp.StatusCode)
	}
	if resp, err = get(authURL); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("bench: sign in: provider login form answered %d", resp.StatusCode)
	}
	resp, err = send(ctx, c, http.MethodPost, authURL, url.Values{"login": {email}, "password": {password}})
	if err != nil {
		return "", err
	}
	callback := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(callback, base+"/oauth2/callback?") {
		return "", fmt.Errorf("bench: sign in: provider login answered %d, not a redirect to the callback", resp.StatusCode)
	}
	if resp, err = get(callback); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("bench: sign in: callback answered %d, not a redirect", resp.StatusCode)
	}
	u, err := url.Parse(base + "/")
	if err != nil {
		return "", fmt.Errorf("bench: sign in: %w", err)
	}
	for _, ck := range jar.Cookies(u) {
		if ck.Name == cookieName {
			return ck.Name + "=" + ck.Value, nil
		}
	}
	return "", errors.New("bench: sign in: the callback set no session cookie")
}

// send makes one request with an optional form body and reads the whole
// response, so the connection is reused.
func send(ctx context.Context, c *http.Client, method, target string, form url.Values) (*http.Response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, fmt.Errorf("bench: sign in: %w", err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: sign in: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}
