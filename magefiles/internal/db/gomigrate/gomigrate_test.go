package gomigrate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-migrate/migrate/v4/database"
	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/dbtest"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/migrator"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/source"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

var srv *dbtest.Server

func TestMain(m *testing.M) { dbtest.Main(m, &srv) }

func newMigrator(t *testing.T, u pgurl.URL, files map[string]string) *Migrator {
	t.Helper()
	return &Migrator{dbtest.Options(t, u, dbtest.WriteDir(t, files), source.Migrate)}
}

// stateNow is the version table's state, wherever the table is.
func stateNow(ctx context.Context, conn *pgx.Conn) (int64, bool, error) {
	h, err := migrator.FindHistory(ctx, conn, tool)
	if err != nil {
		return 0, false, err
	}
	return State(ctx, conn, h)
}

func count(t *testing.T, conn *pgx.Conn, q string) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

var threeFiles = map[string]string{
	"0001_log.up.sql":    "CREATE TABLE applied_log (n int);\nINSERT INTO applied_log VALUES (1);\n",
	"0001_log.down.sql":  "DROP TABLE applied_log;\n",
	"0002_slow.up.sql":   "SELECT pg_sleep(0.3);\nINSERT INTO applied_log VALUES (2);\n",
	"0002_slow.down.sql": "DELETE FROM applied_log WHERE n = 2;\n",
	"0003_func.up.sql":   "CREATE FUNCTION twice(x int) RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN x * 2; -- dollar-quoted body with ; inside\nEND;\n$$;\nINSERT INTO applied_log VALUES (3);\n",
	"0003_func.down.sql": "DROP FUNCTION twice(int);\nDELETE FROM applied_log WHERE n = 3;\n",
}

// Two runs at once: the second waits for the first, both succeed, every
// file is applied exactly once.
func TestConcurrentUp(t *testing.T) {
	u := srv.NewDB(t)
	m := newMigrator(t, u, threeFiles)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	applied := make([]int, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := *m
			got, err := mine.Up(context.Background())
			errs[i], applied[i] = err, len(got)
		}()
	}
	wg.Wait()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		total += applied[i]
	}
	if total != 3 {
		t.Errorf("runs applied %v migrations in total, want 3 once", applied)
	}
	conn := dbtest.Connect(t, u)
	if n := count(t, conn, "SELECT count(*) FROM applied_log"); n != 3 {
		t.Errorf("applied_log has %d rows, want 3", n)
	}
	if v, dirty, err := stateNow(context.Background(), conn); v != 3 || dirty || err != nil {
		t.Errorf("state = %d dirty=%v err=%v", v, dirty, err)
	}
	if n := count(t, conn, "SELECT twice(21)"); n != 42 {
		t.Errorf("twice(21) = %d", n)
	}
}

