package db

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/dbtest"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
)

// as is u logging in as the role tasker, tasker-core's default, created
// on the test server if needed.
func asTasker(t *testing.T, u pgurl.URL) pgurl.URL {
	t.Helper()
	srv.Exec(t, `DO $$ BEGIN
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tasker') THEN CREATE ROLE tasker LOGIN SUPERUSER PASSWORD 'tasker'; END IF;
		END $$`)
	p, _ := url.Parse(u.String())
	p.User = url.UserPassword("tasker", "tasker")
	return pgurl.MustParse(p.String())
}

// tasker-core's shape: two idempotent queue files, then one that creates
// schema tasker (named like the login role) and makes itself the
// search_path, with a type that cannot be created twice.
var trapFiles = []struct{ name, body string }{
	{"pgmq_extensions_and_headers", "CREATE TABLE IF NOT EXISTS public.queue_headers (id int);\n"},
	{"add_pgmq_notifications", "CREATE OR REPLACE FUNCTION public.notify_queue() RETURNS int LANGUAGE sql AS 'SELECT 1';\n"},
	{"schema_and_tables", "CREATE SCHEMA tasker;\nSET search_path TO tasker, public;\nCREATE TYPE dlq_reason AS ENUM ('timeout');\nCREATE TABLE tasks (id int, reason dlq_reason);\n"},
	{"add_identity_strategy", "ALTER TABLE tasker.tasks ADD COLUMN strategy text;\n"},
}

// trapLayouts name trapFiles[i] in each layout, and what the layout's own
// CLI does with the plain table name in a session as tasker.
var trapLayouts = []struct {
	name, table string
	file        func(i int) string
	toolCreates string // the CLI's first statement: its table, wherever the session puts it
}{
	{"sqlx", "_sqlx_migrations",
		func(i int) string {
			return []string{"20250810140001", "20250826180921", "20260110000001", "20260120000001"}[i] + "_" + trapFiles[i].name + ".sql"
		},
		// sqlx-postgres's ensure_migrations_table
		`CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)`},
	{"migrate", "schema_migrations",
		func(i int) string { return "000" + string(rune('1'+i)) + "_" + trapFiles[i].name + ".up.sql" },
		// golang-migrate's postgres driver: its table in current_schema()
		`DO $$ BEGIN EXECUTE format('CREATE TABLE IF NOT EXISTS %I.schema_migrations (version bigint not null primary key, dirty boolean not null)', current_schema()); END $$`},
}

// trapConfig is a Config for the first n trapFiles in a layout, on a new
// database dropped when the test ends.
func trapConfig(t *testing.T, layout string, file func(int) string, n int) (*Config, *dbtest.Log) {
	files := map[string]string{}
	for i := range n {
		files[file(i)] = trapFiles[i].body
	}
	c, log, _ := config(t, uniqueDB("trap"), files)
	c.Layout = layout
	t.Cleanup(func() { c.Allow = true; c.Drop(context.Background()) })
	return c, log
}

// tablesNamed lists the schemas holding a table called name.
func tablesNamed(t *testing.T, u pgurl.URL, name string) string {
	t.Helper()
	var schemas string
	dbtest.Connect(t, u).QueryRow(context.Background(),
		`SELECT coalesce(string_agg(schemaname, ',' ORDER BY schemaname), '') FROM pg_tables WHERE tablename = $1`, name).Scan(&schemas)
	return schemas
}

