package db

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/cluster"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/dbtest"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

var srv *dbtest.Server

func TestMain(m *testing.M) { dbtest.Main(m, &srv) }

var schema = map[string]string{
	"0001_items.up.sql":   "CREATE TABLE items (id int PRIMARY KEY, name text);\n",
	"0001_items.down.sql": "DROP TABLE items;\n",
	"0002_seed.up.sql":    "INSERT INTO items VALUES (1, 'seed');\n",
}

// config targets database db on the test cluster.
func config(t testing.TB, db string, files map[string]string) (*Config, *dbtest.Log, *bytes.Buffer) {
	log, out := &dbtest.Log{}, &bytes.Buffer{}
	return &Config{
		URL:           srv.URL(db),
		TaskerEnv:     "test",
		MigrationsDir: dbtest.WriteDir(t, files),
		Cluster:       srv.Cluster,
		LockTimeout:   5 * time.Second,
		Log:           log,
		Out:           out,
	}, log, out
}

func uniqueDB(prefix string) string {
	return prefix + strconv.Itoa(os.Getpid()%100000) + "_" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
}

func query(t *testing.T, u pgurl.URL, q string) (int, error) {
	t.Helper()
	conn, err := pg.Connect(context.Background(), u, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(context.Background(), q).Scan(&n)
	return n, err
}

// Reset with open connections (one idle, one inside a transaction) really
// drops the data and leaves a freshly migrated database.
func TestResetWithOpenConnection(t *testing.T) {
	ctx := context.Background()
	c, log, _ := config(t, uniqueDB("reset"), schema)
	t.Cleanup(func() { c.Allow = true; c.Drop(ctx) })
	u, err := c.Setup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	idle, err := pg.Connect(ctx, u, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close(ctx)
	if _, err := idle.Exec(ctx, "INSERT INTO items VALUES (2, 'user data')"); err != nil {
		t.Fatal(err)
	}
	busy, _ := pg.Connect(ctx, u, 5*time.Second)
	defer busy.Close(ctx)
	if _, err := busy.Exec(ctx, "BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("reset took %s", took)
	}
	if n, err := query(t, u, "SELECT count(*) FROM items"); err != nil || n != 1 {
		t.Errorf("after reset: %d rows (%v), want only the seed", n, err)
	}
	if err := idle.Ping(ctx); err == nil {
		t.Error("the open connection survived the reset")
	}
	if !strings.Contains(log.String(), "about to reset "+u.Addr()+" as "+dbtest.User) {
		t.Errorf("the target was not printed before the reset:\n%s", log)
	}
	if !strings.Contains(log.String(), "ended 2 open sessions") {
		t.Errorf("the reset did not say it ended the open sessions:\n%s", log)
	}
}

// Every destructive operation refuses (exit 4) under each rule, naming the
// rule and the override; the override lifts it.
func TestRefusals(t *testing.T) {
	ctx := context.Background()
	ops := map[string]func(c *Config) error{
		"drop":     func(c *Config) error { return c.Drop(ctx) },
		"reset":    func(c *Config) error { _, err := c.Reset(ctx); return err },
		"rollback": func(c *Config) error { return c.Rollback(ctx) },
		"force":    func(c *Config) error { return c.Force(ctx, "1") },
		"destroy":  func(c *Config) error { return c.Destroy(ctx) },
	}
	rules := []struct {
		name, url, env, want string
	}{
		{"remote host", "postgresql://u:S3cretPw@db.example.com:5432/app", "test", "is not loopback"},
		{"production", "postgresql://u:S3cretPw@127.0.0.1:1/app", "production", "TASKER_ENV is production"},
		{"staging", "postgresql://u:S3cretPw@127.0.0.1:1/app", "staging", "TASKER_ENV is staging"},
		{"postgres db", "postgresql://u:S3cretPw@127.0.0.1:1/postgres", "test", "the database postgres"},
		{"template1 db", "postgresql://u:S3cretPw@127.0.0.1:1/template1", "test", "the database template1"},
	}
	idle := &cluster.Cluster{Dir: filepath.Join(t.TempDir(), "never"), Run: dbtest.Runner()}
	for op, run := range ops {
		for _, r := range rules {
			if op == "destroy" && r.name == "remote host" {
				continue // destroy acts on the local cluster whatever the URL says
			}
			t.Run(op+"/"+r.name, func(t *testing.T) {
				c := &Config{URL: pgurl.MustParse(r.url), TaskerEnv: r.env, MigrationsDir: t.TempDir(), Cluster: idle, Log: &dbtest.Log{}}
				err := run(c)
				if fail.Code(err) != fail.Refused {
					t.Fatalf("code %d: %v", fail.Code(err), err)
				}
				msg := err.Error()
				if !strings.Contains(msg, r.want) || !strings.Contains(msg, "TASKER_ALLOW_DESTRUCTIVE=1") || strings.Contains(msg, "S3cretPw") {
					t.Errorf("message: %s", msg)
				}
			})
		}
	}
	// the override: production + reset on a real database goes ahead, with a warning
	c, log, _ := config(t, uniqueDB("override"), schema)
	c.TaskerEnv, c.Allow = "production", true
	t.Cleanup(func() { c.Drop(ctx) })
	if _, err := c.Reset(ctx); err != nil {
		t.Fatalf("override: %v", err)
	}
	if !strings.Contains(log.String(), "warn: TASKER_ALLOW_DESTRUCTIVE=1 overrides a refusal: TASKER_ENV is production") {
		t.Errorf("no warning:\n%s", log)
	}
}

// From nothing: Ensure starts a local cluster (on a free port when the
// URL's is taken), creates role and database, migrates; Down keeps data;
// Up again restarts it; Destroy deletes it.
func TestLocalClusterLifecycle(t *testing.T) {
	ctx := context.Background()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	cl, _ := dbtest.NewCluster(t)
	u := url.URL{Scheme: "postgresql", User: url.UserPassword("app_user", "Anoth3r-Pw"), Host: "localhost:" + strconv.Itoa(port), Path: "/app_db"}
	log, out := &dbtest.Log{}, &bytes.Buffer{}
	c := &Config{URL: pgurl.MustParse(u.String()), TaskerEnv: "test", MigrationsDir: dbtest.WriteDir(t, schema),
		Cluster: cl, LockTimeout: 5 * time.Second, ConnectTimeout: 500 * time.Millisecond, Log: log, Out: out}

	// something that is not PostgreSQL holds the port and never answers
	if err := c.Check(ctx); err == nil || !strings.Contains(err.Error(), "(no answer within 500ms); run `mage db:up`") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("check before up: %v", err)
	}
	if _, err := c.Up(ctx); err != nil {
		t.Fatalf("Up: %v\n%s", err, log)
	}
	got, err := c.Ensure(ctx)
	if err != nil {
		t.Fatalf("Ensure: %v\n%s", err, log)
	}
	if got.Port() == port || got.Port() != cl.RecordedPort() || got.Database() != "app_db" || got.Password() != "Anoth3r-Pw" {
		t.Errorf("effective URL %s (recorded port %d)", got.Redacted(), cl.RecordedPort())
	}
	if !strings.Contains(log.String(), "listens on port "+strconv.Itoa(got.Port())+", not "+strconv.Itoa(port)) {
		t.Errorf("the port change was not reported:\n%s", log)
	}
	if n, err := query(t, got, "SELECT count(*) FROM items"); err != nil || n != 1 {
		t.Fatalf("not migrated: %d %v", n, err)
	}
	if c.Effective().Port() != got.Port() {
		t.Error("Effective does not follow the running cluster")
	}
	if err := c.Check(ctx); err != nil || !strings.Contains(out.String(), "version 2") || !strings.Contains(out.String(), "pending    0") {
		t.Fatalf("check: %v\n%s", err, out)
	}
	// idempotent
	if again, err := c.Up(ctx); err != nil || again.Port() != got.Port() {
		t.Fatalf("second Up: %v", err)
	}
	if err := c.Down(ctx); err != nil {
		t.Fatal(err)
	}
	if _, running := cl.Running(); running || !cl.Exists() {
		t.Fatal("Down did not stop, or lost the data")
	}
	if c.Effective().Port() != port {
		t.Error("Effective still points at the stopped cluster")
	}
	// needed again with the port free: Ensure starts it there, data intact
	taken.Close()
	again, err := c.Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Port() != port {
		t.Errorf("restarted on %d, want the URL's port %d", again.Port(), port)
	}
	if n, err := query(t, again, "SELECT count(*) FROM items"); err != nil || n != 1 {
		t.Fatalf("data lost across down/up: %d %v", n, err)
	}
	if err := c.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cl.Dir); !os.IsNotExist(err) {
		t.Error("Destroy left the directory")
	}
	if strings.Contains(log.String()+out.String(), "Anoth3r-Pw") {
		t.Error("password in output")
	}
}

