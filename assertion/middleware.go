package assertion

import (
	"context"
	"errors"
	"net/http"
)

// DefaultHeader is the request header Require reads when given "". A proxy
// that sets it deletes any copy the client sent first.
const DefaultHeader = "X-Rezigate-Assertion"

// unauthorized is the whole body of a refusal: fixed, so no detail about
// the token or the verifier reaches the client.
const unauthorized = `{"error":"unauthorized"}` + "\n"

type ctxKey struct{}

// NewContext returns ctx carrying c, as Require stores it; handler tests
// use it to stand in for a verified request.
func NewContext(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the claims Require verified for this request, and
// false if there are none.
func FromContext(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(Claims)
	return c, ok
}

// Require returns middleware that passes a request to the next handler
// only when the header (DefaultHeader if "") holds exactly one assertion
// that v verifies; the claims are then in the request context
// (FromContext). Any other request gets 401 with a small fixed JSON body
// and Cache-Control no-store; the reason is logged at debug level (a
// missing header) or info level (a refused assertion) through v's Logger,
// never with the token. Require panics if v is nil.
func Require(v *Verifier, header string) func(http.Handler) http.Handler {
	if v == nil {
		panic("assertion: Require with a nil Verifier")
	}
	if header == "" {
		header = DefaultHeader
	}
	header = http.CanonicalHeaderKey(header)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			vals := r.Header[header]
			if len(vals) != 1 || vals[0] == "" {
				v.log.DebugContext(r.Context(), "assertion: request refused", "reason", "want exactly one "+header+" header", "count", len(vals), "path", r.URL.Path)
				refuse(w)
				return
			}
			got, err := v.Verify(r.Context(), vals[0])
			if err != nil {
				logf := v.log.InfoContext
				if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
					logf = v.log.DebugContext // the client left while a key was fetched
				}
				logf(r.Context(), "assertion: request refused", "err", err, "path", r.URL.Path)
				refuse(w)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), got.Claims)))
		})
	}
}

func refuse(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(unauthorized))
}
