package db

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/dbtest"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/kit"
)

// tasker-core's split: the files named like pgmq go to the queue database.
var splitFiles = map[string]string{
	"0001_pgmq.up.sql":          "CREATE TABLE queue_messages (id int);\n",
	"0001_pgmq.down.sql":        "DROP TABLE queue_messages;\n",
	"0002_tasks.up.sql":         "CREATE TABLE tasks (id int);\n",
	"0002_tasks.down.sql":       "DROP TABLE tasks;\n",
	"0003_pgmq_notify.up.sql":   "CREATE TABLE queue_notes (id int);\n",
	"0003_pgmq_notify.down.sql": "DROP TABLE queue_notes;\n",
}

// splitConfig is a Config whose queue has its own database on the test
// server.
func splitConfig(t *testing.T, files map[string]string) (*Config, *dbtest.Log, *bytes.Buffer) {
	t.Helper()
	c, log, out := config(t, uniqueDB("main"), files)
	q := srv.URL(uniqueDB("queue"))
	c.Queue = &q
	t.Cleanup(func() { c.Allow = true; c.Drop(context.Background()) })
	return c, log, out
}

// tables lists the public tables of u's database.
func tables(t *testing.T, u pgurl.URL) string {
	t.Helper()
	var names string
	dbtest.Connect(t, u).QueryRow(context.Background(),
		`SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename), '') FROM pg_tables WHERE schemaname = 'public'`).Scan(&names)
	return names
}

// Each database gets its own migrations, history and lock; every target
// acts on both and says which database each line is about.
func TestSplitDatabases(t *testing.T) {
	ctx := context.Background()
	c, log, out := splitConfig(t, splitFiles)
	if _, err := c.Setup(ctx); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if got := tables(t, c.URL); got != "schema_migrations,tasks" {
		t.Errorf("main database: %s", got)
	}
	if got := tables(t, *c.Queue); got != "queue_messages,queue_notes,schema_migrations" {
		t.Errorf("queue database: %s", got)
	}
	for _, w := range []string{"[main] applied 0002_tasks.up.sql", "[queue] applied 0001_pgmq.up.sql", "[queue] applied 0003_pgmq_notify.up.sql",
		"[main] database ready: " + c.URL.Redacted(), "[queue] database ready: " + c.Queue.Redacted()} {
		if !strings.Contains(log.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}

	if err := c.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasPrefix(line, "[main] ") && !strings.HasPrefix(line, "[queue] ") {
			t.Errorf("a line about no database: %q", line)
		}
	}
	for _, w := range []string{"[main] " + c.URL.Addr() + ": version 2, 0 pending", "[queue] " + c.Queue.Addr() + ": version 3, 0 pending",
		"[main]   2  0002_tasks  applied", "[queue]   1  0001_pgmq", "[queue] pending    0"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("status/check lack %q:\n%s", w, out)
		}
	}

	// rollback reverts the latest migration of either: the queue's 3
	log.Lines = nil
	if err := c.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "[queue] rolled back 0003_pgmq_notify.down.sql (version 3 → 1)") {
		t.Errorf("rollback:\n%s", log)
	}
	if err := c.Force(ctx, "3"); err != nil { // version 3 is the queue's
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "[queue] "+c.Queue.Addr()+" is now at version 3") {
		t.Errorf("force:\n%s", log)
	}
	if err := c.Force(ctx, "1"); err != nil {
		t.Fatal(err)
	}

	// reset: both dropped, created and migrated
	dbtest.Connect(t, c.URL).Exec(ctx, "INSERT INTO tasks VALUES (1)")
	if _, err := c.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := query(t, c.URL, "SELECT count(*) FROM tasks"); n != 0 {
		t.Error("reset kept the main database's rows")
	}
	if got := tables(t, *c.Queue); got != "queue_messages,queue_notes,schema_migrations" {
		t.Errorf("queue database after reset: %s", got)
	}

	// templates and clones: one per database, the clones dropped together
	infos, err := c.Templates(ctx)
	if err != nil || len(infos) != 2 || infos[0].Name == infos[1].Name || infos[1].Part != "queue" {
		t.Fatalf("templates %+v: %v", infos, err)
	}
	main, queue, err := c.Clones(ctx, "split_clone")
	if err != nil {
		t.Fatal(err)
	}
	if tables(t, main) != "schema_migrations,tasks" || queue == nil || tables(t, *queue) != "queue_messages,queue_notes,schema_migrations" {
		t.Errorf("clones: main %s, queue %v", tables(t, main), queue)
	}
	if again, err := c.Templates(ctx); err != nil || again[0].Built || again[1].Built {
		t.Errorf("a template was rebuilt (the other's build dropped it as stale): %+v %v", again, err)
	}
	if err := c.DropClone(ctx, "split_clone"); err != nil {
		t.Fatal(err)
	}
	if n, _ := query(t, srv.URL("postgres"), "SELECT count(*) FROM pg_database WHERE datname LIKE 'split_clone%'"); n != 0 {
		t.Errorf("%d clones left", n)
	}
}

