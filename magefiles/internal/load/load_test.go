package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func ms(n ...int) []time.Duration {
	var out []time.Duration
	for _, v := range n {
		out = append(out, time.Duration(v)*time.Millisecond)
	}
	return out
}

func TestSummarizeIsNearestRank(t *testing.T) {
	var hundred []int
	for i := 100; i >= 1; i-- { // unsorted input
		hundred = append(hundred, i)
	}
	for _, c := range []struct {
		in            []time.Duration
		p50, p99, max time.Duration
		mean          time.Duration
		n             int
		name          string
	}{
		{ms(hundred...), 50 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond, 50500 * time.Microsecond, 100, "1..100"},
		{ms(30, 10, 20), 20 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond, 20 * time.Millisecond, 3, "three"},
		{ms(7), 7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond, 1, "one"},
		{nil, 0, 0, 0, 0, 0, "none"},
	} {
		s := Summarize(c.in)
		if s.N != c.n || s.P50 != c.p50 || s.P99 != c.p99 || s.Max != c.max || s.Mean != c.mean {
			t.Errorf("%s: %+v, want n %d p50 %s p99 %s max %s mean %s", c.name, s, c.n, c.p50, c.p99, c.max, c.mean)
		}
	}
	in := ms(3, 1, 2)
	Summarize(in)
	if in[0] != 3*time.Millisecond {
		t.Error("Summarize sorted its input in place")
	}
}

// Drive runs exactly n operations, never more than concurrency at once,
// and counts failures apart from latencies.
func TestDriveIsBounded(t *testing.T) {
	var inFlight, peak, calls atomic.Int32
	res := Drive(context.Background(), 40, 3, func(context.Context) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(2 * time.Millisecond)
		if calls.Add(1)%10 == 0 {
			return errors.New("every tenth fails")
		}
		return nil
	})
	if calls.Load() != 40 || res.Ops != 40 {
		t.Fatalf("%d calls, %d ops, want 40", calls.Load(), res.Ops)
	}
	if peak.Load() > 3 || peak.Load() < 2 {
		t.Errorf("peak concurrency %d, want 3 (at most)", peak.Load())
	}
	if res.Errors != 4 || len(res.Latencies) != 36 || res.FirstError == nil {
		t.Errorf("errors %d, latencies %d, first %v; want 4, 36, an error", res.Errors, len(res.Latencies), res.FirstError)
	}
	if res.PerSecond() <= 0 || res.Stats().P50 < 2*time.Millisecond {
		t.Errorf("rate %.1f/s, p50 %s", res.PerSecond(), res.Stats().P50)
	}
}

// A deadline stops the run: nothing new starts after it, and the result
// says how far it got.
func TestDriveStopsAtTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	begin := time.Now()
	res := Drive(ctx, 1_000_000, 2, func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
			return nil
		}
	})
	if took := time.Since(begin); took > 2*time.Second {
		t.Fatalf("took %s after a 50ms deadline", took)
	}
	if res.Ops >= 1_000_000 || res.FirstError == nil {
		t.Fatalf("ops %d, first error %v", res.Ops, res.FirstError)
	}
}

// fakeOrchestration serves the task API: a task completes after a few
// polls with what result gives for its namespace.
func fakeOrchestration(t *testing.T, result func(ns string) (status, body string)) *httptest.Server {
	var (
		mu    sync.Mutex
		tasks = map[int64]string{}
		polls = map[int64]int{}
		next  int64
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/tasks":
			var body struct{ Namespace, Handler string }
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Handler != "sum" {
				http.Error(w, `{"error":"bad"}`, http.StatusBadRequest)
				return
			}
			if body.Namespace == "down" {
				http.Error(w, `{"error":"database unavailable"}`, http.StatusServiceUnavailable)
				return
			}
			next++
			tasks[next] = body.Namespace
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"task_id":%d}`, next)
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/tasks/"):
			id, _ := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/v1/tasks/"), 10, 64)
			ns, ok := tasks[id]
			if !ok {
				http.NotFound(w, r)
				return
			}
			polls[id]++
			if polls[id] < 3 {
				fmt.Fprintf(w, `{"id":%d,"status":"in_progress","result":null,"error":null}`, id)
				return
			}
			status, body := result(ns)
			fmt.Fprintf(w, `{"id":%d,"status":%q,%s}`, id, status, body)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRoundTripChecksTheResult(t *testing.T) {
	srv := fakeOrchestration(t, func(ns string) (string, string) {
		switch ns {
		case "wrong":
			return "complete", `"result":{"sum":41},"error":null`
		case "failing":
			return "error", `"result":null,"error":"handler says no"`
		case "stuck":
			return "in_progress", `"result":null,"error":null`
		}
		return "complete", `"result":{"sum":42},"error":null`
	})
	api := NewAPI(srv.URL+"/", 2)
	api.Poll = time.Millisecond
	api.Limit = 300 * time.Millisecond
	ctx := context.Background()
	if err := api.RoundTrip(ctx, Sum("rust")); err != nil {
		t.Fatalf("a correct task: %v", err)
	}
	for ns, want := range map[string]string{
		"wrong":   `result {"sum":41}, want map[sum:42]`,
		"failing": "ended error: handler says no",
		"stuck":   "no final status within 300ms",
		"down":    "HTTP 503",
	} {
		begin := time.Now()
		err := api.RoundTrip(ctx, Sum(ns))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), ns+"/sum: ") {
			t.Errorf("%s: %v, want %q", ns, err, want)
		}
		if time.Since(begin) > 5*time.Second {
			t.Errorf("%s took %s", ns, time.Since(begin))
		}
	}
}

func TestBurstCountsFailures(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%4 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	l := Burst(srv.URL, 4, 5)
	if l.Requests != 20 || l.OK != 15 || l.FirstError != "HTTP 503" || l.Stats.N != 20 {
		t.Fatalf("%+v", l)
	}
	if !strings.Contains(l.String(), "20 requests at concurrency 4: 75.0% ok") {
		t.Errorf("%s", l)
	}
}