// The search_path trap (issue #15): a database migrated as role tasker,
// by files that create schema tasker. Every later session as tasker puts
// schema tasker first ("$user", public). The build system keeps the
// history where it was first created (public), schema-qualified: the
// second and third runs apply nothing. It says why other tools would
// re-run everything and how to stop that, and the URL option it gives
// makes a tool using the plain name (as sqlx-cli and golang-migrate's CLI
// do) find the history. A copy such a tool made is named and ignored.
func TestSearchPathTrap(t *testing.T) {
	ctx := context.Background()
	for _, layout := range trapLayouts {
		t.Run(layout.name, func(t *testing.T) {
			c, log := trapConfig(t, layout.name, layout.file, 3)
			c.URL = asTasker(t, c.URL)
			if err := c.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(c.MigrationsDir, layout.file(3)), []byte(trapFiles[3].body), 0o644)
			log.Lines = nil
			if err := c.Migrate(ctx); err != nil {
				t.Fatalf("second run: %v", err)
			}
			second := log.String()
			log.Lines = nil
			if err := c.Migrate(ctx); err != nil {
				t.Fatalf("third run: %v\n%s", err, log)
			}
			if strings.Contains(log.String(), "applied") || !strings.Contains(log.String(), "is up to date") {
				t.Errorf("the third run was not a no-op:\n%s", log)
			}
			if strings.Contains(log.String(), "warn:") {
				t.Errorf("a run with nothing to do repeats the warning:\n%s", log)
			}
			if got := tablesNamed(t, c.URL, layout.table); got != "public" {
				t.Errorf("%s in schemas %q, want public only", layout.table, got)
			}
			// told by the run that applied files, and by db:status
			log.Lines = nil
			if err := c.Status(ctx); err != nil {
				t.Fatal(err)
			}
			// in full by the run that applied files, in one line by status
			for _, w := range []string{`keeps its migration history in "public"."` + layout.table + `"`, `search_path "$user", public`,
				`schema named like the role`, "options=-c%20search_path%3Dpublic", "ALTER ROLE"} {
				if !strings.Contains(second, w) {
					t.Errorf("the warning of the second run lacks %q:\n%s", w, second)
				}
			}
			for _, w := range []string{`history in "public"."` + layout.table + `"`, "options=-c%20search_path%3Dpublic"} {
				if !strings.Contains(log.String(), w) || strings.Count(log.String(), "warn:") != 1 {
					t.Errorf("status should say %q in one line:\n%s", w, log)
				}
			}

			// the documented option: the CLI's plain name finds the history
			fixed := dbtest.Connect(t, c.URL.WithParam("options", "-c search_path=public"))
			if _, err := fixed.Exec(ctx, layout.toolCreates); err != nil {
				t.Fatal(err)
			}
			var applied int
			if err := fixed.QueryRow(ctx, "SELECT max(version) FROM "+layout.table).Scan(&applied); err != nil || applied < 4 {
				t.Errorf("with the option the CLI reads version %d (%v), want the 4th file's", applied, err)
			}
			if got := tablesNamed(t, c.URL, layout.table); got != "public" {
				t.Errorf("with the option the CLI made a copy: %s in %q", layout.table, got)
			}

			// without it, the CLI makes tasker's own copy; the build system
			// names it and goes on using public's
			if _, err := dbtest.Connect(t, c.URL).Exec(ctx, layout.toolCreates); err != nil {
				t.Fatal(err)
			}
			log.Lines = nil
			if err := c.Migrate(ctx); err != nil || strings.Contains(log.String(), "applied") {
				t.Fatalf("with a copy: %v\n%s", err, log)
			}
			if !strings.Contains(log.String(), `1 more `+layout.table+` table(s): "tasker"."`+layout.table+`"`) {
				t.Errorf("the copy is not named:\n%s", log)
			}
		})
	}
}

// A history first created in another schema (by a tool whose search_path
// started there) stays where it is: nothing is applied again.
func TestHistoryStaysWhereItWasCreated(t *testing.T) {
	ctx := context.Background()
	for _, layout := range trapLayouts {
		t.Run(layout.name, func(t *testing.T) {
			c, log := trapConfig(t, layout.name, layout.file, 4)
			if err := c.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := dbtest.Connect(t, c.URL).Exec(ctx, "CREATE SCHEMA elsewhere; ALTER TABLE public."+layout.table+" SET SCHEMA elsewhere"); err != nil {
				t.Fatal(err)
			}
			log.Lines = nil
			if err := c.Migrate(ctx); err != nil || strings.Contains(log.String(), "applied") {
				t.Fatalf("with the history in schema elsewhere: %v\n%s", err, log)
			}
			if got := tablesNamed(t, c.URL, layout.table); got != "elsewhere" {
				t.Errorf("%s in %q, want elsewhere only", layout.table, got)
			}
		})
	}
}
