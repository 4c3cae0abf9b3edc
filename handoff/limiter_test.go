package handoff

import (
	"strconv"
	"testing"
	"time"
)

// step is one limiter call at a moment after the test's start.
type step struct {
	key       string
	at        time.Duration
	wantOK    bool
	wantRetry time.Duration
}

func TestLimiterAllow(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name      string
		perMinute int
		steps     []step
	}{
		{
			name: "burst then refused until a token is back", perMinute: 3,
			steps: []step{
				{"a", 0, true, 0}, {"a", 0, true, 0}, {"a", 0, true, 0},
				{"a", 0, false, 20 * time.Second},
				{"a", 19 * time.Second, false, time.Second},
				{"a", 20 * time.Second, true, 0},
				{"a", 20 * time.Second, false, 20 * time.Second},
			},
		},
		{
			name: "a refusal does not use up a token", perMinute: 1,
			steps: []step{
				{"a", 0, true, 0},
				{"a", time.Second, false, 59 * time.Second},
				{"a", 2 * time.Second, false, 58 * time.Second},
				{"a", time.Minute, true, 0},
			},
		},
		{
			name: "keys are independent", perMinute: 1,
			steps: []step{
				{"a", 0, true, 0}, {"a", 0, false, time.Minute},
				{"b", 0, true, 0}, {"b", 0, false, time.Minute},
			},
		},
		{
			name: "retry rounds a fraction up", perMinute: 7, // a token every 8.57s
			steps: []step{
				{"a", 0, true, 0}, {"a", 0, true, 0}, {"a", 0, true, 0}, {"a", 0, true, 0},
				{"a", 0, true, 0}, {"a", 0, true, 0}, {"a", 0, true, 0},
				{"a", 0, false, 9 * time.Second},
				{"a", 8 * time.Second, false, time.Second},
			},
		},
		{
			name: "retry just past a whole second is the next second", perMinute: 30, // a token every 2s
			steps: append(burst("a", 30), step{"a", time.Second - 100*time.Microsecond, false, 2 * time.Second}),
		},
		{
			name: "retry under a millisecond is still one second", perMinute: 60,
			steps: append(burst("a", 60), step{"a", time.Second - 100*time.Microsecond, false, time.Second}),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(tc.perMinute, time.Minute)
			for i, s := range tc.steps {
				ok, retry := l.allowAt(s.key, t0.Add(s.at))
				if ok != s.wantOK || retry != s.wantRetry {
					t.Errorf("step %d: allowAt(%q, t0+%v) = %v, %v; want %v, %v", i, s.key, s.at, ok, retry, s.wantOK, s.wantRetry)
				}
			}
		})
	}
}

// burst is n allowed calls for key at t0.
func burst(key string, n int) []step {
	s := make([]step, n)
	for i := range s {
		s[i] = step{key, 0, true, 0}
	}
	return s
}

// TestLimiterBound: the buckets are bounded by an LRU, the least recently
// seen uid going first, so memory stays bounded however many uids come.
func TestLimiterBound(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	l := newLimiterSize(1, time.Minute, 2)
	steps := []step{
		{"a", 0, true, 0}, {"b", 0, true, 0},
		{"a", 0, false, time.Minute}, // a is now more recent than b
		{"c", 0, true, 0},            // b's bucket goes
		{"a", 0, false, time.Minute}, // a's is kept
		{"b", 0, true, 0},            // a fresh bucket for b
	}
	for i, s := range steps {
		if ok, retry := l.allowAt(s.key, t0.Add(s.at)); ok != s.wantOK || retry != s.wantRetry {
			t.Errorf("step %d: allowAt(%q) = %v, %v; want %v, %v", i, s.key, ok, retry, s.wantOK, s.wantRetry)
		}
	}
	for i := range 100 {
		l.allowAt("u"+strconv.Itoa(i), t0)
	}
	if n := l.buckets.Len(); n != 2 {
		t.Errorf("after 100 uids the limiter holds %d buckets; want 2", n)
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		in, want time.Duration
	}{
		{0, time.Second},
		{time.Nanosecond, time.Second},
		{999 * time.Millisecond, time.Second},
		{time.Second, time.Second},
		{time.Second + time.Nanosecond, 2 * time.Second},
		{20 * time.Second, 20 * time.Second},
		{59*time.Second + 1, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.in.String(), func(t *testing.T) {
			if got := retryAfter(tc.in); got != tc.want {
				t.Errorf("retryAfter(%v) = %v; want %v", tc.in, got, tc.want)
			}
		})
	}
}

// BenchmarkLimiterAllow is one /rezi request's rate-limit check, for
// uids spread over 1000 users whose buckets are never empty.
func BenchmarkLimiterAllow(b *testing.B) {
	l := newLimiter(1<<30, time.Minute)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "uid-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if ok, _ := l.allow(keys[i%len(keys)]); !ok {
			b.Fatal("refused")
		}
		i++
	}
}
