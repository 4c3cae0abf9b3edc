package middleware

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/rezigate/rezigate/internal/localpath"
	"github.com/rezigate/rezigate/rezi"
)

// serveRezi mints a Rezi user token for the signed-in user and redirects
// the browser into the RMS. Without a session it starts sign-in and comes
// back here with the same query, so one click from an intranet link ends
// in the RMS.
func (a *Auth) serveRezi(w http.ResponseWriter, r *http.Request) *User {
	if a.opts.Handoff.Rezi == nil {
		a.errorPage(w, r, http.StatusNotFound, "There is nothing at this address.")
		return nil
	}
	if r.Method != http.MethodGet {
		a.methodNotAllowed(w, r, "GET")
		return nil
	}
	u, ok, err := a.sessionUser(r)
	if err != nil {
		a.storeUnavailable(w, r, err)
		return nil
	}
	if !ok {
		a.redirectToStart(w, r)
		return nil
	}
	if a.access.strict {
		if res := a.decide(r, u); !res.Allowed {
			a.deny(w, r, u, res)
			return u
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	q := r.URL.Query()
	open := a.opts.Handoff.OpenOnboarding
	openSet := open
	if v, ok := q["openOnboarding"]; ok {
		b, err := strconv.ParseBool(v[0])
		if err != nil || len(v) > 1 {
			a.errorPage(w, r, http.StatusBadRequest, "openOnboarding must be true or false.")
			return u
		}
		open, openSet = b, true
	}
	closeTo := a.opts.Handoff.CloseOnboardingRedirect
	if v, ok := q["closeOnboardingRedirect"]; ok {
		if len(v) > 1 || !localpath.Valid(v[0]) {
			a.errorPage(w, r, http.StatusBadRequest, "closeOnboardingRedirect must be a path on the RMS starting with a single /, such as /dashboard/education.")
			return u
		}
		closeTo = v[0]
	}
	if l := a.opts.Handoff.Limiter; l != nil {
		ok, retry, err := l.Allow(r.Context(), u.UID)
		if err != nil {
			a.storeUnavailable(w, r, err)
			return u
		}
		if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter(retry).Seconds())))
			a.errorPage(w, r, http.StatusTooManyRequests, "Too many RMS sign-ins in a short time. Please wait a moment and try again.")
			return u
		}
	} else if a.limiter != nil {
		if ok, retry := a.limiter.allow(u.UID); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds()+0.999)))
			a.errorPage(w, r, http.StatusTooManyRequests, "Too many RMS sign-ins in a short time. Please wait a moment and try again.")
			return u
		}
	}
	token, err := a.opts.Handoff.Rezi.UserToken(r.Context(), u.Email, u.UID)
	if err != nil {
		status, msg := http.StatusBadGateway, "The RMS sign-in service answered with an error. Please try again; if it persists, contact support with the request id."
		if errors.Is(err, rezi.ErrTimeout) {
			status, msg = http.StatusGatewayTimeout, "The RMS sign-in service took too long to answer. Please try again."
		}
		a.fail(w, r, status, msg, err)
		return u
	}
	dst := *a.loginURL
	lq := dst.Query()
	lq.Set("token", token)
	if openSet {
		lq.Set("openOnboarding", strconv.FormatBool(open))
	}
	if closeTo != "" {
		lq.Set("closeOnboardingRedirect", closeTo)
	}
	dst.RawQuery = encodeQuery(lq)
	redirect(w, dst.String())
	return u
}

// encodeQuery puts token first and keeps "/" readable in the options, as
// in the vendor's examples; url.Values.Encode would sort and escape them.
func encodeQuery(q url.Values) string {
	order := []string{"token", "openOnboarding", "closeOnboardingRedirect"}
	var b []byte
	add := func(k, v string) {
		if len(b) > 0 {
			b = append(b, '&')
		}
		b = append(b, url.QueryEscape(k)...)
		b = append(b, '=')
		b = append(b, escapeQueryValue(v)...)
	}
	for _, k := range order {
		for _, v := range q[k] {
			add(k, v)
		}
	}
	rest := url.Values{}
	for k, vs := range q {
		if k != order[0] && k != order[1] && k != order[2] {
			rest[k] = vs
		}
	}
	if s := rest.Encode(); s != "" {
		if len(b) > 0 {
			b = append(b, '&')
		}
		b = append(b, s...)
	}
	return string(b)
}

// escapeQueryValue escapes like url.QueryEscape but leaves "/" alone,
// which is legal in a query and what the RMS documents.
func escapeQueryValue(v string) string {
	e := url.QueryEscape(v)
	return strings.ReplaceAll(e, "%2F", "/")
}
