package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// ownStack is orchestration and the Rust worker on free ports, on a local
// cluster of their own (its own directory and port), so fault tests can
// stop and kill that server without touching anybody else's.
type ownStack struct {
	env   []string
	ports []int // orchestration, rust worker
	pgDir string
}

func newOwnStack(t testing.TB) *ownStack {
	t.Helper()
	noStack(t)
	env, ports := stackEnv(t)
	pgDir, err := os.MkdirTemp(testkit.ScratchDir(), "tasker-cli-pg-")
	if err != nil {
		t.Fatal(err)
	}
	st := &ownStack{ports: ports, pgDir: pgDir, env: append(env,
		"DATABASE_URL=postgresql://tasker:tasker@127.0.0.1:"+strconv.Itoa(testkit.FreePort(t))+"/tasker_fault",
		"TASKER_PG_DIR="+pgDir, "TASKER_SERVICE_TIMEOUT=30s")}
	t.Cleanup(func() {
		invoke(t, root, st.env, "services:stop")
		invoke(t, root, st.env, "db:destroy")
		os.RemoveAll(pgDir)
	})
	return st
}

func (st *ownStack) mage(t testing.TB, args ...string) result {
	t.Helper()
	return invoke(t, root, st.env, args...)
}

func (st *ownStack) url(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(st.ports[0]) + path
}

// health is the HTTP status of a service's /health (0: no answer).
func health(port int) (int, string) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/health")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// roundTrip submits a sum task to the rust namespace and waits for its result.
func (st *ownStack) roundTrip(t testing.TB, limit time.Duration) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	body := `{"namespace":"rust","handler":"sum","input":{"numbers":[1,2,39]}}`
	resp, err := c.Post(st.url("/v1/tasks"), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("submitting a task: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var created struct {
		TaskID int64 `json:"task_id"`
	}
	if resp.StatusCode/100 != 2 || json.Unmarshal(b, &created) != nil || created.TaskID == 0 {
		t.Fatalf("POST /v1/tasks: HTTP %d %s", resp.StatusCode, b)
	}
	var last string
	if !waitFor(limit, func() bool {
		resp, err := c.Get(st.url("/v1/tasks/" + strconv.FormatInt(created.TaskID, 10)))
		if err != nil {
			last = err.Error()
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = string(b)
		return strings.Contains(last, `"status":"complete"`) && strings.Contains(last, `"sum":42`)
	}) {
		t.Fatalf("task %d did not complete within %s: %s", created.TaskID, limit, last)
	}
}

// waitHealthy waits until every service of the stack answers 200.
func (st *ownStack) waitHealthy(t *testing.T, limit time.Duration, after string) time.Duration {
	t.Helper()
	begin := time.Now()
	for _, p := range st.ports {
		var code int
		var body string
		if !waitFor(limit, func() bool { code, body = health(p); return code == 200 }) {
			t.Fatalf("port %d not healthy within %s %s: HTTP %d %s", p, limit, after, code, body)
		}
	}
	return time.Since(begin)
}

// postmaster is the pid of the stack's own cluster (postmaster.pid's first line).
func (st *ownStack) postmaster(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(st.pgDir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// The services survive PostgreSQL going away: while it is down /health
// says so (503); once it is back, health recovers within seconds and a task
// submitted then completes.
func TestServicesReconnectAfterPostgresRestarts(t *testing.T) {
	for _, c := range []struct {
		name string
		down func(t *testing.T, st *ownStack)
		up   string
	}{
		{"db:down then db:up", func(t *testing.T, st *ownStack) { st.mage(t, "db:down").expect(t, 0) }, "db:up"},
		{"kill -9 of the postmaster then db:setup", func(t *testing.T, st *ownStack) {
			kill(t, st.postmaster(t))
		}, "db:setup"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := newOwnStack(t)
			st.mage(t, "services:start").expect(t, 0, "orchestration healthy in")
			st.roundTrip(t, 20*time.Second)

			c.down(t, st)
			for _, p := range st.ports {
				if !waitFor(10*time.Second, func() bool { code, _ := health(p); return code == 503 }) {
					code, body := health(p)
					t.Fatalf("port %d with the database down: HTTP %d %s, want 503", p, code, body)
				}
			}
			st.mage(t, c.up).expect(t, 0)
			took := st.waitHealthy(t, 15*time.Second, "after "+c.name)
			st.roundTrip(t, 20*time.Second)
			t.Logf("healthy %s after %s", took.Round(time.Millisecond), c.up)

			var out bytes.Buffer
			stop := st.mage(t, "services:stop")
			stop.expect(t, 0)
			out.WriteString(stop.stderr)
			assertStackGone(t, st.ports, &out)
		})
	}
}
