package sqlxmig

import (
	"bytes"
	"context"
	"crypto/sha512"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/dbtest"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/source"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

var srv *dbtest.Server

func TestMain(m *testing.M) { dbtest.Main(m, &srv) }

// copyTestdata copies testdata/sqlx (minus skip) into a temp dir.
func copyTestdata(t *testing.T, skip ...string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir("testdata/sqlx")
	if err != nil {
		t.Fatal(err)
	}
next:
	for _, e := range entries {
		for _, s := range skip {
			if strings.HasPrefix(e.Name(), s) {
				continue next
			}
		}
		b, _ := os.ReadFile(filepath.Join("testdata/sqlx", e.Name()))
		os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
	}
	return dst
}

func newMigrator(t *testing.T, u pgurl.URL, dir string) *Migrator {
	t.Helper()
	layout, err := source.Detect(dir, "")
	if err != nil || layout != source.SQLx {
		t.Fatalf("layout %q, %v", layout, err)
	}
	return &Migrator{dbtest.Options(t, u, dir, layout)}
}

// sha384 is computed here independently of the package's Checksum.
func sha384(t *testing.T, path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha512.New384()
	io.Copy(h, f)
	return h.Sum(nil)
}

// The rows are what sqlx writes, so sqlx finds nothing pending and no
// checksum mismatch.
func TestApplyLikeSqlx(t *testing.T) {
	u := srv.NewDB(t)
	dir := copyTestdata(t)
	m := newMigrator(t, u, dir)
	applied, err := m.Up(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 3 {
		t.Fatalf("applied %d, want 3", len(applied))
	}
	conn := dbtest.Connect(t, u)
	type row struct {
		version     int64
		description string
		success     bool
		checksum    []byte
		execTime    int64
		installed   time.Time
	}
	rows, err := conn.Query(context.Background(), `SELECT version, description, success, checksum, execution_time, installed_on FROM _sqlx_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.version, &x.description, &x.success, &x.checksum, &x.execTime, &x.installed)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		version     int64
		description string
		file        string
	}{
		{20240101000000, "create users", "20240101000000_create_users.sql"},
		{20240102000000, "add user names", "20240102000000_add_user_names.up.sql"},
		{20240103000000, "users email idx", "20240103000000_users_email_idx.sql"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.version != w.version || g.description != w.description || !g.success {
			t.Errorf("row %d = %d %q success=%v, want %d %q true", i, g.version, g.description, g.success, w.version, w.description)
		}
		if !bytes.Equal(g.checksum, sha384(t, filepath.Join(dir, w.file))) {
			t.Errorf("row %d: checksum is not SHA-384 of %s", i, w.file)
		}
		if g.execTime <= 0 || g.installed.IsZero() {
			t.Errorf("row %d: execution_time %d installed_on %v", i, g.execTime, g.installed)
		}
	}
	// the table's shape is sqlx's
	var cols string
	conn.QueryRow(context.Background(), `SELECT string_agg(column_name || ' ' || data_type || ' ' || is_nullable, ', ' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_name = '_sqlx_migrations'`).Scan(&cols)
	if cols != "version bigint NO, description text NO, installed_on timestamp with time zone NO, success boolean NO, checksum bytea NO, execution_time bigint NO" {
		t.Errorf("columns: %s", cols)
	}
	// the schema exists, the no-transaction file ran (CONCURRENTLY outside a transaction)
	var idx int
	conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_indexes WHERE indexname = 'users_email_lower_idx'`).Scan(&idx)
	if idx != 1 {
		t.Error("the no-transaction migration did not create its index")
	}
	// nothing pending, no drift; a second run applies nothing
	st, err := m.Status(context.Background(), conn)
	if err != nil || len(st.Pending) != 0 || len(st.Drift) != 0 || len(st.Missing) != 0 || st.Version != 20240103000000 {
		t.Fatalf("status %+v %v", st, err)
	}
	if again, err := m.Up(context.Background()); err != nil || len(again) != 0 {
		t.Fatalf("second run applied %d: %v", len(again), err)
	}
}

// An applied file that changed is drift: status lists it, Up refuses.
func TestDrift(t *testing.T) {
	u := srv.NewDB(t)
	dir := copyTestdata(t)
	m := newMigrator(t, u, dir)
	if _, err := m.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "20240102000000_add_user_names.up.sql")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, append(b, []byte("-- edited after it was applied\n")...), 0o644)
	// editing a down file is not drift (sqlx checks the up file only)
	os.WriteFile(filepath.Join(dir, "20240102000000_add_user_names.down.sql"), []byte("-- changed\n"), 0o644)
	st, err := m.Status(context.Background(), dbtest.Connect(t, u))
	if err != nil || len(st.Drift) != 1 || st.Drift[0].Version != 20240102000000 {
		t.Fatalf("drift = %+v, %v", st.Drift, err)
	}
	_, err = m.Up(context.Background())
	if err == nil || !strings.Contains(err.Error(), "20240102000000_add_user_names.up.sql") || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("Up with drift: %v", err)
	}
}

