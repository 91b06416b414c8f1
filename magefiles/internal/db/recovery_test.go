package db

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/dbtest"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/sqlxmig"
)

// commandRe finds the recovery commands a message prints.
var commandRe = regexp.MustCompile(`mage (db:[a-zA-Z]+)(?: (-?[0-9]+|<name>))?|DELETE FROM \S*_sqlx_migrations\S* WHERE version = [0-9]+|INSERT INTO \S+ SELECT \* FROM \S+ WHERE [^;]*;|DROP TABLE "[^"]+"\."[^"]+";`)

// follow runs every recovery command msg prints, in order, as the target
// (or the SQL) would: the advice is tested by taking it.
func follow(t *testing.T, c *Config, msg string) {
	t.Helper()
	ctx := context.Background()
	found := commandRe.FindAllStringSubmatch(msg, -1)
	if len(found) == 0 {
		t.Fatalf("no recovery command in: %s", msg)
	}
	for _, m := range found {
		var err error
		switch m[1] {
		case "":
			_, err = dbtest.Connect(t, c.Effective()).Exec(ctx, m[0])
		case "db:migrate":
			err = c.Migrate(ctx)
		case "db:reset":
			_, err = c.Reset(ctx)
		case "db:setup":
			_, err = c.Setup(ctx)
		case "db:rollback":
			err = c.Rollback(ctx)
		case "db:force":
			err = c.Force(ctx, m[2])
		case "db:new":
			err = c.New("first")
		default:
			t.Fatalf("no way to follow %q", m[0])
		}
		if err != nil {
			t.Fatalf("following %q from %q: %v", m[0], msg, err)
		}
	}
}

// Each state the targets give advice for, and the advice taken.
func TestPrintedRecoveriesWork(t *testing.T) {
	ctx := context.Background()
	sqlxFiles := map[string]string{
		"20240101000000_items.sql": schema["0001_items.up.sql"],
		"20240102000000_seed.sql":  schema["0002_seed.up.sql"],
	}
	cases := []struct {
		name  string
		files map[string]string
		setup func(t *testing.T, c *Config) // brings the database into the state
		fail  func(c *Config) error         // the target that gives the advice
		fixed func(t *testing.T, c *Config) // what the user edits besides running commands
	}{
		{name: "sqlx drift", files: sqlxFiles,
			setup: func(t *testing.T, c *Config) {
				os.WriteFile(filepath.Join(c.MigrationsDir, "20240102000000_seed.sql"), []byte("INSERT INTO items VALUES (9, 'edited');\n"), 0o644)
			},
			fail: func(c *Config) error { return c.Migrate(ctx) }},
		{name: "sqlx row marked failed", files: sqlxFiles,
			setup: func(t *testing.T, c *Config) {
				dbtest.Connect(t, c.URL).Exec(ctx, "UPDATE _sqlx_migrations SET success = false WHERE version = 20240102000000; DELETE FROM items")
			},
			fail: func(c *Config) error { return c.Migrate(ctx) }},
		{name: "sqlx history copy recording a version", files: sqlxFiles,
			setup: func(t *testing.T, c *Config) {
				// a tool whose search_path started at schema tool applied the third file there
				body := "INSERT INTO items VALUES (3, 'elsewhere');\n"
				os.WriteFile(filepath.Join(c.MigrationsDir, "20240103000000_more.sql"), []byte(body), 0o644)
				conn := dbtest.Connect(t, c.URL)
				if _, err := conn.Exec(ctx, "CREATE SCHEMA tool; CREATE TABLE tool._sqlx_migrations (LIKE public._sqlx_migrations INCLUDING ALL); "+body); err != nil {
					t.Fatal(err)
				}
				if _, err := conn.Exec(ctx, "INSERT INTO tool._sqlx_migrations VALUES (20240103000000, 'more', now(), true, $1, 1)", sqlxmig.Checksum([]byte(body))); err != nil {
					t.Fatal(err)
				}
			},
			fail: func(c *Config) error { return c.Migrate(ctx) }},
		{name: "migrate version table copy ahead", files: schema,
			setup: func(t *testing.T, c *Config) {
				body := "INSERT INTO items VALUES (3, 'elsewhere');\n"
				os.WriteFile(filepath.Join(c.MigrationsDir, "0003_more.up.sql"), []byte(body), 0o644)
				if _, err := dbtest.Connect(t, c.URL).Exec(ctx, "CREATE SCHEMA tool; CREATE TABLE tool.schema_migrations (version bigint not null primary key, dirty boolean not null); INSERT INTO tool.schema_migrations VALUES (3, false); "+body); err != nil {
					t.Fatal(err)
				}
			},
			fail: func(c *Config) error { return c.Migrate(ctx) }},
		{name: "applied version without a file", files: schema,
			setup: func(t *testing.T, c *Config) {
				dbtest.Connect(t, c.URL).Exec(ctx, "UPDATE schema_migrations SET version = 7")
			},
			fail: func(c *Config) error { return c.Migrate(ctx) }},
		{name: "failing down file", files: map[string]string{
			"0001_items.up.sql": schema["0001_items.up.sql"], "0001_items.down.sql": "DROP TABLE itemz;\n"},
			fail: func(c *Config) error { return c.Rollback(ctx) },
			fixed: func(t *testing.T, c *Config) {
				os.WriteFile(filepath.Join(c.MigrationsDir, "0001_items.down.sql"), []byte("DROP TABLE items;\n"), 0o644)
			}},
		{name: "missing database", files: schema,
			setup: func(t *testing.T, c *Config) { c.Allow = true; c.Drop(ctx) },
			fail:  func(c *Config) error { return c.Status(ctx) }},
		{name: "no migrations", files: map[string]string{},
			fail: func(c *Config) error { return c.Migrate(ctx) },
			fixed: func(t *testing.T, c *Config) {
				t.Cleanup(func() { c.Allow = true; c.Drop(ctx) })
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := config(t, uniqueDB("fix"), tc.files)
			t.Cleanup(func() { c.Allow = true; c.Drop(ctx) })
			if len(tc.files) > 0 {
				if _, err := c.Setup(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if tc.setup != nil {
				tc.setup(t, c)
			}
			err := tc.fail(c)
			if err == nil {
				t.Fatal("no advice: the target succeeded")
			}
			if tc.fixed != nil {
				tc.fixed(t, c)
			}
			follow(t, c, err.Error())
			// and the database is usable again
			if err := c.Check(ctx); err != nil && !strings.Contains(err.Error(), "pending") {
				t.Errorf("after following the advice: %v", err)
			}
		})
	}
}
