package middleware

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus collectors of the middleware and its Rezi
// client. A nil *Metrics records nothing.
type Metrics struct {
	children sync.Map // routeCode -> prometheus.Counter, routeKey -> prometheus.Observer
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	signIns  *prometheus.CounterVec
	reziCall *prometheus.HistogramVec
}

// NewMetrics registers the collectors with reg. Serve reg on a listener
// of its own, never on the public port.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
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
			return nil, err
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

func (m *Metrics) signIn(outcome string) {
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

// request records one answered request. The labelled children are looked
// up once and kept, since a label lookup hashes strings on every call.
func (m *Metrics) request(route string, code int, d time.Duration) {
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