// Passwords never appear in errors or output, whatever fails.
func TestNoPasswordInErrorsOrOutput(t *testing.T) {
	ctx := context.Background()
	secrets := []string{dbtest.Password, url.QueryEscape(dbtest.Password), url.PathEscape(dbtest.Password)}
	var texts []string
	check := func(what string, err error) {
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		texts = append(texts, what+": "+err.Error())
	}
	bad, _ := url.Parse(srv.URL("nope").String())
	bad.User = url.UserPassword(dbtest.User, dbtest.Password+"X")
	c, log, out := config(t, "nope", schema)
	c.URL = pgurl.MustParse(bad.String())
	check("wrong password", c.Check(ctx))
	_, err := c.Ensure(ctx)
	check("wrong password ensure", err)

	c2, log2, out2 := config(t, uniqueDB("pw"), map[string]string{"0001_bad.up.sql": "SELECT '" + dbtest.Password + "' FROM nowhere;\n"})
	t.Cleanup(func() { c2.Allow = true; c2.Drop(ctx) })
	_, err = c2.Ensure(ctx)
	check("failing migration", err)
	if _, err := dbtest.Connect(t, c2.URL).Exec(ctx, "INSERT INTO schema_migrations VALUES (1, true)"); err != nil {
		t.Fatal(err)
	}
	check("status problem", c2.Check(ctx))
	protected := *c2
	protected.URL = c2.URL.WithDatabase("postgres")
	check("refused", protected.Drop(ctx))
	_, err = pgurl.Parse("postgresql://u:" + url.QueryEscape(dbtest.Password) + "@localhost:x5432/db")
	check("parse", err)

	c3, _, _ := config(t, "nodb_here", schema)
	c3.Cluster = nil
	check("check missing db", c3.Check(ctx))

	all := strings.Join(texts, "\n") + log.String() + out.String() + log2.String() + out2.String()
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("password %q leaked:\n%s", s, all)
		}
	}
	// the migration error still shows the failing line, with the secret scrubbed
	if !strings.Contains(all, "SELECT '***' FROM nowhere") {
		t.Errorf("excerpt not scrubbed as expected:\n%s", all)
	}
}