// A session holding the database's lock (in the postgres database) makes
// Up give up in bounded time, naming the lock and the holder's pid.
func TestLockTimeout(t *testing.T) {
	u := srv.NewDB(t)
	m := newMigrator(t, u, threeFiles)
	m.LockTimeout = 400 * time.Millisecond
	holder := dbtest.Connect(t, u.WithDatabase("postgres"))
	var pid int
	if err := holder.QueryRow(context.Background(), "SELECT pg_backend_pid() FROM (SELECT pg_advisory_lock($1)) x", pg.DatabaseKey(u.Database())).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := m.Up(context.Background())
	took := time.Since(start)
	if err == nil {
		t.Fatal("Up succeeded while the lock was held")
	}
	msg := err.Error()
	for _, want := range []string{"lock on database " + u.Database(), "pid " + itoa(pid), "pg_terminate_backend(" + itoa(pid) + ")", "400ms"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if took > 3*time.Second {
		t.Errorf("gave up after %s, want about 400ms", took)
	}
	// nothing queued behind the holder, nothing applied
	if n := count(t, holder, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"); n != 0 {
		t.Errorf("%d advisory lock waits left behind", n)
	}
	if _, err := holder.Exec(context.Background(), "SELECT pg_advisory_unlock_all()"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(context.Background()); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

// Ctrl-C while waiting for the lock ends the wait at once, saying so.
func TestInterruptWhileWaitingForTheLock(t *testing.T) {
	u := srv.NewDB(t)
	m := newMigrator(t, u, threeFiles)
	m.LockTimeout = time.Minute
	holder := dbtest.Connect(t, u.WithDatabase("postgres"))
	if _, err := holder.Exec(context.Background(), "SELECT pg_advisory_lock($1)", pg.DatabaseKey(u.Database())); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := m.Up(ctx)
	if err == nil || !strings.Contains(err.Error(), "interrupted while waiting for the lock on database "+u.Database()+"; nothing was changed") || time.Since(start) > 5*time.Second {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
}

// golang-migrate's own lock, held by something outside mage, is reported
// instead of hanging forever inside WithInstance.
func TestForeignMigrateLock(t *testing.T) {
	u := srv.NewDB(t)
	m := newMigrator(t, u, threeFiles)
	holder := dbtest.Connect(t, u)
	id, _ := database.GenerateAdvisoryLockId(u.Database(), "public", Table)
	if _, err := holder.Exec(context.Background(), "SELECT pg_advisory_lock($1::bigint)", id); err != nil {
		t.Fatal(err)
	}
	m.LockTimeout = 500 * time.Millisecond
	var pid int
	holder.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&pid)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := m.Up(ctx)
	if err == nil || !strings.Contains(err.Error(), "golang-migrate lock") || !strings.Contains(err.Error(), "pid "+itoa(pid)) {
		t.Fatalf("err = %v", err)
	}
}

// A failing file: the report names the file, quotes the server, shows a few
// lines, says nothing was applied and the version did not move, and gives
// the fix, which works.
func TestFailingMigrationAndRecovery(t *testing.T) {
	u := srv.NewDB(t)
	bad := "-- adds things\nCREATE TABLE half_done (id int);\n\nINSERT INTO missing_table VALUES (1);\n\nCREATE TABLE never (id int);\n" +
		strings.Repeat("-- padding line that must not appear in the report\n", 40)
	m := newMigrator(t, u, map[string]string{
		"0001_ok.up.sql":  "CREATE TABLE ok (id int);\n",
		"0002_bad.up.sql": bad,
	})
	_, err := m.Up(context.Background())
	var f *pg.Failure
	if !errors.As(err, &f) || fail.Code(err) != fail.Failed {
		t.Fatalf("err = %T %v", err, err)
	}
	msg := err.Error()
	for _, want := range []string{
		"0002_bad.up.sql", `relation "missing_table" does not exist`, "(line 4)",
		"> 4 | INSERT INTO missing_table", "nothing from it was applied", "stays at version 1, clean",
		"fix:   correct " + filepath.Join(m.Dir.Path, "0002_bad.up.sql") + ", then run mage db:migrate",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("report lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "padding line") || strings.Count(msg, "\n") > 12 {
		t.Errorf("report too long:\n%s", msg)
	}
	conn := dbtest.Connect(t, u)
	if n := count(t, conn, "SELECT count(*) FROM pg_tables WHERE tablename IN ('half_done', 'never')"); n != 0 {
		t.Errorf("%d tables of the failed file exist; it should have been rolled back", n)
	}
	if v, dirty, _ := stateNow(context.Background(), conn); v != 1 || dirty {
		t.Errorf("state = %d dirty=%v, want 1 clean", v, dirty)
	}
	// the fix it prints: correct the file, migrate
	fixed := strings.Replace(bad, "INSERT INTO missing_table", "INSERT INTO half_done", 1)
	if err := os.WriteFile(filepath.Join(m.Dir.Path, "0002_bad.up.sql"), []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(context.Background()); err != nil {
		t.Fatalf("after the fix: %v", err)
	}
	if v, dirty, _ := stateNow(context.Background(), conn); v != 2 || dirty {
		t.Errorf("state = %d dirty=%v, want 2 clean", v, dirty)
	}
}

// A cancelled context (Ctrl-C) in the middle of a file cancels its
// statement on the server and rolls it back: the version stays where it
// was, clean, and nothing keeps running.
func TestInterruptRollsBack(t *testing.T) {
	u := srv.NewDB(t)
	m := newMigrator(t, u, map[string]string{
		"0001_a.up.sql":    "CREATE TABLE a (id int);\n",
		"0002_slow.up.sql": "CREATE TABLE slow_made (id int);\nSELECT pg_sleep(30);\n",
	})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	_, err := m.Up(ctx)
	if err == nil || !strings.Contains(err.Error(), "interrupted: ") || !strings.Contains(err.Error(), "stays at version 1, clean") {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Up returned after %s", took)
	}
	conn := dbtest.Connect(t, u)
	if v, dirty, _ := stateNow(context.Background(), conn); v != 1 || dirty {
		t.Errorf("state = %d dirty=%v, want 1 clean", v, dirty)
	}
	if n := count(t, conn, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()"); n != 0 {
		t.Error("the statement still runs on the server")
	}
	if n := count(t, conn, "SELECT count(*) FROM pg_tables WHERE tablename = 'slow_made'"); n != 0 {
		t.Error("the interrupted file was committed")
	}
}

// A version left dirty (by golang-migrate's own CLI, or by a
// -- no-transaction file whose run was killed) is reported with commands;
// each printed command, run as printed, recovers.
func TestDirtyAdviceRecovers(t *testing.T) {
	ctx := context.Background()
	forceRe := regexp.MustCompile("mage db:force (-?[0-9]+)")
	cases := []struct {
		name, file, body string
		applied          bool // the dirty file's changes are in the database
		pick             int  // which of the printed force commands fits
	}{
		{"transactional file failed in golang-migrate", "0002_b.up.sql", "CREATE TABLE b (id int);\n", false, 0},
		{"killed no-transaction file that took effect", "0002_b.up.sql", "-- no-transaction\nCREATE INDEX CONCURRENTLY b_idx ON a (id);\n", true, 0},
		{"killed no-transaction file that did not", "0002_b.up.sql", "-- no-transaction\nCREATE INDEX CONCURRENTLY b_idx ON a (id);\n", false, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := srv.NewDB(t)
			m := newMigrator(t, u, map[string]string{"0001_a.up.sql": "CREATE TABLE a (id int);\n", c.file: c.body})
			conn := dbtest.Connect(t, u)
			if err := m.Force(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, "CREATE TABLE a (id int); UPDATE schema_migrations SET version = 2, dirty = true"); err != nil {
				t.Fatal(err)
			}
			if c.applied {
				if _, err := conn.Exec(ctx, "CREATE INDEX b_idx ON a (id)"); err != nil {
					t.Fatal(err)
				}
			}
			_, err := m.Up(ctx)
			if err == nil {
				t.Fatal("Up went ahead on a dirty version")
			}
			forces := forceRe.FindAllStringSubmatch(err.Error(), -1)
			if len(forces) <= c.pick || !strings.Contains(err.Error(), "mage db:migrate") {
				t.Fatalf("advice: %v", err)
			}
			if err := m.Force(ctx, atoi(forces[c.pick][1])); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Up(ctx); err != nil {
				t.Fatalf("following %q: %v", forces[c.pick][0], err)
			}
			if v, dirty, _ := stateNow(ctx, conn); v != 2 || dirty {
				t.Errorf("state = %d dirty=%v, want 2 clean", v, dirty)
			}
		})
	}
}

// Rollback refuses without a down file and leaves the version alone; with
// one it reverts.
func TestRollback(t *testing.T) {
	u := srv.NewDB(t)
	m := newMigrator(t, u, map[string]string{
		"0001_a.up.sql":   "CREATE TABLE a (id int);\n",
		"0001_a.down.sql": "DROP TABLE a;\n",
		"0002_b.up.sql":   "CREATE TABLE b (id int);\n",
	})
	if _, err := m.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, _, err := m.Rollback(context.Background())
	if fail.Code(err) != fail.Refused || !strings.Contains(err.Error(), "0002_b.down.sql") {
		t.Fatalf("err = %v (code %d)", err, fail.Code(err))
	}
	conn := dbtest.Connect(t, u)
	if v, _, _ := stateNow(context.Background(), conn); v != 2 {
		t.Fatalf("version moved to %d", v)
	}
	if err := m.Force(context.Background(), 1); err != nil { // pretend b was never applied
		t.Fatal(err)
	}
	from, to, err := m.Rollback(context.Background())
	if err != nil || from != 1 || to != -1 {
		t.Fatalf("rollback %d→%d: %v", from, to, err)
	}
	if n := count(t, conn, "SELECT count(*) FROM pg_tables WHERE tablename = 'a'"); n != 0 {
		t.Error("table a survived its down file")
	}
	if err := m.Force(context.Background(), 7); fail.Code(err) != fail.Config {
		t.Errorf("force to an unknown version: %v", err)
	}
}

func TestStatus(t *testing.T) {
	u := srv.NewDB(t)
	m := newMigrator(t, u, threeFiles)
	conn := dbtest.Connect(t, u)
	st, err := m.Status(context.Background(), conn)
	if err != nil || st.Version != -1 || len(st.Pending) != 3 {
		t.Fatalf("before: %+v %v", st, err)
	}
	// apply two, then a third file appears
	third := filepath.Join(t.TempDir(), "0003_func.up.sql")
	os.Rename(filepath.Join(m.Dir.Path, "0003_func.up.sql"), third)
	os.Remove(filepath.Join(m.Dir.Path, "0003_func.down.sql"))
	m.Dir, _ = source.Load(m.Dir.Path, source.Migrate)
	if _, err := m.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	os.Rename(third, filepath.Join(m.Dir.Path, "0003_func.up.sql"))
	m.Dir, _ = source.Load(m.Dir.Path, source.Migrate)
	st, err = m.Status(context.Background(), conn)
	if err != nil || st.Version != 2 || len(st.Applied) != 2 || len(st.Pending) != 1 || st.Dirty {
		t.Fatalf("after: %+v %v", st, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func atoi(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