// PGMQ_DATABASE_URL naming DATABASE_URL's database, or unset: one
// database, everything in it.
func TestQueueSharingTheDatabaseIsOne(t *testing.T) {
	main := srv.URL("app")
	for name, raw := range map[string]string{"unset": "", "same database": srv.URL("app").WithParam("application_name", "x").String()} {
		q, _, err := queueFrom(raw, "", main)
		if err != nil || q != nil {
			t.Errorf("%s: queue %v, %v", name, q, err)
		}
	}
	if q, _, err := queueFrom(srv.URL("queue").String(), "", main); err != nil || q == nil {
		t.Errorf("another database: %v %v", q, err)
	}
	if _, _, err := queueFrom("", "(", main); fail.Code(err) != fail.Config || !strings.Contains(err.Error(), "TASKER_PGMQ_MIGRATIONS_PATTERN") {
		t.Errorf("bad pattern: %v", err)
	}
	if _, _, err := queueFrom("mysql://x", "", main); fail.Code(err) != fail.Config || !strings.HasPrefix(err.Error(), "PGMQ_DATABASE_URL is not a valid") {
		t.Errorf("bad URL: %v", err)
	}
}

// A split whose pattern leaves one database without migrations is a
// configuration error before anything is created.
func TestSplitWithNothingForOneDatabase(t *testing.T) {
	ctx := context.Background()
	c, _, _ := splitConfig(t, map[string]string{"0001_tasks.up.sql": "CREATE TABLE tasks (id int);\n"})
	err := c.Migrate(ctx)
	if fail.Code(err) != fail.Config || !strings.Contains(fmt.Sprint(err), "no migration in "+c.MigrationsDir+" matches TASKER_PGMQ_MIGRATIONS_PATTERN=pgmq") {
		t.Fatalf("code %d: %v", fail.Code(err), err)
	}
	if n, _ := query(t, srv.URL("postgres"), "SELECT count(*) FROM pg_database WHERE datname = '"+c.URL.Database()+"'"); n != 0 {
		t.Error("the main database was created")
	}
}

// The guards judge both URLs before either database changes: a queue
// database on another host refuses the reset, and the main one is left
// as it was.
func TestSplitGuardsBothURLs(t *testing.T) {
	ctx := context.Background()
	c, _, _ := splitConfig(t, splitFiles)
	if _, err := c.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	dbtest.Connect(t, c.URL).Exec(ctx, "INSERT INTO tasks VALUES (1)")
	far := pgurl.MustParse("postgresql://u:Pw-far@db.example.com:5432/queue")
	c.Queue = &far
	for name, run := range map[string]func() error{
		"reset": func() error { _, err := c.Reset(ctx); return err },
		"drop":  func() error { return c.Drop(ctx) },
		"force": func() error { return c.Force(ctx, "none") },
	} {
		err := run()
		if fail.Code(err) != fail.Refused || !strings.Contains(fmt.Sprint(err), "db.example.com") {
			t.Errorf("%s: code %d: %v", name, fail.Code(err), err)
		}
	}
	if n, err := query(t, c.URL, "SELECT count(*) FROM tasks"); err != nil || n != 1 {
		t.Errorf("the main database changed: %d rows (%v)", n, err)
	}
}

