package template

import (
	"context"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/migrator"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/dbtest"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/gomigrate"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/source"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

var srv *dbtest.Server

func TestMain(m *testing.M) { dbtest.Main(m, &srv) }

func countingMigrate(t *testing.T, calls *atomic.Int32) Migrate {
	dir := dbtest.WriteDir(t, map[string]string{
		"0001_things.up.sql": "CREATE SCHEMA app;\nCREATE TABLE app.things (id int PRIMARY KEY, name text);\nINSERT INTO app.things VALUES (1, 'seed');\n",
	})
	d, err := source.Load(dir, source.Migrate)
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, u pgurl.URL) error {
		calls.Add(1)
		time.Sleep(100 * time.Millisecond) // widen the race window
		_, err := (&gomigrate.Migrator{Options: migrator.Options{URL: u, Dir: d}}).Up(ctx)
		return err
	}
}

func drop(t *testing.T, name string) {
	conn, err := pg.Connect(context.Background(), srv.URL("postgres"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := pg.DropDatabase(context.Background(), conn, name); err != nil {
		t.Error(err)
	}
}

type dbInfo struct {
	exists, template, allowConn bool
}

func info(t *testing.T, name string) dbInfo {
	t.Helper()
	conn, err := pg.Connect(context.Background(), srv.URL("postgres"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var d dbInfo
	err = conn.QueryRow(context.Background(), `SELECT true, datistemplate, datallowconn FROM pg_database WHERE datname = $1`, name).Scan(&d.exists, &d.template, &d.allowConn)
	if err != nil && !strings.Contains(err.Error(), "no rows") {
		t.Fatal(err)
	}
	return d
}

// Concurrent callers build the template once; clones have the schema and
// data; the template is marked and closed to connections.
func TestEnsureAndClone(t *testing.T) {
	ctx := context.Background()
	admin := srv.URL("postgres")
	var calls atomic.Int32
	mig := countingMigrate(t, &calls)
	hash := "aaaaaaaaaaaa0001"
	var wg sync.WaitGroup
	names := make([]string, 3)
	errs := make([]error, 3)
	for i := range names {
		wg.Add(1)
		go func() { defer wg.Done(); names[i], _, errs[i] = Ensure(ctx, admin, hash, mig, Options{}) }()
	}
	wg.Wait()
	for i := range names {
		if errs[i] != nil || names[i] != "tasker_tpl_aaaaaaaaaaaa" {
			t.Fatalf("Ensure %d: %q %v", i, names[i], errs[i])
		}
	}
	if calls.Load() != 1 {
		t.Errorf("migrated %d times, want once", calls.Load())
	}
	if d := info(t, names[0]); !d.template || d.allowConn {
		t.Errorf("template flags %+v", d)
	}
	t.Cleanup(func() {
		DropClone(ctx, admin, "clone_a")
		drop(t, "tasker_tpl_aaaaaaaaaaaa")
	})

	u, err := Clone(ctx, admin, names[0], "clone_a")
	if err != nil {
		t.Fatal(err)
	}
	if u.Database() != "clone_a" || !strings.Contains(u.String(), "127.0.0.1") {
		t.Errorf("clone URL %s", u.Redacted())
	}
	conn, err := pg.Connect(ctx, u, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	if err := conn.QueryRow(ctx, `SELECT name FROM app.things WHERE id = 1`).Scan(&name); err != nil || name != "seed" {
		t.Fatalf("clone lacks the schema: %q %v", name, err)
	}
	// an open connection to a leftover clone does not stop a re-clone
	if _, err := Clone(ctx, admin, names[0], "clone_a"); err != nil {
		t.Fatalf("re-clone over a leftover: %v", err)
	}
	conn.Close(ctx)
	if err := DropClone(ctx, admin, "clone_a"); err != nil {
		t.Fatal(err)
	}
	if info(t, "clone_a").exists {
		t.Error("clone survived DropClone")
	}
	if err := DropClone(ctx, admin, "clone_a"); err != nil {
		t.Errorf("dropping a missing clone: %v", err)
	}
}

// A new hash builds a new template and drops the stale one; a half-built
// template (not marked) is rebuilt.
func TestStaleTemplateDropped(t *testing.T) {
	ctx := context.Background()
	admin := srv.URL("postgres")
	var calls atomic.Int32
	mig := countingMigrate(t, &calls)
	old, built, err := Ensure(ctx, admin, "bbbbbbbbbbbb", mig, Options{})
	if err != nil || !built {
		t.Fatal(built, err)
	}
	// a clone of the old template is independent and survives
	if _, err := Clone(ctx, admin, old, "clone_b"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { DropClone(ctx, admin, "clone_b") })
	// a half-built template for the new hash, from a run that died
	srv.Exec(t, "CREATE DATABASE tasker_tpl_cccccccccccc")
	log := &dbtest.Log{}
	cur, built, err := Ensure(ctx, admin, "cccccccccccc", mig, Options{Logf: log.Logf})
	if err != nil || !built || cur != "tasker_tpl_cccccccccccc" {
		t.Fatal(cur, built, err)
	}
	t.Cleanup(func() { drop(t, "tasker_tpl_cccccccccccc") })
	if info(t, old).exists {
		t.Errorf("stale template %s still exists", old)
	}
	if !strings.Contains(log.String(), "dropped stale template "+old) {
		t.Errorf("log: %s", log)
	}
	if d := info(t, cur); !d.template {
		t.Errorf("%s not marked as template", cur)
	}
	if !info(t, "clone_b").exists {
		t.Error("a clone of the stale template was dropped")
	}
	if _, built, _ := Ensure(ctx, admin, "cccccccccccc", mig, Options{}); built {
		t.Error("rebuilt an up-to-date template")
	}
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{
		"test_1": true, "_x": true, "Upper": false, "a-b": false, "": false, "postgres": false,
		"template1": false, "tasker_tpl_x": false, strings.Repeat("a", 64): false, strings.Repeat("a", 63): true,
	} {
		err := CheckName(name)
		if (err == nil) != ok || (err != nil && fail.Code(err) != fail.Config) {
			t.Errorf("CheckName(%q) = %v", name, err)
		}
	}
}
