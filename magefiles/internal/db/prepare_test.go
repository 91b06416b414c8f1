package db

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/dbtest"
	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := workspace.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// sqlxSession is a session at root whose DATABASE_URL is on the test
// cluster, with the repository's migrations (or migrations) and its
// installed tools (sqlx-cli: `mage install sqlx-cli`) on PATH. It skips at a
// desk without cargo or sqlx-cli, and fails under CI=true.
func sqlxSession(t *testing.T, root, migrations string, extra ...string) (*session.S, *testkit.SyncBuffer) {
	t.Helper()
	if srv == nil {
		t.Skip("no PostgreSQL")
	}
	testkit.NeedTool(t, "cargo")
	repo := repoRoot(t)
	path := filepath.Join(repo, ".tasker", "tools", "bin") + string(os.PathListSeparator) + os.Getenv("PATH")
	if _, err := toolchain.LookPath(path, "cargo-sqlx"); err != nil {
		testkit.Missing(t, "sqlx-cli is not installed", "`go tool mage install sqlx-cli` compiles it into .tasker/tools")
	}
	if migrations == "" {
		migrations = filepath.Join(repo, "db", "migrations")
	}
	// SQLX_OFFLINE and PGMQ_DATABASE_URL as the build's defaults have them
	environ := append(environWithout("SQLX_OFFLINE", "PGMQ_DATABASE_URL"), "PATH="+path,
		"DATABASE_URL="+srv.URL("tasker_sqlx").String(), "TASKER_PG_DIR="+srv.Cluster.Dir, EnvMigrationsDir+"="+migrations)
	e, err := env.Load(root, append(environ, extra...))
	if err != nil {
		t.Fatal(err)
	}
	out := &testkit.SyncBuffer{}
	return session.New(root, e, run.Options{Stdout: out, Stderr: out}), out
}

// environWithout is the test's environment less keys.
func environWithout(keys ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(keys, k) {
			out = append(out, kv)
		}
	}
	return out
}

// The committed cache is current: db:prepareCheck passes on a fresh clone
// of the repository's migrated template, with real sqlx-cli.
func TestPrepareCheckPassesOnTheCommittedCache(t *testing.T) {
	s, out := sqlxSession(t, repoRoot(t), "")
	if err := PrepareCheck(context.Background(), s); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out.String(), ".sqlx matches the queries of tasker-orchestration") {
		t.Errorf("no verdict:\n%s", out)
	}
	if strings.Contains(out.String(), dbtest.Password) {
		t.Errorf("the clone's password was printed:\n%s", out)
	}
}

// fixture is a small workspace with one crate of sqlx queries against the
// repository's schema; its build directory is kept between runs (a cold
// check of sqlx takes a minute).
type fixture struct {
	root, lib string
}

const fixtureLib = `pub async fn status(db: &mut sqlx::PgConnection, id: i64) -> Option<String> {
    sqlx::query_scalar!(
        "SELECT status FROM tasker.tasks \
         WHERE task_id = $1",
        id
    )
    .fetch_optional(db)
    .await
    .ok()
    .flatten()
}

pub async fn handlers(db: &mut sqlx::PgConnection) -> Vec<String> {
    sqlx::query!(r#"SELECT handler FROM tasker.tasks ORDER BY task_id"#)
        .fetch_all(db)
        .await
        .map(|rows| rows.into_iter().map(|r| r.handler).collect())
        .unwrap_or_default()
}
`