// On the local cluster the queue database's role and database are made
// too, even when its role is not DATABASE_URL's.
func TestSplitOnTheLocalCluster(t *testing.T) {
	ctx := context.Background()
	cl, _ := dbtest.NewCluster(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	mainURL := url.URL{Scheme: "postgresql", User: url.UserPassword("app_user", "App-pw1"), Host: "localhost:" + port, Path: "/app_db"}
	queueURL := url.URL{Scheme: "postgresql", User: url.UserPassword("queue_user", "Queue-pw1"), Host: "127.0.0.1:" + port, Path: "/queue_db"}
	q := pgurl.MustParse(queueURL.String())
	log := &dbtest.Log{}
	c := &Config{URL: pgurl.MustParse(mainURL.String()), Queue: &q, TaskerEnv: "test", MigrationsDir: dbtest.WriteDir(t, splitFiles),
		Cluster: cl, LockTimeout: 5 * time.Second, Log: log, Out: &bytes.Buffer{}}
	urls, err := c.SetupAll(ctx)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	qu := pgurl.MustParse(urls.Queue)
	if qu.User() != "queue_user" || qu.Database() != "queue_db" || tables(t, qu) != "queue_messages,queue_notes,schema_migrations" {
		t.Errorf("queue database %s: %s", qu.Redacted(), tables(t, qu))
	}
	if env := urls.Env(); len(env) != 2 || env[1] != "PGMQ_DATABASE_URL="+urls.Queue {
		t.Errorf("children's environment: %v", env)
	}
}

// The guards judge whichever database an operation changes: rollback
// reverts the queue's latest migration and is refused for it; dropping
// clones is refused for both.
func TestSplitGuardsRollbackAndCloneDrops(t *testing.T) {
	ctx := context.Background()
	c, _, _ := splitConfig(t, splitFiles)
	if _, err := c.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	c.TaskerEnv = "production"
	err := c.Rollback(ctx)
	if fail.Code(err) != fail.Refused || !strings.HasPrefix(fmt.Sprint(err), "refusing to roll back "+c.Queue.Addr()) {
		t.Errorf("rollback: code %d: %v", fail.Code(err), err)
	}
	if n, _ := query(t, *c.Queue, "SELECT count(*) FROM queue_notes"); n != 0 {
		t.Error("queue_notes is gone")
	}
	if err := c.DropClone(ctx, "some_clone"); fail.Code(err) != fail.Refused {
		t.Errorf("drop clone: code %d: %v", fail.Code(err), err)
	}
	c.TaskerEnv = "test"
}

// Test runs hand children ChildEnv(url): with split databases its
// PGMQ_DATABASE_URL is the queue database's clone made with url, never
// the configured queue database; otherwise the clone itself.
func TestChildEnvNamesTheQueueClone(t *testing.T) {
	ctx := context.Background()
	mainURL, queueURL := srv.URL(uniqueDB("cmain")), srv.URL(uniqueDB("cqueue"))
	s, _ := kit.TestSession(t, t.TempDir(), "DATABASE_URL="+mainURL.String(), EnvQueueURL+"="+queueURL.String(),
		EnvMigrationsDir+"="+dbtest.WriteDir(t, splitFiles), EnvClusterDir+"="+t.TempDir(), "TASKER_ENV=test")
	var inside URLs
	err := WithClones(ctx, s, "childenv", func(urls URLs) error {
		inside = urls
		want := []string{"PGMQ_DATABASE_URL=" + urls.Queue, "DATABASE_URL=" + urls.Database}
		if got := ChildEnv(urls.Database); !slices.Equal(got, want) {
			t.Errorf("ChildEnv = %q, want %q", got, want)
		}
		q := pgurl.MustParse(urls.Queue)
		if q.Database() == queueURL.Database() || tables(t, q) != "queue_messages,queue_notes,schema_migrations" {
			t.Errorf("queue clone %s: %s", q.Database(), tables(t, q))
		}
		return nil
	})
	if err != nil || inside.Queue == "" {
		t.Fatalf("%v (urls %+v)", err, inside)
	}
	// after the run, and for any URL no run made: one database
	if got := ChildEnv(inside.Database); !slices.Equal(got, []string{"PGMQ_DATABASE_URL=" + inside.Database, "DATABASE_URL=" + inside.Database}) {
		t.Errorf("after the run: %q", got)
	}
}
