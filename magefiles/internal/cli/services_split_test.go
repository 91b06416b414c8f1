package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
)

// count runs a count query on u's database.
func count(t *testing.T, u pgurl.URL, query string) int {
	t.Helper()
	var n int
	queryRow(t, u, query, &n)
	return n
}

// The stack with split databases (issue #15 item 4): PGMQ_DATABASE_URL
// names a second database on the stack's own cluster; services:start
// migrates each, orchestration and the Rust worker put the queue in it
// (their /health checks both databases), and a task completes with the
// queue's schema and messages in the queue database only (before, the services ignored
// the variable and used DATABASE_URL's database for everything).
func TestStackWithSplitDatabases(t *testing.T) {
	st := newOwnStack(t)
	var mainURL string
	for _, kv := range st.env {
		if v, ok := strings.CutPrefix(kv, "DATABASE_URL="); ok {
			mainURL = v
		}
	}
	queueURL := strings.Replace(mainURL, "/tasker_fault", "/tasker_fault_pgmq", 1)
	st.env = append(st.env, "PGMQ_DATABASE_URL="+queueURL)

	st.mage(t, "services:start").expect(t, 0, "[queue] applied 0001_pgmq.up.sql", "[main] applied 0002_tasks.up.sql", "orchestration healthy in")
	for _, p := range st.ports {
		if code, body := health(p); code != 200 || !strings.Contains(body, `"checks":{"database":{"status":"healthy"}}`) {
			t.Errorf("port %d: HTTP %d %s, want healthy", p, code, body)
		}
	}
	st.roundTrip(t, 20*time.Second)

	main, queue := pgurl.MustParse(mainURL), pgurl.MustParse(queueURL)
	if n := count(t, main, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgmq'"); n != 0 {
		t.Error("the main database has the pgmq schema")
	}
	if n := count(t, queue, "SELECT count(*) FROM pg_namespace WHERE nspname = 'tasker'"); n != 0 {
		t.Error("the queue database has the tasker schema")
	}
	if n := count(t, main, "SELECT count(*) FROM tasker.tasks WHERE status = 'complete'"); n != 1 {
		t.Errorf("%d complete tasks in the main database, want 1", n)
	}
	// the step's message and its result, both handled and archived
	if n := count(t, queue, "SELECT count(*) FROM pgmq.archive WHERE queue_name IN ('rust_queue', 'orchestration_results')"); n != 2 {
		t.Errorf("%d archived messages in the queue database, want 2", n)
	}
	st.mage(t, "services:stop").expect(t, 0)
}

// Split, the services get the queue database at the port the local cluster
// really listens on too, not PGMQ_DATABASE_URL's taken one (they were
// given only DATABASE_URL, with the real port, and inherited the
// configured PGMQ_DATABASE_URL).
func TestSplitServicesUseThePortTheClusterReallyListens(t *testing.T) { stackOnAMovedCluster(t, true) }