func TestCloneAndDropClone(t *testing.T) {
	ctx := context.Background()
	c, _, _ := config(t, uniqueDB("main"), schema)
	t.Cleanup(func() { c.Allow = true; c.Drop(ctx) })
	u, err := c.Clone(ctx, "clone_one")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := query(t, u, "SELECT count(*) FROM items"); err != nil || n != 1 {
		t.Fatalf("clone: %d %v", n, err)
	}
	if err := c.DropClone(ctx, "clone_one"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Clone(ctx, c.URL.Database()); fail.Code(err) != fail.Config {
		t.Errorf("cloning over DATABASE_URL's database: %v", err)
	}
	info, err := c.Template(ctx)
	if err != nil || info.Built || !strings.HasPrefix(info.Name, "tasker_tpl_") {
		t.Errorf("template %+v %v", info, err)
	}
}

// A failed file leaves the previous version, clean; a dirty version (left
// by golang-migrate's own CLI) is shown with the fix, and the fix works.
func TestStatusOutput(t *testing.T) {
	ctx := context.Background()
	c, _, out := config(t, uniqueDB("status"), map[string]string{
		"0001_items.up.sql": schema["0001_items.up.sql"],
		"0002_bad.up.sql":   "SELECT * FROM nowhere;\n",
	})
	t.Cleanup(func() { c.Allow = true; c.Drop(ctx) })
	if _, err := c.Ensure(ctx); err == nil {
		t.Fatal("bad migration applied")
	}
	if err := c.Status(ctx); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"version 1, 1 pending", "0001_items", "applied", "0002_bad    pending", "(no down file)"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("status lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out.String(), "DIRTY") {
		t.Errorf("dirty after a failed file:\n%s", out)
	}
	if _, err := dbtest.Connect(t, c.URL).Exec(ctx, "UPDATE schema_migrations SET version = 2, dirty = true"); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := c.Status(ctx); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"version 2, DIRTY, 1 pending", "FAILED (dirty)", "dirty: ", "run mage db:force 1"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("status lacks %q:\n%s", w, out)
		}
	}
	if err := c.Force(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(c.MigrationsDir, "0002_bad.up.sql"), []byte("SELECT 1;\n"), 0o644)
	if err := c.Migrate(ctx); err != nil {
		t.Fatalf("the printed fix does not work: %v", err)
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]int64{"3": 3, " 20250810140001 ": 20250810140001, "-1": -1, "none": -1} {
		if v, err := ParseVersion(in); err != nil || v != want {
			t.Errorf("%q: %d %v", in, v, err)
		}
	}
	for _, in := range []string{"", "x", "-2", "1.5"} {
		if _, err := ParseVersion(in); fail.Code(err) != fail.Config {
			t.Errorf("%q: %v", in, err)
		}
	}
}

