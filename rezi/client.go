package rezi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/rezigate/rezigate/internal/requestid"
)

// ErrTimeout is matched (errors.Is) by UserToken errors caused by the
// overall Timeout or the caller's context deadline expiring. Callers answer
// it with 504 rather than 502.
var ErrTimeout = errors.New("rezi: timed out")

// maxInputLen bounds email and uid, which become cache keys held in memory.
const maxInputLen = 1024

// Retry policy: one retry after a random pause, and only if at least
// minRetryBudget of the overall timeout is left once the pause is over;
// a retry with less time would most likely end in a timeout anyway.
const (
	retryPauseMin  = 100 * time.Millisecond
	retryPauseSpan = 200 * time.Millisecond
	minRetryBudget = 250 * time.Millisecond
)

// Observe outcomes.
const (
	outcomeOK           = "ok"
	outcomeAPIError     = "api_error"
	outcomeBadResponse  = "bad_response"
	outcomeTimeout      = "timeout"
	outcomeNetworkError = "network_error"
	outcomeCacheHit     = "cache_hit"
)

// APIError reports that Rezi answered but did not issue a token: a non-2xx
// status, or a 2xx whose "status" is not "success". Its text is built only
// from the status code, never from the response, whose body may hold a
// token or echo the request.
type APIError struct {
	// StatusCode is the HTTP status code of Rezi's answer.
	StatusCode int
	// Status is StatusCode with its standard text, e.g. "503 Service
	// Unavailable" (not the server's own reason phrase).
	Status string
	// Reason is a short fixed description of what was wrong, meant for
	// operators, e.g. "private key rejected".
	Reason string
}

// Error implements error. It never includes a response body or a token.
func (e *APIError) Error() string {
	if e.Reason == "" {
		return "api answered " + e.Status
	}
	return "api answered " + e.Status + ": " + e.Reason
}

func newAPIError(code int, reason string) *APIError {
	return &APIError{StatusCode: code, Status: fmt.Sprintf("%d %s", code, http.StatusText(code)), Reason: reason}
}

func statusReason(code int) string {
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return "private key rejected"
	case code == http.StatusTooManyRequests:
		return "rate limited"
	case code >= 300 && code < 400:
		return "redirect not followed"
	case code >= 400 && code < 500:
		return "request rejected"
	default:
		return "server error"
	}
}

// timeoutError carries the cause of a timeout while matching ErrTimeout.
type timeoutError struct{ cause error }

func (e timeoutError) Error() string        { return "timed out: " + e.cause.Error() }
func (e timeoutError) Unwrap() error        { return e.cause }
func (e timeoutError) Is(target error) bool { return target == ErrTimeout }

// Client fetches Rezi user tokens. It is safe for concurrent use. It holds
// the private key, so it prints as rezi.Client{api_url} without it.
type Client struct {
	endpoint string
	auth     string // "Bearer " + key
	hc       *http.Client
	timeout  time.Duration
	margin   time.Duration
	cache    *tokenCache // nil when caching is off or shared
	shared   TokenCache  // Options.TokenCache; nil when not set
	flights  singleflight.Group
	log      *slog.Logger
	observe  func(string, time.Duration)

	now        func() time.Time     // replaced in tests
	retryPause func() time.Duration // replaced in tests
}

