package cli

import (
	"context"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
)

// queryRow scans the one row query returns on u's database into dest.
func queryRow(t *testing.T, u pgurl.URL, query string, dest ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pg.Connect(ctx, u, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, query).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// publicTables lists the public tables of u's database.
func publicTables(t *testing.T, u pgurl.URL) string {
	t.Helper()
	var names string
	queryRow(t, u, `SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename), '') FROM pg_tables WHERE schemaname = 'public'`, &names)
	return names
}

// PGMQ_DATABASE_URL naming another database splits the migrations as
// tasker-core does: the files named like pgmq go to the queue database,
// the others to DATABASE_URL's, each with its own history, and the
// targets say which database each line is about (issue #15: the variable
// was ignored, everything went to DATABASE_URL's database).
func TestSplitDatabasesFromTheEnvironment(t *testing.T) {
	s := dbServer(t)
	dir, env, u := dbRoot(t, s, map[string]string{
		"0001_pgmq.up.sql":        "CREATE TABLE queue_messages (id int);\n",
		"0002_tasks.up.sql":       "CREATE TABLE tasks (id int);\n",
		"0003_pgmq_notify.up.sql": "CREATE TABLE queue_notes (id int);\n",
	})
	q := s.NewDB(t)
	env = append(env, "PGMQ_DATABASE_URL="+q.String())
	invoke(t, dir, env, "db:migrate").expect(t, 0, "[main] applied 0002_tasks.up.sql", "[queue] applied 0001_pgmq.up.sql", "[queue] applied 0003_pgmq_notify.up.sql")
	if got := publicTables(t, u); got != "schema_migrations,tasks" {
		t.Errorf("DATABASE_URL's database: %s", got)
	}
	if got := publicTables(t, q); got != "queue_messages,queue_notes,schema_migrations" {
		t.Errorf("PGMQ_DATABASE_URL's database: %s", got)
	}
	invoke(t, dir, env, "db:status").expect(t, 0, "[main] "+u.Addr()+": version 2, 0 pending", "[queue] "+q.Addr()+": version 3, 0 pending")
	invoke(t, dir, env, "db:check").expect(t, 0, "[queue] pending    0")
	// a pattern matching nothing: the split would be a mistake
	invoke(t, dir, append(env, "TASKER_PGMQ_MIGRATIONS_PATTERN=^queue_"), "db:migrate").expect(t, 5, "matches TASKER_PGMQ_MIGRATIONS_PATTERN=^queue_")
}