// Parallel targets that all find no server start one cluster between them.
func TestConcurrentEnsureFromNothing(t *testing.T) {
	ctx := context.Background()
	cl, _ := dbtest.NewCluster(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	u := pgurl.MustParse("postgresql://par:Par-pw1@127.0.0.1:" + strconv.Itoa(port) + "/par_db")
	dir := dbtest.WriteDir(t, schema)
	urls := make([]pgurl.URL, 3)
	errs := make([]error, 3)
	done := make(chan int)
	for i := range urls {
		go func() {
			c := &Config{URL: u, TaskerEnv: "test", MigrationsDir: dir, Cluster: cl, Log: &dbtest.Log{}, Out: &bytes.Buffer{}}
			urls[i], errs[i] = c.Ensure(ctx)
			done <- i
		}()
	}
	for range urls {
		<-done
	}
	for i := range urls {
		if errs[i] != nil {
			t.Fatalf("Ensure %d: %v", i, errs[i])
		}
		if urls[i].Port() != port {
			t.Errorf("Ensure %d: port %d, want %d", i, urls[i].Port(), port)
		}
	}
	if n, err := query(t, urls[0], "SELECT count(*) FROM items"); err != nil || n != 1 {
		t.Fatalf("%d rows, %v", n, err)
	}
}

// A port parameter overrides the URL's port for pgx: the printed target,
// the check and the drop all follow it.
func TestTheTargetIsWhatTheDriverUses(t *testing.T) {
	ctx := context.Background()
	name := uniqueDB("param")
	c, log, out := config(t, name, schema)
	real := c.URL.Port()
	c.URL = pgurl.MustParse(strings.Replace(c.URL.String(), ":"+strconv.Itoa(real)+"/", ":1/", 1) + "&port=" + strconv.Itoa(real))
	if _, err := c.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(ctx); err != nil || !strings.Contains(out.String(), "at 127.0.0.1:"+strconv.Itoa(real)+"/"+name) {
		t.Fatalf("check: %v\n%s", err, out)
	}
	if err := c.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "about to drop 127.0.0.1:"+strconv.Itoa(real)+"/"+name) {
		t.Errorf("the printed target is not the one dropped:\n%s", log)
	}
}