// A failing file leaves no row and nothing applied, and the report says so.
func TestFailure(t *testing.T) {
	u := srv.NewDB(t)
	dir := copyTestdata(t, "20240103")
	os.WriteFile(filepath.Join(dir, "20240104000000_broken.sql"), []byte("CREATE TABLE partial (id int);\nALTER TABLE nope ADD COLUMN x int;\n"), 0o644)
	m := newMigrator(t, u, dir)
	applied, err := m.Up(context.Background())
	var f *pg.Failure
	if !errors.As(err, &f) || len(applied) != 2 {
		t.Fatalf("applied %d, err %v", len(applied), err)
	}
	for _, want := range []string{"20240104000000_broken.sql", `relation "nope" does not exist`, "> 2 |", "nothing from it was applied", "mage db:migrate"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("report lacks %q:\n%s", want, err)
		}
	}
	conn := dbtest.Connect(t, u)
	var rows, partial int
	conn.QueryRow(context.Background(), `SELECT count(*) FROM _sqlx_migrations WHERE version = 20240104000000`).Scan(&rows)
	conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_tables WHERE tablename = 'partial'`).Scan(&partial)
	if rows != 0 || partial != 0 {
		t.Errorf("rows %d, partial table %d; want nothing", rows, partial)
	}
}

// sqlx's lock id: we and sqlx exclude each other.
func TestLockKey(t *testing.T) {
	// 0x3d32ad9e * crc32 (computed with Python's zlib.crc32)
	for db, want := range map[string]int64{"tasker_rust_test": 156376091026020096, "postgres": 368907709894077238} {
		if got := LockKey(db); got != want {
			t.Errorf("LockKey(%s) = %d, want %d", db, got, want)
		}
	}
	u := srv.NewDB(t)
	m := newMigrator(t, u, copyTestdata(t))
	m.LockTimeout = 300 * time.Millisecond
	holder := dbtest.Connect(t, u)
	if _, err := holder.Exec(context.Background(), `SELECT pg_advisory_lock($1)`, LockKey(u.Database())); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := m.Up(context.Background())
	if err == nil || !strings.Contains(err.Error(), "sqlx migration lock") || time.Since(start) > 3*time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(start))
	}
}

func TestRollback(t *testing.T) {
	u := srv.NewDB(t)
	dir := copyTestdata(t)
	m := newMigrator(t, u, dir)
	if _, err := m.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	// the latest is a simple migration: refused
	if _, _, err := m.Rollback(context.Background()); fail.Code(err) != fail.Refused {
		t.Fatalf("err = %v", err)
	}
	// without it, the reversible one reverts and its row goes
	u2 := srv.NewDB(t)
	m2 := newMigrator(t, u2, copyTestdata(t, "20240103"))
	if _, err := m2.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	from, to, err := m2.Rollback(context.Background())
	if err != nil || from != 20240102000000 || to != 20240101000000 {
		t.Fatalf("%d → %d: %v", from, to, err)
	}
	var n int
	dbtest.Connect(t, u2).QueryRow(context.Background(), `SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'name'`).Scan(&n)
	if n != 0 {
		t.Error("the down file did not run")
	}
	st, _ := m2.Status(context.Background(), dbtest.Connect(t, u2))
	if len(st.Pending) != 1 || st.Version != 20240101000000 {
		t.Errorf("status after rollback: %+v", st)
	}
}
