// Package metrics holds rezigate's Prometheus collectors: requests and
// sign-ins, which the middleware counts, and Rezi user-token lookups,
// which the Rezi client reports through rezi.Options.Observe. Every
// method of a nil *Metrics records nothing, so a part given no Metrics
// needs no check of its own.
package metrics

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the collectors. A nil *Metrics records nothing. It is safe
// for concurrent use.
type Metrics struct {
	children sync.Map // routeCode -> prometheus.Counter, routeKey -> prometheus.Observer
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	signIns  *prometheus.CounterVec
	reziCall *prometheus.HistogramVec
}

// New registers the collectors with reg. Serve reg on a listener of its
// own, never on the public port. An error means a collector of the same
// name is registered with reg already.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rezigate_requests_total",
			Help: "Requests answered, by route class and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rezigate_request_duration_seconds",
			Help:    "Time to answer a request, by route class; route=\"app\" is the upstream latency as seen through the proxy.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}, []string{"route"}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rezigate_sign_ins_total",
			Help: "Sign-in attempts by outcome (started, ok, denied_domain, unverified_email, bad_state, provider_error, invalid_token, no_email, bad_email, userinfo_mismatch, denied_group, session_too_large, store_unavailable, ...).",
		}, []string{"outcome"}),
		reziCall: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rezigate_rezi_calls_seconds",
			Help:    "Rezi user-token lookups by outcome (ok, cache_hit, api_error, bad_response, timeout, network_error).",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 11),
		}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.signIns, m.reziCall} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return m, nil
}

// ObserveRezi records one Rezi lookup; pass it as rezi.Options.Observe.
func (m *Metrics) ObserveRezi(outcome string, elapsed time.Duration) {
	if m == nil {
		return
	}
	m.reziCall.WithLabelValues(outcome).Observe(elapsed.Seconds())
}

// SignIn counts one sign-in attempt by its outcome, a short fixed word
// such as "started", "ok" or "denied_domain" (rezigate_sign_ins_total).
func (m *Metrics) SignIn(outcome string) {
	if m == nil {
		return
	}
	m.signIns.WithLabelValues(outcome).Inc()
}

type routeCode struct {
	route string
	code  int
}

type routeKey string

// Request records one answered request by its route class (a short fixed
// word such as "app", "rezi" or "callback"), status code and time to
// answer (rezigate_requests_total, rezigate_request_duration_seconds).
// The labelled children are looked up once and kept, since a label
// lookup hashes strings on every call.
func (m *Metrics) Request(route string, code int, d time.Duration) {
	if m == nil {
		return
	}
	c, ok := m.children.Load(routeCode{route, code})
	if !ok {
		c, _ = m.children.LoadOrStore(routeCode{route, code}, m.requests.WithLabelValues(route, strconv.Itoa(code)))
	}
	c.(prometheus.Counter).Inc()
	h, ok := m.children.Load(routeKey(route))
	if !ok {
		h, _ = m.children.LoadOrStore(routeKey(route), m.duration.WithLabelValues(route))
	}
	h.(prometheus.Observer).Observe(d.Seconds())
}