// Statements a migration file cannot contain (its own COMMIT, statements
// PostgreSQL refuses in a transaction block) are found in the pending
// files before anything runs: exit 5 naming the file, the line and the
// fix; nothing applied, not even the files before it. The fix works.
func TestFilesThatCannotRunAreRefusedFirst(t *testing.T) {
	ctx := context.Background()
	for _, layout := range []struct{ name, ok, bad, split string }{
		{"migrate", "0001_items.up.sql", "0002_idx.up.sql", "0003_idx_concurrently.up.sql"},
		{"sqlx", "20240101000000_items.sql", "20240102000000_idx.sql", "20240103000000_idx_concurrently.sql"},
	} {
		t.Run(layout.name, func(t *testing.T) {
			for _, c := range []struct{ body, what string }{
				{"INSERT INTO items VALUES (7, 'x');\nCOMMIT;\n", "COMMIT ends or starts a transaction"},
				{"-- an index\nCREATE INDEX CONCURRENTLY items_name ON items (name);\n", "CREATE INDEX CONCURRENTLY cannot run inside a transaction block"},
				{"VACUUM items;\n", "VACUUM cannot run inside a transaction block"},
			} {
				c2, _, _ := config(t, uniqueDB("notx"), map[string]string{layout.ok: schema["0001_items.up.sql"], layout.bad: c.body})
				c2.Layout = layout.name
				t.Cleanup(func() { c2.Allow = true; c2.Drop(ctx) })
				err := c2.Migrate(ctx)
				line := strings.Count(c.body, "\n")
				if fail.Code(err) != fail.Config || !strings.Contains(fmt.Sprint(err), layout.bad+":"+strconv.Itoa(line)+": "+c.what) {
					t.Fatalf("code %d: %v", fail.Code(err), err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("more than one line: %v", err)
				}
				if n, err := query(t, c2.URL, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"); err != nil || n != 0 {
					t.Errorf("%d tables made before the check (%v)", n, err)
				}
			}
			// the fix the message gives: the statement alone, in a -- no-transaction migration
			c3, _, _ := config(t, uniqueDB("notx"), map[string]string{
				layout.ok:    schema["0001_items.up.sql"],
				layout.bad:   "INSERT INTO items VALUES (7, 'x');\n",
				layout.split: "-- no-transaction\nCREATE INDEX CONCURRENTLY items_name ON items (name);\n",
			})
			c3.Layout = layout.name
			t.Cleanup(func() { c3.Allow = true; c3.Drop(ctx) })
			if err := c3.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if n, err := query(t, c3.URL, "SELECT count(*) FROM pg_indexes WHERE indexname = 'items_name'"); err != nil || n != 1 {
				t.Errorf("index: %d %v", n, err)
			}
		})
	}
}

// One lock per database for everything that changes it: a reset waits for
// a running migrate instead of dropping the database under it, gives up
// after the lock timeout naming the holder's pid, and goes ahead once the
// migrate is done.
func TestResetWaitsForARunningMigrate(t *testing.T) {
	ctx := context.Background()
	files := map[string]string{
		"0001_items.up.sql": schema["0001_items.up.sql"],
		"0002_slow.up.sql":  "SELECT pg_sleep(3);\nINSERT INTO items VALUES (3, 'slow');\n",
	}
	migrating, _, _ := config(t, uniqueDB("busy"), files)
	t.Cleanup(func() { migrating.Allow = true; migrating.Drop(ctx) })
	done := make(chan error, 1)
	go func() { done <- migrating.Migrate(ctx) }()
	admin := dbtest.Connect(t, srv.Cluster.AdminURL(srv.Port))
	var holder int
	if !eventually(t, func() bool {
		err := admin.QueryRow(ctx, `SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
			WHERE l.locktype = 'advisory' AND l.granted AND d.datname = 'postgres'
			  AND (l.classid::int8 << 32 | l.objid::int8) = $1`, pg.DatabaseKey(migrating.URL.Database())).Scan(&holder)
		return err == nil
	}) {
		t.Fatal("the migrate never took the database lock in the postgres database")
	}
	impatient := *migrating
	impatient.LockTimeout = 300 * time.Millisecond
	_, err := impatient.Reset(ctx)
	if err == nil || !strings.Contains(err.Error(), "pid "+strconv.Itoa(holder)) || !strings.Contains(err.Error(), "300ms") {
		t.Fatalf("reset under a running migrate: %v", err)
	}
	patient := *migrating
	patient.LockTimeout = 20 * time.Second
	if _, err := patient.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the migrate the reset waited for failed: %v", err)
	}
	if n, err := query(t, migrating.URL, "SELECT count(*) FROM items"); err != nil || n != 1 {
		t.Errorf("after the reset: %d rows (%v), want the slow migration's one", n, err)
	}
}

