package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// expect is what every answer of a load must look like to count as a
// success.
type expect struct {
	status int
	// bodyLen is the exact body length of a 200.
	bodyLen int
	// locationPrefix, for a 302, starts the Location header.
	locationPrefix string
}

// loadSpec is one load: n requests of GET url with cookie, c at a time.
type loadSpec struct {
	url    string
	cookie string
	n, c   int
	want   expect
}

// loadResult is what one load measured.
type loadResult struct {
	requests, errors int
	elapsed          time.Duration
	p50, p99         time.Duration
	firstError       string
}

// newLoadClient is the one client every target is loaded with: keep-alive
// connections, at least as many idle ones as workers, no compression, and
// redirects not followed (a /rezi answer is measured, not the RMS).
func newLoadClient(c int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        2 * c,
			MaxIdleConnsPerHost: 2 * c,
			MaxConnsPerHost:     0,
			IdleConnTimeout:     5 * time.Minute,
			DisableCompression:  true,
		},
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// runLoad sends s.n requests from s.c workers and times each. It stops
// early, counting the rest as not sent, when ctx is done.
func runLoad(ctx context.Context, client *http.Client, s loadSpec) loadResult {
	var next, failed atomic.Int64
	var firstErr sync.Once
	var res loadResult
	lat := make([][]time.Duration, s.c)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range s.c {
		lat[w] = make([]time.Duration, 0, s.n/s.c+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && next.Add(1) <= int64(s.n) {
				t0 := time.Now()
				err := fetch(ctx, client, s)
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil {
					failed.Add(1)
					firstErr.Do(func() { res.firstError = err.Error() })
				}
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	res.requests = len(all)
	res.errors = int(failed.Load())
	if missing := s.n - res.requests; missing > 0 {
		res.errors += missing
		firstErr.Do(func() { res.firstError = fmt.Sprintf("%d requests not sent: %v", missing, ctx.Err()) })
	}
	res.p50 = percentile(all, 0.50)
	res.p99 = percentile(all, 0.99)
	return res
}

// fetch makes one request and checks its answer.
func fetch(ctx context.Context, client *http.Client, s loadSpec) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return err
	}
	if s.cookie != "" {
		req.Header["Cookie"] = []string{s.cookie}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return fmt.Errorf("reading the body: %w", err)
	case resp.StatusCode != s.want.status:
		return fmt.Errorf("status %d; want %d", resp.StatusCode, s.want.status)
	case s.want.status == http.StatusOK && n != int64(s.want.bodyLen):
		return fmt.Errorf("body of %d bytes; want %d", n, s.want.bodyLen)
	case s.want.locationPrefix != "" && !strings.HasPrefix(resp.Header.Get("Location"), s.want.locationPrefix):
		return fmt.Errorf("redirect elsewhere than %s", s.want.locationPrefix)
	}
	return nil
}

// percentile returns the q quantile (nearest rank) of sorted durations,
// or 0 for none.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
