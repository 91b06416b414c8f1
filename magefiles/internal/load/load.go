// Package load drives bounded HTTP load at the local stack, on loopback
// only: bursts of keep-alive clients against one URL, and task round trips
// through the orchestration API (submit a task, poll until it is final,
// check its result). Both report latency percentiles. The end-to-end
// benchmark (internal/bench) and the load tests (internal/cli) share it.
package load

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Stats summarises the latencies of successful operations.
type Stats struct {
	N                   int
	P50, P99, Max, Mean time.Duration
}

// Summarize computes Stats; percentiles are nearest-rank (the smallest
// sample that at least p% of the samples do not exceed), so p99 of fewer
// than 100 samples is the maximum.
func Summarize(latencies []time.Duration) Stats {
	if len(latencies) == 0 {
		return Stats{}
	}
	sorted := slices.Clone(latencies)
	slices.Sort(sorted)
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	return Stats{
		N:    len(sorted),
		P50:  Percentile(sorted, 50),
		P99:  Percentile(sorted, 99),
		Max:  sorted[len(sorted)-1],
		Mean: sum / time.Duration(len(sorted)),
	}
}

// Percentile is the nearest-rank p-th percentile of sorted (ascending).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Result is what Drive observed.
type Result struct {
	Ops        int             // operations started
	Errors     int             // operations that failed
	FirstError error           // the first failure, if any
	Latencies  []time.Duration // one per successful operation
	Wall       time.Duration   // from the first start to the last end
}

// Stats summarises the successful operations.
func (r Result) Stats() Stats { return Summarize(r.Latencies) }

// PerSecond is the rate of successful operations over the wall time.
func (r Result) PerSecond() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return float64(len(r.Latencies)) / r.Wall.Seconds()
}

// Drive runs op n times with at most concurrency in flight, timing each.
// It stops starting new operations once ctx ends (those not started are
// not counted), so a deadline on ctx bounds the whole run.
func Drive(ctx context.Context, n, concurrency int, op func(context.Context) error) Result {
	concurrency = max(1, min(concurrency, n))
	var (
		mu  sync.Mutex
		res Result
		wg  sync.WaitGroup
		// Operations are handed out one at a time, so the count is exact.
		next  = make(chan struct{})
		begin = time.Now()
	)
	for range concurrency {
		wg.Go(func() {
			for range next {
				start := time.Now()
				err := op(ctx)
				took := time.Since(start)
				mu.Lock()
				if err != nil {
					res.Errors++
					if res.FirstError == nil {
						res.FirstError = err
					}
				} else {
					res.Latencies = append(res.Latencies, took)
				}
				mu.Unlock()
			}
		})
	}
feed:
	for range n {
		select {
		case next <- struct{}{}:
			res.Ops++
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	res.Wall = time.Since(begin)
	if res.Ops < n && res.FirstError == nil {
		res.FirstError = fmt.Errorf("stopped after %d of %d operations: %w", res.Ops, n, context.Cause(ctx))
	}
	return res
}

// BurstResult is what a burst of keep-alive clients got from one URL.
type BurstResult struct {
	Requests, OK, Concurrency int
	Stats
	FirstError string
}

func (l BurstResult) String() string {
	return fmt.Sprintf("%d requests at concurrency %d: %.1f%% ok, p50 %s, p99 %s, max %s",
		l.Requests, l.Concurrency, 100*float64(l.OK)/float64(l.Requests), l.P50, l.P99, l.Max)
}

// Burst runs clients concurrent clients, each with its own keep-alive
// connection, sending perClient GETs to url one after another and keeping
// the connection open until every client is done (as pooling clients and
// proxies do); every request has a 5 s limit, so the whole burst is bounded.
func Burst(url string, clients, perClient int) BurstResult {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		res       = BurstResult{Requests: clients * perClient, Concurrency: clients}
		wg        sync.WaitGroup
		start     = make(chan struct{})
	)
	var conns []*http.Client
	for range clients {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1, Proxy: nil}}
		conns = append(conns, c)
		wg.Go(func() {
			<-start
			for range perClient {
				begin := time.Now()
				resp, err := c.Get(url)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
				}
				took := time.Since(begin)
				mu.Lock()
				latencies = append(latencies, took)
				if err == nil {
					res.OK++
				} else if res.FirstError == "" {
					res.FirstError = err.Error()
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	for _, c := range conns {
		c.CloseIdleConnections()
	}
	res.Stats = Summarize(latencies)
	return res
}