func eventually(t *testing.T, ok func() bool) bool {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	return false
}

// An empty migrations directory, or one whose files all match no pattern,
// is a configuration error (exit 5) naming the directory; nothing is
// created: no database, no version table.
func TestNoMigrations(t *testing.T) {
	ctx := context.Background()
	for name, files := range map[string]map[string]string{
		"empty":        {},
		"only ignored": {"init.sql": "CREATE TABLE a (id int);\n", "V1__flyway_style.sql": "SELECT 1;\n"},
	} {
		t.Run(name, func(t *testing.T) {
			c, _, _ := config(t, uniqueDB("none"), files)
			for target, run := range map[string]func() error{
				"migrate": func() error { return c.Migrate(ctx) },
				"setup":   func() error { _, err := c.Setup(ctx); return err },
			} {
				err := run()
				if fail.Code(err) != fail.Config || !strings.Contains(fmt.Sprint(err), "there are no migrations in "+c.MigrationsDir) {
					t.Errorf("%s: code %d: %v", target, fail.Code(err), err)
				}
			}
			if n, _ := query(t, srv.URL("postgres"), "SELECT count(*) FROM pg_database WHERE datname = '"+c.URL.Database()+"'"); n != 0 {
				t.Error("the database was created")
			}
		})
	}
}

// db:status only reads: a missing database is reported with the target
// that makes it, and stays missing.
func TestStatusOnlyReads(t *testing.T) {
	ctx := context.Background()
	c, _, _ := config(t, uniqueDB("absent"), schema)
	err := c.Status(ctx)
	if err == nil || !strings.Contains(err.Error(), "database "+c.URL.Database()+" does not exist") || !strings.Contains(err.Error(), "mage db:setup") {
		t.Fatalf("status of a missing database: %v", err)
	}
	if n, _ := query(t, srv.URL("postgres"), "SELECT count(*) FROM pg_database WHERE datname = '"+c.URL.Database()+"'"); n != 0 {
		t.Error("status created the database")
	}
}

// Something other than PostgreSQL on DATABASE_URL's port (an HTTP server
// answering 400 to the startup message) is named as such, exit 5, instead
// of pgx's "invalid body length".
func TestNotPostgres(t *testing.T) {
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conn.Read(make([]byte, 512))
			conn.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			conn.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	c, _, _ := config(t, "app", schema)
	c.URL = pgurl.MustParse("postgresql://u:Pw-http@127.0.0.1:" + strconv.Itoa(port) + "/app")
	c.Cluster = &cluster.Cluster{Dir: filepath.Join(t.TempDir(), "none"), Run: dbtest.Runner()}
	want := "127.0.0.1:" + strconv.Itoa(port) + " answered, but not as PostgreSQL (an HTTP server?)"
	for target, run := range map[string]func() error{
		"check":   func() error { return c.Check(ctx) },
		"migrate": func() error { return c.Migrate(ctx) },
	} {
		err := run()
		if fail.Code(err) != fail.Config || !strings.Contains(fmt.Sprint(err), want) || strings.Contains(fmt.Sprint(err), "\n") || strings.Contains(fmt.Sprint(err), "body length") {
			t.Errorf("%s: code %d: %v", target, fail.Code(err), err)
		}
	}
}