func newFixture(t *testing.T) fixture {
	t.Helper()
	repo := repoRoot(t)
	f := fixture{root: t.TempDir()}
	f.lib = filepath.Join(f.root, "queries", "src", "lib.rs")
	manifest, err := os.ReadFile(filepath.Join(repo, "crates", "tasker-orchestration", "Cargo.toml"))
	if err != nil {
		t.Fatal(err)
	}
	// the orchestration crate's own sqlx dependency line
	dep := regexp.MustCompile(`(?m)^sqlx = .*$`).Find(manifest)
	if dep == nil {
		t.Fatal("tasker-orchestration does not depend on sqlx")
	}
	lock, err := os.ReadFile(filepath.Join(repo, "Cargo.lock"))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"Cargo.toml":         "[workspace]\nresolver = \"2\"\nmembers = [\"queries\"]\n",
		"Cargo.lock":         string(lock), // the repository's versions: nothing to download
		"queries/Cargo.toml": "[package]\nname = \"queries\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\n" + string(dep) + "\n",
		"queries/src/lib.rs": fixtureLib,
		".sqlx/.gitkeep":     "",
	} {
		p := filepath.Join(f.root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f fixture) edit(t *testing.T, old, new string) {
	t.Helper()
	b, err := os.ReadFile(f.lib)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s lacks %q", f.lib, old)
	}
	if err := os.WriteFile(f.lib, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// migrationsWith is the repository's migrations plus one more file.
func migrationsWith(t *testing.T, name, sql string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(repoRoot(t), "db", "migrations")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if name != "" {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// db:prepare writes the cache with real sqlx-cli; db:prepareCheck passes
// on it, fails naming each query once its SQL or the schema changed, and
// passes again after db:prepare. A query the schema refuses is a compile
// error, not a stale cache.
func TestPrepareCheckNamesStaleQueries(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	target := "CARGO_TARGET_DIR=" + filepath.Join(repoRoot(t), "target", "sqlx-fixture")
	s, out := sqlxSession(t, f.root, "", target, "CARGO_NET_OFFLINE=true")
	check := func() error {
		t.Helper()
		start := time.Now()
		err := PrepareCheck(ctx, s)
		t.Logf("db:prepareCheck: %v (%s)", err, time.Since(start).Round(time.Millisecond))
		return err
	}
	if err := Prepare(ctx, s); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	written, _ := filepath.Glob(filepath.Join(f.root, ".sqlx", "query-*.json"))
	if len(written) != 2 {
		t.Fatalf("db:prepare wrote %v, want the fixture's 2 queries\n%s", written, out)
	}
	if err := check(); err != nil {
		t.Fatalf("fresh cache: %v\n%s", err, out)
	}

	// A query's SQL changes: its new hash is missing, the old one unused.
	f.edit(t, "ORDER BY task_id", "ORDER BY task_id DESC")
	err := check()
	var fe *fail.Error
	if !errors.As(err, &fe) || fe.Code != fail.Failed {
		t.Fatalf("stale cache: got %v, want exit %d\n%s", err, fail.Failed, out)
	}
	msg := err.Error()
	for _, want := range []string{
		"(2 queries)",
		"missing query-",
		"queries/src/lib.rs:14 (queries)\n      SELECT handler FROM tasker.tasks ORDER BY task_id DESC; not in the cache",
		"unused query-",
		"no longer in the code\n      SELECT handler FROM tasker.tasks ORDER BY task_id; in the cache, but no query",
		"fix: run `mage db:prepare` and commit .sqlx/",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "status") {
		t.Errorf("an unchanged query is named:\n%s", msg)
	}
	if err := Prepare(ctx, s); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if err := check(); err != nil {
		t.Fatalf("after db:prepare: %v\n%s", err, out)
	}

	// The schema changes a column's type: same SQL, another description.
	s, out = sqlxSession(t, f.root, migrationsWith(t, "0099_status_varchar.up.sql",
		"ALTER TABLE tasker.tasks ALTER COLUMN status TYPE varchar(20);\n"), target, "CARGO_NET_OFFLINE=true")
	err = check()
	if err == nil || !strings.Contains(err.Error(), "(1 query)") ||
		!strings.Contains(err.Error(), "changed query-") ||
		!strings.Contains(err.Error(), "queries/src/lib.rs:2 (queries)\n      SELECT status FROM tasker.tasks WHERE task_id = $1; the schema changed") {
		t.Fatalf("changed schema: got %v\n%s", err, out)
	}

	// A query of a column the schema lacks does not compile.
	f.edit(t, "SELECT status FROM", "SELECT no_such_column FROM")
	err = check()
	var xe *run.ExitError
	if !errors.As(err, &xe) || strings.Contains(err.Error(), "stale") {
		t.Fatalf("compile error: got %v, want sqlx-cli's failure\n%s", err, out)
	}
	if !strings.Contains(out.String(), "no_such_column") {
		t.Errorf("the compile error was not shown:\n%s", out)
	}
}

// Builds use the committed cache: with the build's environment (its
// SQLX_OFFLINE=true default) tasker-orchestration compiles while
// DATABASE_URL points at a closed port; with SQLX_OFFLINE=false the same
// compile needs that database.
func TestOfflineBuildNeedsNoDatabase(t *testing.T) {
	testkit.NeedTool(t, "cargo")
	root := repoRoot(t)
	closed := "postgresql://nobody:x@127.0.0.1:" + strconv.Itoa(testkit.FreePort(t)) + "/none"
	e, err := env.Load(root, append(environWithout("SQLX_OFFLINE"), "DATABASE_URL="+closed))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Get("SQLX_OFFLINE"); got != "true" {
		t.Fatalf("SQLX_OFFLINE defaults to %q, want true", got)
	}
	out := &testkit.SyncBuffer{}
	s := session.New(root, e, run.Options{Stdout: out, Stderr: out})
	reads := filepath.Join(root, "crates", "tasker-orchestration", "src", "reads.rs")
	// cargo does not know the macros read SQLX_OFFLINE: a newer source
	// makes it expand them again
	touch := func() {
		now := time.Now()
		if err := os.Chtimes(reads, now, now); err != nil {
			t.Fatal(err)
		}
	}
	cmd := s.Cmd(".", "cargo", "check", "-p", "tasker-orchestration", "--lib")
	touch()
	if err := s.Run.Run(context.Background(), cmd); err != nil {
		t.Fatalf("offline build: %v\n%s", err, out)
	}
	touch()
	cmd.Env = []string{"SQLX_OFFLINE=false"}
	err = s.Run.Run(context.Background(), cmd)
	touch() // the next build expands them offline again
	if err == nil || !strings.Contains(out.String(), "error communicating with database") {
		t.Fatalf("online build with no database: got %v\n%s", err, out)
	}
}

// sqlx-cli is pinned to the workspace's sqlx: the macros read the files it
// writes.
func TestSqlxCliMatchesTheWorkspacesSqlx(t *testing.T) {
	lock, err := os.ReadFile(filepath.Join(repoRoot(t), "Cargo.lock"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^name = "sqlx"\nversion = "([^"]+)"`).FindSubmatch(lock)
	if m == nil {
		t.Fatal("no sqlx in Cargo.lock")
	}
	tool, ok := toolchain.Find("sqlx-cli")
	if !ok || tool.Source.Pinned() != string(m[1]) {
		t.Errorf("sqlx-cli pinned to %q, the workspace has sqlx %s", tool.Source.Pinned(), m[1])
	}
}

// locateQueries hashes a literal as sqlx does: the committed cache's file
// (named by sqlx-cli) is found at its query in the orchestration crate.
func TestLocateQueriesFindsTheCommittedQuery(t *testing.T) {
	root := repoRoot(t)
	files, _ := filepath.Glob(filepath.Join(root, QueryCacheDir, "query-*.json"))
	if len(files) == 0 {
		t.Fatal("no committed query cache")
	}
	where := locateQueries([]sqlxCrate{{Package: "tasker-orchestration", Dir: filepath.Join(root, "crates", "tasker-orchestration")}}, root)
	for _, f := range files {
		if got := where[filepath.Base(f)]; !strings.HasPrefix(got, "crates/tasker-orchestration/src/reads.rs:") || !strings.HasSuffix(got, " (tasker-orchestration)") {
			t.Errorf("%s: located at %q", filepath.Base(f), got)
		}
	}
}

func TestRustStringLiterals(t *testing.T) {
	cases := []struct{ src, want string }{
		{`"SELECT 1")`, "SELECT 1"},
		{"\"SELECT a \\\n     FROM t\")", "SELECT a FROM t"},
		{`"a\"b\\c\n\t\x41\u{1F600}")`, "a\"b\\c\n\tA\U0001F600"},
		{`r#"SELECT "x" FROM t"#, 1)`, `SELECT "x" FROM t`},
		{`r"raw \n")`, `raw \n`},
		{"Task, \"SELECT * FROM t\", id)", "SELECT * FROM t"},
		{"crate::Task<'_>,\n r##\"a\"#b\"##)", "a\"#b"},
	}
	for _, c := range cases {
		got, ok := firstStringLiteral([]byte(c.src))
		if !ok || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.src, got, ok, c.want)
		}
	}
	for _, bad := range []string{`sql)`, `"unterminated`, `1 + "x"`} {
		if got, ok := firstStringLiteral([]byte(bad)); ok {
			t.Errorf("%q: got %q, want no literal", bad, got)
		}
	}
}
