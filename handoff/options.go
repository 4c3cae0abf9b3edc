package handoff

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rezigate/rezigate/internal/httpurl"
	"github.com/rezigate/rezigate/internal/localpath"
	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/rezi"
)

// Path is where the middleware mounts the hand-off.
const Path = "/rezi"

// DefaultRateLimit is Options.RateLimit when it is zero: hand-offs per
// minute per uid.
const DefaultRateLimit = 10

// Options configure the hand-off: a signed-in user's token from Rezi, then
// a redirect into the RMS with it. Rezi, User and LoginURL are required;
// middleware.New fills User, PublicURL, Unavailable and Logger when they
// are nil, so that an embedder of the middleware sets only the first six
// fields.
type Options struct {
	// Rezi mints RMS login tokens. Required by New; in middleware.Options,
	// nil means the middleware answers /rezi with 404.
	Rezi *rezi.Client
	// LoginURL is the RMS login URL that the hand-off redirects to with
	// the user token: an absolute http(s) URL without user info or
	// fragment, or a local path (starting with a single "/") resolved
	// against PublicURL. Required when Rezi is set.
	LoginURL string
	// OpenOnboarding is the default for the openOnboarding option of the
	// RMS login URL; a ?openOnboarding= query overrides it.
	OpenOnboarding bool
	// CloseOnboardingRedirect is the default for closeOnboardingRedirect,
	// a local path starting with a single "/"; empty means the option is
	// not sent. A ?closeOnboardingRedirect= query overrides it.
	CloseOnboardingRedirect string
	// RateLimit is how many hand-offs one uid may make per minute, counted
	// in this process. Zero means DefaultRateLimit; negative turns the
	// limit off.
	RateLimit int
	// Limiter, when not nil, replaces the in-process limit (RateLimit is
	// then ignored): a limit shared by every replica, such as
	// redisstore.Limiter. Every hand-off counts, cached tokens too. When
	// it cannot answer, Unavailable answers.
	Limiter Limiter

	// PublicURL is the site's external base URL, against which a LoginURL
	// that is a local path is resolved. Required with such a LoginURL;
	// middleware.New sets its own Options.PublicURL when nil.
	PublicURL *url.URL
	// User returns the signed-in user of a request: the email and uid sent
	// to Rezi, ok false when there is none (the answer is then 401 and no
	// token is minted). The hand-off does not check sessions or access
	// itself: mount it behind what does, and let User read what that put
	// in the request. Required by New; middleware.New sets the user that
	// (*middleware.Auth).Wrap found.
	User func(r *http.Request) (email, uid string, ok bool)
	// Unavailable answers a request whose Limiter could not answer, err
	// saying why. Nil means 503 with Retry-After: 5 and a short page, and
	// err logged. middleware.New sets its session-store answer, since a
	// shared Limiter lives in the store's Redis.
	Unavailable func(w http.ResponseWriter, r *http.Request, err error)
	// Logger receives failures. Nil means slog.Default(); middleware.New
	// sets its own Options.Logger.
	Logger *slog.Logger
}

// Limiter limits how often each uid may do something. The in-process
// limit of Options.RateLimit is one; redisstore.Limiter, shared by every
// replica, is another.
type Limiter interface {
	// Allow counts one call of uid and reports whether it is within the
	// limit; when it is not, retryAfter says how long to wait. An error
	// means the limiter could not answer.
	Allow(ctx context.Context, uid string) (ok bool, retryAfter time.Duration, err error)
}

// Validate reports every problem with the settings of o at once:
// errors.Join of *optionerr.Error values reading "handoff: Field: what is
// wrong". It leaves Rezi and User, which New requires, alone, so that
// settings can be checked before those parts are built. It does no I/O;
// nil means New accepts o once Rezi and User are set.
func (o Options) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, optionerr.New("handoff", field, format, args...))
	}
	switch {
	case o.LoginURL == "":
		if o.Rezi != nil {
			add("LoginURL", "required when Rezi is set")
		}
	default:
		if msg := checkLoginURL(o.LoginURL); msg != "" {
			add("LoginURL", "%s", msg)
		} else if strings.HasPrefix(o.LoginURL, "/") && o.PublicURL == nil {
			add("PublicURL", "required when LoginURL is a local path")
		}
	}
	if o.CloseOnboardingRedirect != "" && !localpath.Valid(o.CloseOnboardingRedirect) {
		add("CloseOnboardingRedirect", "must be a local path starting with a single /, such as /dashboard")
	}
	if o.PublicURL != nil {
		if err := httpurl.Check(o.PublicURL, 0); err != nil {
			add("PublicURL", "%s", err)
		}
	}
	return errors.Join(errs...)
}

// checkLoginURL returns what is wrong with a LoginURL, or "".
func checkLoginURL(raw string) string {
	const msg = "must be an absolute http or https URL, or a local path starting with a single /"
	if strings.HasPrefix(raw, "/") {
		if !localpath.Valid(raw) {
			return msg
		}
		return ""
	}
	switch _, err := httpurl.Parse(raw, 0); {
	case errors.Is(err, httpurl.ErrNotAbsolute):
		return msg
	case err != nil:
		return err.Error()
	}
	return ""
}
