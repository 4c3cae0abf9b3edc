// Package handoff is the hand-off into the Rezi RMS, served at /rezi: a
// plain http.Handler that takes the signed-in user of a request, gets
// that user's login token from Rezi (rezi.Client.UserToken) and
// redirects the browser to the RMS login URL with it.
//
// It checks no session and no access policy: the middleware mounts it at
// Path behind its own sign-in and policy check, and hands it the user
// through Options.User. Each uid's hand-offs are limited by a Limiter: an
// in-process one by default, or one shared by every replica
// (redisstore.Limiter).
//
//	h, err := handoff.New(handoff.Options{Rezi: client, LoginURL: "https://rms.example.com/login/",
//		User: func(r *http.Request) (email, uid string, ok bool) { … }})
//
// Errors answer with a status, a fixed message and the request id; the
// cause goes to the log only, and the token never does.
package handoff

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rezigate/rezigate/internal/localpath"
	"github.com/rezigate/rezigate/internal/pages"
	"github.com/rezigate/rezigate/internal/requestid"
	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/rezi"
)

// Handler is the hand-off. It is safe for concurrent use.
type Handler struct {
	opts     Options
	log      *slog.Logger
	loginURL *url.URL // LoginURL, absolute
	limiter  Limiter  // nil: no limit
}

// New validates opts and returns the hand-off; an invalid opts gets
// Validate's error, and a nil Rezi or User an *optionerr.Error naming it.
// It does no network I/O.
func New(opts Options) (*Handler, error) {
	err := opts.Validate()
	if opts.Rezi == nil {
		err = errors.Join(err, optionerr.New("handoff", "Rezi", "required"))
	}
	if opts.User == nil {
		err = errors.Join(err, optionerr.New("handoff", "User", "required"))
	}
	if err != nil {
		return nil, err
	}
	h := &Handler{opts: opts, log: opts.Logger, limiter: opts.Limiter}
	if h.log == nil {
		h.log = slog.Default()
	}
	rel, err := url.Parse(opts.LoginURL)
	if err != nil {
		return nil, errors.New("handoff: LoginURL: not a URL") // Validate parsed it already
	}
	h.loginURL = rel
	if opts.PublicURL != nil {
		h.loginURL = opts.PublicURL.ResolveReference(rel)
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = DefaultRateLimit
	}
	if h.limiter == nil && opts.RateLimit > 0 {
		h.limiter = newLimiter(opts.RateLimit, time.Minute)
	}
	return h, nil
}

// ServeHTTP mints a Rezi user token for the request's user and redirects
// the browser into the RMS: 302 to LoginURL with token and the onboarding
// options; 405 for anything but GET, 400 for a bad option in the query,
// 429 with Retry-After over the limit, 502 when Rezi fails and 504 when it
// is too slow.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		h.errorPage(w, r, http.StatusMethodNotAllowed, "This address does not accept that method.")
		return
	}
	email, uid, ok := h.opts.User(r)
	if !ok {
		h.errorPage(w, r, http.StatusUnauthorized, "You are not signed in.")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	q := r.URL.Query()
	open := h.opts.OpenOnboarding
	openSet := open
	if v, ok := q["openOnboarding"]; ok {
		b, err := strconv.ParseBool(v[0])
		if err != nil || len(v) > 1 {
			h.errorPage(w, r, http.StatusBadRequest, "openOnboarding must be true or false.")
			return
		}
		open, openSet = b, true
	}
	closeTo := h.opts.CloseOnboardingRedirect
	if v, ok := q["closeOnboardingRedirect"]; ok {
		if len(v) > 1 || !localpath.Valid(v[0]) {
			h.errorPage(w, r, http.StatusBadRequest, "closeOnboardingRedirect must be a path on the RMS starting with a single /, such as /dashboard/education.")
			return
		}
		closeTo = v[0]
	}
	if h.limiter != nil {
		ok, retry, err := h.limiter.Allow(r.Context(), uid)
		if err != nil {
			h.unavailable(w, r, err)
			return
		}
		if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter(retry).Seconds())))
			h.errorPage(w, r, http.StatusTooManyRequests, "Too many RMS sign-ins in a short time. Please wait a moment and try again.")
			return
		}
	}
	token, err := h.opts.Rezi.UserToken(r.Context(), email, uid)
	if err != nil {
		status, msg := http.StatusBadGateway, "The RMS sign-in service answered with an error. Please try again; if it persists, contact support with the request id."
		if errors.Is(err, rezi.ErrTimeout) {
			status, msg = http.StatusGatewayTimeout, "The RMS sign-in service took too long to answer. Please try again."
		}
		h.fail(w, r, status, msg, err)
		return
	}
	dst := *h.loginURL
	lq := dst.Query()
	lq.Set("token", token)
	if openSet {
		lq.Set("openOnboarding", strconv.FormatBool(open))
	}
	if closeTo != "" {
		lq.Set("closeOnboardingRedirect", closeTo)
	}
	dst.RawQuery = encodeQuery(lq)
	// The exact value, as http.Redirect would clean the path.
	w.Header().Set("Location", dst.String())
	w.WriteHeader(http.StatusFound)
}

// errorPage answers with a status, a fixed message and the request id.
// It never includes error text: causes go to the log only.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Del("Location")
	pages.Error(w, status, msg, requestid.FromContext(r.Context()))
}

// fail logs err with the request id and answers with errorPage.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string, err error) {
	h.log.Error("request failed", "request_id", requestid.FromContext(r.Context()), "path", r.URL.Path, "status", status, "err", err)
	h.errorPage(w, r, status, msg)
}

// unavailable answers a request whose Limiter could not answer.
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	if h.opts.Unavailable != nil {
		h.opts.Unavailable(w, r, err)
		return
	}
	h.log.Error("hand-off limiter unavailable", "request_id", requestid.FromContext(r.Context()), "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", "5")
	h.errorPage(w, r, http.StatusServiceUnavailable, "RMS sign-ins cannot be counted right now. Please try again in a moment.")
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
