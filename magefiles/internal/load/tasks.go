package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Task is one task to submit and the result it must finish with.
type Task struct {
	Namespace, Handler string
	Input              any
	Want               any // the task's result once complete (compared as JSON)
}

// Sum is the task every worker namespace serves: {"sum": 42}.
func Sum(namespace string) Task {
	return Task{Namespace: namespace, Handler: "sum",
		Input: map[string]any{"numbers": []int{1, 2, 39}}, Want: map[string]any{"sum": 42}}
}

// API is the orchestration service's task API (POST /v1/tasks, GET
// /v1/tasks/{id}) as a client sees it.
type API struct {
	Base   string       // "http://127.0.0.1:8080"
	Client *http.Client // keep-alive connections shared by the callers
	Poll   time.Duration
	// Limit bounds one round trip, submit to final status.
	Limit time.Duration
}

// DefaultPoll is the pause between status reads: the resolution of a
// round trip's latency, and few enough reads not to load the service much
// (a handful of callers poll at once).
const DefaultPoll = 5 * time.Millisecond

// NewAPI is an API at base with a pool of conns keep-alive connections.
func NewAPI(base string, conns int) *API {
	return &API{
		Base:   strings.TrimRight(base, "/"),
		Client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns, Proxy: nil}},
		Poll:   DefaultPoll,
		Limit:  30 * time.Second,
	}
}

// TaskState is GET /v1/tasks/{id}'s answer.
type TaskState struct {
	ID     int64           `json:"id"`
	Status string          `json:"status"`
	Result json.RawMessage `json:"result"`
	Error  *string         `json:"error"`
}

// Final reports whether the task has finished.
func (t TaskState) Final() bool { return t.Status == "complete" || t.Status == "error" }

// Submit creates a task and returns its id.
func (a *API) Submit(ctx context.Context, t Task) (int64, error) {
	body, err := json.Marshal(map[string]any{"namespace": t.Namespace, "handler": t.Handler, "input": t.Input})
	if err != nil {
		return 0, err
	}
	var created struct {
		TaskID int64 `json:"task_id"`
	}
	if err := a.call(ctx, http.MethodPost, "/v1/tasks", body, &created); err != nil {
		return 0, err
	}
	if created.TaskID == 0 {
		return 0, fmt.Errorf("POST /v1/tasks: no task_id in the answer")
	}
	return created.TaskID, nil
}

// Get reads a task's state.
func (a *API) Get(ctx context.Context, id int64) (TaskState, error) {
	var st TaskState
	err := a.call(ctx, http.MethodGet, "/v1/tasks/"+strconv.FormatInt(id, 10), nil, &st)
	return st, err
}

// Wait polls the task every Poll until it is final.
func (a *API) Wait(ctx context.Context, id int64) (TaskState, error) {
	for {
		st, err := a.Get(ctx, id)
		if err != nil && ctx.Err() != nil {
			// The read was cut short by the limit: say which.
			return st, fmt.Errorf("task %d: %w", id, context.Cause(ctx))
		}
		if err != nil || st.Final() {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("task %d still %s: %w", id, st.Status, context.Cause(ctx))
		case <-time.After(a.Poll):
		}
	}
}

// RoundTrip submits t, waits until it is final (at most Limit) and checks
// it completed with t.Want.
func (a *API) RoundTrip(ctx context.Context, t Task) error {
	ctx, cancel := context.WithTimeoutCause(ctx, a.Limit, fmt.Errorf("no final status within %s", a.Limit))
	defer cancel()
	id, err := a.Submit(ctx, t)
	if err != nil {
		return fmt.Errorf("%s/%s: %w", t.Namespace, t.Handler, err)
	}
	st, err := a.Wait(ctx, id)
	if err != nil {
		return fmt.Errorf("%s/%s: %w; is the %s worker running?", t.Namespace, t.Handler, err, t.Namespace)
	}
	if st.Status != "complete" {
		msg := ""
		if st.Error != nil {
			msg = ": " + *st.Error
		}
		return fmt.Errorf("%s/%s: task %d ended %s%s", t.Namespace, t.Handler, id, st.Status, msg)
	}
	if ok, err := sameJSON(st.Result, t.Want); err != nil || !ok {
		return fmt.Errorf("%s/%s: task %d result %s, want %v", t.Namespace, t.Handler, id, st.Result, t.Want)
	}
	return nil
}

func (a *API) call(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.Base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w in %q", method, path, err, b)
	}
	return nil
}

// sameJSON compares a JSON document with a Go value as JSON.
func sameJSON(raw json.RawMessage, want any) (bool, error) {
	var got, w any
	if err := json.Unmarshal(raw, &got); err != nil {
		return false, err
	}
	wb, err := json.Marshal(want)
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(wb, &w); err != nil {
		return false, err
	}
	return reflect.DeepEqual(got, w), nil
}
