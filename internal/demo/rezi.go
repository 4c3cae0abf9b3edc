package demo

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// defaultReziTTL stays under the vendor's "valid for less than 1 hour".
const defaultReziTTL = 55 * time.Minute

// ReziOptions configures NewRezi.
type ReziOptions struct {
	// PrivateKey is the only Bearer key accepted. Required: an empty key
	// would make "Bearer " a valid credential.
	PrivateKey string
	// FirstCallDelay delays the first successful call for a uid never seen
	// before, as the vendor does while it creates the user (about 2 s).
	// Zero means no delay.
	FirstCallDelay time.Duration
	// TokenTTL is the lifetime written into the token's exp claim. Zero
	// means 55 minutes.
	TokenTTL time.Duration
	// Logger receives one line per call, never the key or a token. Nil
	// means slog.Default().
	Logger *slog.Logger
}

// String prints the options without the private key.
func (o ReziOptions) String() string {
	return fmt.Sprintf("demo.ReziOptions{PrivateKey: REDACTED, FirstCallDelay: %v, TokenTTL: %v}", o.FirstCallDelay, o.TokenTTL)
}

// LogValue keeps the private key out of structured logs.
func (o ReziOptions) LogValue() slog.Value {
	return slog.GroupValue(slog.String("private_key", "REDACTED"), slog.Duration("first_call_delay", o.FirstCallDelay))
}

// ReziFault makes the Rezi stand-in fail in one of the ways the real API
// or the network can. Faults apply to requests that pass every check.
type ReziFault int

const (
	// ReziOK is correct behaviour.
	ReziOK ReziFault = iota
	// ReziStatus500 answers 500 {"status":"error"}.
	ReziStatus500
	// ReziStatus503 answers 503 with an empty body.
	ReziStatus503
	// ReziStatus401 answers 401 as if the key were wrong.
	ReziStatus401
	// ReziStatusError answers 200 {"status":"error","message":...}.
	ReziStatusError
	// ReziMissingToken answers 200 {"status":"success"} without a token.
	ReziMissingToken
	// ReziMalformedJSON answers 200 with a truncated JSON body.
	ReziMalformedJSON
	// ReziSlow writes nothing until the request's context is done (the
	// client gave up or the server is shutting down).
	ReziSlow
	// ReziReset closes the connection without a response.
	ReziReset
	// ReziFailOnce answers the next call 503 and then behaves as ReziOK,
	// so a single retry succeeds.
	ReziFailOnce
)

// String names the fault for test output.
func (f ReziFault) String() string {
	names := [...]string{"ReziOK", "ReziStatus500", "ReziStatus503", "ReziStatus401", "ReziStatusError",
		"ReziMissingToken", "ReziMalformedJSON", "ReziSlow", "ReziReset", "ReziFailOnce"}
	if f >= 0 && int(f) < len(names) {
		return names[f]
	}
	return fmt.Sprintf("ReziFault(%d)", int(f))
}

// Rezi stands in for the vendor's POST /v1/user/token. It issues tokens
// that are JWT-shaped but unsigned and marked as demo tokens, so they are
// worthless anywhere else. It is safe for concurrent use.
type Rezi struct {
	auth  []byte // "Bearer " + key
	delay time.Duration
	ttl   time.Duration
	log   *slog.Logger
	now   func() time.Time

	fault atomic.Int32
	calls atomic.Int64

	mu        sync.Mutex
	seen      map[string]bool
	lastEmail string
	lastUID   string
}