// db:new checks the name: a name too long for a file, or with characters
// a file name should not have, is exit 5 with the rule.
func TestNewChecksTheName(t *testing.T) {
	c, _, out := config(t, "app", schema)
	for name, want := range map[string]string{
		strings.Repeat("a", 300): "is 300 characters long; use at most 100",
		"add/index":              `"/" `,
		"drop ünïcode":           `"ü" `,
	} {
		err := c.New(name)
		if fail.Code(err) != fail.Config || !strings.Contains(fmt.Sprint(err), want) {
			t.Errorf("%.20s…: code %d: %v", name, fail.Code(err), err)
		}
	}
	if err := c.New("Add task-index now"); err != nil || !strings.Contains(out.String(), "0003_add_task_index_now.up.sql") {
		t.Errorf("a good name: %v\n%s", err, out)
	}
}

// A migration calling a function an extension provides says so, with the
// CREATE EXTENSION statement, rather than "correct the file"; following
// the advice works. An unknown function gets the general advice.
func TestMissingExtensionAdvice(t *testing.T) {
	ctx := context.Background()
	c, _, _ := config(t, uniqueDB("ext"), map[string]string{
		"0001_ids.up.sql": "CREATE TABLE ids (id uuid DEFAULT uuid_generate_v4());\n",
	})
	t.Cleanup(func() { c.Allow = true; c.Drop(ctx) })
	err := c.Migrate(ctx)
	if err == nil || !strings.Contains(err.Error(), `fix:   uuid_generate_v4 comes from the extension uuid-ossp: add CREATE EXTENSION IF NOT EXISTS "uuid-ossp"; before its first use`) {
		t.Fatalf("advice: %v", err)
	}
	file := filepath.Join(c.MigrationsDir, "0001_ids.up.sql")
	body, _ := os.ReadFile(file)
	os.WriteFile(file, append([]byte(`CREATE EXTENSION IF NOT EXISTS "uuid-ossp";`+"\n"), body...), 0o644)
	if err := c.Migrate(ctx); err != nil {
		t.Fatalf("following the advice: %v", err)
	}

	c2, _, _ := config(t, uniqueDB("ext"), map[string]string{"0001_f.up.sql": "SELECT no_such_fn(1);\n"})
	t.Cleanup(func() { c2.Allow = true; c2.Drop(ctx) })
	err = c2.Migrate(ctx)
	if err == nil || !strings.Contains(err.Error(), "fix:   function no_such_fn(integer) does not exist: create it in an earlier migration (or earlier in this file), or, if an extension provides it, add CREATE EXTENSION IF NOT EXISTS <extension>;") {
		t.Fatalf("general advice: %v", err)
	}
}

// LeaveAsFound stops a cluster the tests started, and only that.
func TestLeaveAsFound(t *testing.T) {
	ctx := context.Background()
	cl, _ := dbtest.NewCluster(t)
	restore := dbtest.LeaveAsFound(cl.Dir)
	if _, err := cl.Up(ctx, 0); err != nil {
		t.Fatal(err)
	}
	leaveRunning := dbtest.LeaveAsFound(cl.Dir) // found running
	if stopped, err := leaveRunning(); stopped || err != nil {
		t.Errorf("stopped a cluster that ran before: %v %v", stopped, err)
	}
	if _, running := cl.Running(); !running {
		t.Fatal("not running")
	}
	if stopped, err := restore(); !stopped || err != nil {
		t.Errorf("left a cluster the tests started: %v %v", stopped, err)
	}
	if _, running := cl.Running(); running {
		t.Error("still running")
	}
}