// New returns a Client for opts after validating it; an invalid opts
// gets Validate's error unchanged. It does no network I/O.
func New(opts Options) (*Client, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	c := &Client{
		auth:       "Bearer " + opts.PrivateKey,
		timeout:    opts.Timeout,
		margin:     opts.CacheMargin,
		log:        opts.Logger,
		observe:    opts.Observe,
		now:        time.Now,
		retryPause: func() time.Duration { return retryPauseMin + rand.N(retryPauseSpan) },
	}
	apiURL := opts.APIURL
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	c.endpoint = strings.TrimRight(apiURL, "/") + "/user/token"
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.margin == 0 {
		c.margin = DefaultCacheMargin
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	switch {
	case opts.TokenCache != nil:
		c.shared = opts.TokenCache
	case opts.CacheSize == 0:
		c.cache = newTokenCache(DefaultCacheSize)
	case opts.CacheSize > 0:
		c.cache = newTokenCache(opts.CacheSize)
	}
	if opts.HTTPClient != nil {
		hc := *opts.HTTPClient
		c.hc = &hc
	} else {
		c.hc = &http.Client{Transport: newTransport(c.timeout)}
	}
	c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c, nil
}

func newTransport(timeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    5 * time.Second,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    64,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
}

// String describes c without its private key.
func (c *Client) String() string { return fmt.Sprintf("rezi.Client{%s}", c.endpoint) }

// GoString makes %#v as safe as %v.
func (c *Client) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the private key.
func (c *Client) LogValue() slog.Value { return slog.StringValue(c.String()) }

// CloseIdleConnections closes idle keep-alive connections to Rezi, as
// http.Client.CloseIdleConnections does; call it at shutdown.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// UserToken returns a Rezi user token for email and uid, from the cache
// when one is still valid, otherwise from Rezi. Concurrent calls for the
// same user share one request, which runs under the Client's Timeout and
// is not cancelled when one caller gives up; each caller still returns as
// soon as its own ctx is done. Errors match ErrTimeout on timeouts and
// *APIError when Rezi refused; their text never includes the private key,
// a token or a response body. The token grants a login to the RMS: treat
// it as a secret.
func (c *Client) UserToken(ctx context.Context, email, uid string) (string, error) {
	if email == "" || uid == "" {
		return "", errors.New("rezi: request user token: email and uid are required")
	}
	if len(email) > maxInputLen || len(uid) > maxInputLen {
		return "", fmt.Errorf("rezi: request user token: email or uid longer than %d bytes", maxInputLen)
	}
	k := userKey{email: email, uid: uid}
	if c.cache != nil {
		start := time.Now()
		if tok, ok := c.cache.get(k, c.now()); ok {
			if c.observe != nil {
				c.observe(outcomeCacheHit, time.Since(start))
			}
			return tok, nil
		}
	}
	if c.shared != nil {
		start := time.Now()
		tok, ok, err := c.shared.Get(ctx, email, uid)
		switch {
		case err != nil:
			c.logAttrs(ctx, slog.LevelWarn, "rezi: shared token cache unavailable; asking Rezi",
				slog.String("uid", uid), slog.String("error", err.Error()))
		case ok:
			if c.observe != nil {
				c.observe(outcomeCacheHit, time.Since(start))
			}
			return tok, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return "", callerError(err)
	}
	ch := c.flights.DoChan(k.flightKey(), func() (any, error) {
		return c.fetch(ctx, k)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	case <-ctx.Done():
		return "", callerError(ctx.Err())
	}
}

func callerError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		err = timeoutError{err}
	}
	return fmt.Errorf("rezi: request user token: %w", err)
}

// fetch asks Rezi for k's token, retrying once when that can help, and
// caches the result. It runs once per flight, detached from the caller's
// cancellation so that one impatient caller does not fail the others.
func (c *Client) fetch(parent context.Context, k userKey) (string, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), c.timeout)
	defer cancel()

	body, err := json.Marshal(struct {
		Email string `json:"email"`
		UID   string `json:"uid"`
	}{k.email, k.uid})
	if err != nil {
		return "", fmt.Errorf("rezi: request user token: encode request: %w", err)
	}

	tok, outcome, retry, err := c.attempt(ctx, body)
	attempts := 1
	if retry {
		pause := c.retryPause()
		deadline, _ := ctx.Deadline()
		if time.Until(deadline) >= pause+minRetryBudget {
			c.logAttrs(ctx, slog.LevelWarn, "rezi: retrying user token request",
				slog.String("uid", k.uid), slog.String("outcome", outcome),
				slog.String("error", err.Error()), slog.Duration("pause", pause))
			t := time.NewTimer(pause)
			select {
			case <-t.C:
				tok, outcome, _, err = c.attempt(ctx, body)
				attempts++
			case <-ctx.Done():
				t.Stop()
				outcome, err = outcomeTimeout, timeoutError{ctx.Err()}
			}
		}
	}
	elapsed := time.Since(start)
	if c.observe != nil {
		c.observe(outcome, elapsed)
	}
	if err != nil {
		c.logAttrs(ctx, slog.LevelDebug, "rezi: user token request failed",
			slog.String("uid", k.uid), slog.String("outcome", outcome), slog.Int("attempts", attempts),
			slog.Duration("elapsed", elapsed), slog.String("error", err.Error()))
		return "", fmt.Errorf("rezi: request user token: %w", err)
	}
	cached := false
	if until, ok := cacheUntil(tok, c.now(), c.margin); ok {
		switch {
		case c.cache != nil:
			c.cache.put(k, tok, until)
			cached = true
		case c.shared != nil:
			// The shared cache takes the expiry and applies its own margin.
			if err := c.shared.Put(ctx, k.email, k.uid, tok, until.Add(c.margin)); err != nil {
				c.logAttrs(ctx, slog.LevelWarn, "rezi: shared token cache unavailable; token not cached",
					slog.String("uid", k.uid), slog.String("error", err.Error()))
			} else {
				cached = true
			}
		}
	}
	c.logAttrs(ctx, slog.LevelDebug, "rezi: user token issued",
		slog.String("uid", k.uid), slog.Int("attempts", attempts),
		slog.Duration("elapsed", elapsed), slog.Bool("cached", cached))
	return tok, nil
}

// attempt makes one request. retry reports whether the failure is one a
// second attempt may cure: a dropped or refused connection or a
// 502/503/504. Errors carry no package prefix; fetch adds it.
func (c *Client) attempt(ctx context.Context, body []byte) (tok, outcome string, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return "", outcomeNetworkError, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", c.auth)

	resp, err := c.hc.Do(req)
	if err != nil {
		outcome, retry, err = transportOutcome(ctx, err)
		return "", outcome, retry, err
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Drain a little so the connection can be reused; the body is
		// never looked at.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
		switch resp.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			retry = true
		}
		return "", outcomeAPIError, retry, newAPIError(resp.StatusCode, statusReason(resp.StatusCode))
	}
	if resp.ContentLength > maxResponseBytes {
		return "", outcomeBadResponse, false, fmt.Errorf("bad response: %w", errTooLarge)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		o, r, e := transportOutcome(ctx, err)
		return "", o, r, fmt.Errorf("read response: %w", e)
	}
	tok, err = parseTokenResponse(raw)
	switch {
	case errors.Is(err, errNotSuccess):
		return "", outcomeAPIError, false, newAPIError(resp.StatusCode, err.Error())
	case err != nil:
		return "", outcomeBadResponse, false, fmt.Errorf("bad response: %w", err)
	}
	return tok, outcomeOK, false, nil
}

// transportOutcome classifies an error from sending a request or reading
// its response.
func transportOutcome(ctx context.Context, err error) (outcome string, retry bool, _ error) {
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return outcomeTimeout, false, timeoutError{err}
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return outcomeNetworkError, true, err
	default:
		// TLS verification failures, unknown hosts and the like: a retry
		// a moment later would fail the same way.
		return outcomeNetworkError, false, err
	}
}

func (c *Client) logAttrs(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if !c.log.Enabled(ctx, level) {
		return
	}
	if id := requestid.FromContext(ctx); id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	c.log.LogAttrs(ctx, level, msg, attrs...)
}
