package metrics

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gather returns the number of series of each metric family in reg, and
// the sample count of each counter series by its labels.
func gather(t *testing.T, reg *prometheus.Registry) (series map[string]int, counts map[string]float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series, counts = map[string]int{}, map[string]float64{}
	for _, mf := range mfs {
		series[mf.GetName()] = len(mf.GetMetric())
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			if c := m.GetCounter(); c != nil {
				counts[key] = c.GetValue()
			}
		}
	}
	return series, counts
}

// TestNames: the collectors keep the names dashboards and alerts use.
func TestNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.Request("rezi", 302, time.Millisecond)
	m.Request("rezi", 302, time.Millisecond)
	m.SignIn("ok")
	m.ObserveRezi("cache_hit", time.Millisecond)
	series, counts := gather(t, reg)
	tests := []struct {
		name string
		want int
	}{
		{"rezigate_requests_total", 1},
		{"rezigate_request_duration_seconds", 1},
		{"rezigate_sign_ins_total", 1},
		{"rezigate_rezi_calls_seconds", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := series[tc.name]; n != tc.want {
				t.Errorf("series of %s = %d; want %d", tc.name, n, tc.want)
			}
		})
	}
	if got := counts["rezigate_requests_total,code=302,route=rezi"]; got != 2 {
		t.Errorf("rezigate_requests_total{route=rezi,code=302} = %v; want 2", got)
	}
}

// TestNil: a nil *Metrics records nothing and does not panic.
func TestNil(t *testing.T) {
	var m *Metrics
	m.Request("app", 200, time.Millisecond)
	m.SignIn("ok")
	m.ObserveRezi("ok", time.Millisecond)
}

// TestRegisteredTwice: a second New on the same registry is an error that
// still says which collector clashed.
func TestRegisteredTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(reg); err != nil {
		t.Fatal(err)
	}
	_, err := New(reg)
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("New twice = %v; want a prometheus.AlreadyRegisteredError", err)
	}
}