// NewRezi checks opts and returns the stand-in.
func NewRezi(opts ReziOptions) (*Rezi, error) {
	var errs []error
	if opts.PrivateKey == "" {
		errs = append(errs, errors.New("private_key: required"))
	}
	if opts.FirstCallDelay < 0 {
		errs = append(errs, errors.New("first_call_delay: must not be negative"))
	}
	if opts.TokenTTL < 0 {
		errs = append(errs, errors.New("token_ttl: must not be negative"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("demo: new rezi: %w", errors.Join(errs...))
	}
	ttl := opts.TokenTTL
	if ttl == 0 {
		ttl = defaultReziTTL
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Rezi{
		auth:  []byte("Bearer " + opts.PrivateKey),
		delay: opts.FirstCallDelay,
		ttl:   ttl,
		log:   log,
		now:   time.Now,
		seen:  map[string]bool{},
	}, nil
}

// String describes the stand-in without its key.
func (z *Rezi) String() string { return "demo.Rezi{PrivateKey: REDACTED}" }

// SetFault switches the stand-in's misbehaviour; ReziOK restores it.
func (z *Rezi) SetFault(f ReziFault) { z.fault.Store(int32(f)) }

// Calls returns the number of token requests received, whatever their
// outcome.
func (z *Rezi) Calls() int { return int(z.calls.Load()) }

// LastRequest returns the body of the last request that passed every check,
// or empty strings if there was none.
func (z *Rezi) LastRequest() (email, uid string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.lastEmail, z.lastUID
}

func reziJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// ServeHTTP serves POST {any prefix}/user/token.
func (z *Rezi) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/user/token") {
		reziJSON(w, http.StatusNotFound, `{"status":"error","message":"not found"}`)
		return
	}
	z.calls.Add(1)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reziJSON(w, http.StatusMethodNotAllowed, `{"status":"error","message":"method not allowed"}`)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		reziJSON(w, http.StatusUnsupportedMediaType, `{"status":"error","message":"content type must be application/json"}`)
		return
	}
	a, b := sha256.Sum256([]byte(r.Header.Get("Authorization"))), sha256.Sum256(z.auth)
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		z.log.Info("demo rezi: call rejected", "reason", "wrong or missing bearer key")
		reziJSON(w, http.StatusUnauthorized, `{"status":"error","message":"unauthorized"}`)
		return
	}
	var body struct {
		Email string `json:"email"`
		UID   string `json:"uid"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Email == "" || body.UID == "" {
		reziJSON(w, http.StatusBadRequest, `{"status":"error","message":"email and uid must be non-empty strings"}`)
		return
	}
	z.mu.Lock()
	z.lastEmail, z.lastUID = body.Email, body.UID
	z.mu.Unlock()

	fault := ReziFault(z.fault.Load())
	if fault == ReziFailOnce && !z.fault.CompareAndSwap(int32(ReziFailOnce), int32(ReziOK)) {
		// Another call consumed the failure first.
		fault = ReziOK
	}
	if fault != ReziOK {
		z.log.Info("demo rezi: injected fault", "fault", fault.String())
	}
	switch fault {
	case ReziStatus500:
		reziJSON(w, http.StatusInternalServerError, `{"status":"error"}`)
		return
	case ReziStatus503, ReziFailOnce:
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case ReziStatus401:
		reziJSON(w, http.StatusUnauthorized, `{"status":"error","message":"unauthorized"}`)
		return
	case ReziStatusError:
		reziJSON(w, http.StatusOK, `{"status":"error","message":"the user token could not be created"}`)
		return
	case ReziMissingToken:
		reziJSON(w, http.StatusOK, `{"status":"success"}`)
		return
	case ReziMalformedJSON:
		reziJSON(w, http.StatusOK, `{"status":"success","userID":"abc","token":"eyJhbGciOiJub25l`)
		return
	case ReziSlow:
		<-r.Context().Done()
		return
	case ReziReset:
		resetConn(w)
		return
	}

	if z.delay > 0 && !z.wasSeen(body.UID) {
		t := time.NewTimer(z.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	z.mu.Lock()
	z.seen[body.UID] = true
	z.mu.Unlock()

	now := z.now()
	tok, err := fakeToken(body.Email, body.UID, now, now.Add(z.ttl))
	if err != nil {
		z.log.Error("demo rezi: build token", "err", err)
		reziJSON(w, http.StatusInternalServerError, `{"status":"error"}`)
		return
	}
	resp, err := json.Marshal(struct {
		Status string `json:"status"`
		UserID string `json:"userID"`
		Token  string `json:"token"`
	}{"success", reziUserID(body.UID), tok})
	if err != nil {
		z.log.Error("demo rezi: encode response", "err", err)
		reziJSON(w, http.StatusInternalServerError, `{"status":"error"}`)
		return
	}
	z.log.Info("demo rezi: user token issued", "uid", body.UID)
	reziJSON(w, http.StatusOK, string(resp))
}

func (z *Rezi) wasSeen(uid string) bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.seen[uid]
}

// resetConn drops the connection without a response. Where the connection
// cannot be hijacked (HTTP/2), aborting the handler resets the stream.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		// Linger 0 sends a TCP RST rather than an orderly FIN.
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// reziUserID derives the vendor-side user id from the uid, so the same uid
// always maps to the same user, as the vendor promises.
func reziUserID(uid string) string {
	sum := sha256.Sum256([]byte("rezi-demo-user|" + uid))
	return hex.EncodeToString(sum[:10])
}

// fakeToken builds a JWT-shaped token with alg "none" and a signature part
// that says what it is. Its payload is readable like a real token's, so
// clients can read exp.
func fakeToken(email, uid string, iat, exp time.Time) (string, error) {
	payload, err := json.Marshal(struct {
		Iss   string `json:"iss"`
		UID   string `json:"uid"`
		Email string `json:"email"`
		Iat   int64  `json:"iat"`
		Exp   int64  `json:"exp"`
		Demo  bool   `json:"demo"`
	}{"rezi-demo", uid, email, iat.Unix(), exp.Unix(), true})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		enc.EncodeToString(payload) + "." + "demo-token-not-valid-anywhere", nil
}
