package cli

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// load is what a bounded burst of keep-alive clients got from one URL.
type load struct {
	requests, ok, concurrency int
	p50, p99, max             time.Duration
	firstError                string
}

func (l load) String() string {
	return fmt.Sprintf("%d requests at concurrency %d: %.1f%% ok, p50 %s, p99 %s, max %s",
		l.requests, l.concurrency, 100*float64(l.ok)/float64(l.requests), l.p50, l.p99, l.max)
}

// burst runs clients concurrent clients, each with its own keep-alive
// connection, sending perClient GETs to url one after another and keeping
// the connection open until every client is done (as pooling clients and
// proxies do); every request has a 5 s limit, so the whole burst is bounded.
func burst(url string, clients, perClient int) load {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		res       = load{requests: clients * perClient, concurrency: clients}
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
					res.ok++
				} else if res.firstError == "" {
					res.firstError = err.Error()
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
	slices.Sort(latencies)
	res.p50 = latencies[len(latencies)/2]
	res.p99 = latencies[len(latencies)*99/100]
	res.max = latencies[len(latencies)-1]
	return res
}

// Right after start, bursts of concurrent keep-alive clients lose no
// request and none hangs (a burst of 20 lost 16 and some waited 10 s when
// the server parked queued connections behind idle keep-alive ones).
func TestKeepAliveBurstsLoseNothing(t *testing.T) {
	st := newOwnStack(t)
	st.mage(t, "services:start").expect(t, 0, "orchestration healthy in")
	for _, p := range st.ports {
		for _, clients := range []int{8, 20, 50} {
			l := burst("http://127.0.0.1:"+strconv.Itoa(p)+"/health", clients, 10)
			t.Logf("port %d: %s", p, l)
			if l.ok != l.requests {
				t.Errorf("port %d, %d clients: %d of %d requests failed (first: %s)", p, clients, l.requests-l.ok, l.requests, l.firstError)
			}
		}
	}
}

// The stack under bounded load on loopback: for each service, bursts of 50
// keep-alive clients on /health (requests, success rate, p50, p99), and the
// task round trip (submit a sum to the Rust worker, wait for its result)
// while such a burst runs. Run:
// go test -bench ServicesUnderLoad -run '^$' -benchtime 3x ./magefiles/internal/cli/
func BenchmarkServicesUnderLoad(b *testing.B) {
	st := newOwnStack(b)
	st.mage(b, "services:start").expect(b, 0, "orchestration healthy in")
	names := []string{"orchestration", "rust-worker"}
	for i, p := range st.ports {
		b.Run(names[i]+"/health-c50", func(b *testing.B) {
			var all []load
			for range b.N {
				all = append(all, burst("http://127.0.0.1:"+strconv.Itoa(p)+"/health", 50, 20))
			}
			l := worst(all)
			b.ReportMetric(100*float64(l.ok)/float64(l.requests), "%ok")
			b.ReportMetric(float64(l.p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(l.p99.Microseconds())/1000, "p99-ms")
			b.Logf("%s: %s", names[i], l)
		})
	}
	b.Run("task-round-trip-under-load", func(b *testing.B) {
		var trips []time.Duration
		for range b.N {
			done := make(chan load)
			go func() { done <- burst("http://127.0.0.1:"+strconv.Itoa(st.ports[0])+"/health", 50, 20) }()
			begin := time.Now()
			st.roundTrip(b, 20*time.Second)
			trips = append(trips, time.Since(begin))
			<-done
		}
		slices.Sort(trips)
		b.ReportMetric(float64(trips[len(trips)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(trips[len(trips)-1].Microseconds())/1000, "max-ms")
	})
}

// worst is the load result with the highest p99 of several runs.
func worst(all []load) load {
	w := all[0]
	for _, l := range all[1:] {
		if l.p99 > w.p99 || l.ok < l.requests {
			w = l
		}
	}
	return w
}
