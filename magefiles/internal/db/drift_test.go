package db

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// A database migrated with older files, moved to newer ones: two applied
// files are gone and one changed. db:migrate, db:check and db:status
// each report all three, missing and changed, in one list (issue #15:
// migrate named only the missing versions, check counted only the changed
// file).
func TestDriftIsReportedWhole(t *testing.T) {
	ctx := context.Background()
	c, _, out := config(t, uniqueDB("drift"), map[string]string{
		"20240101000000_old_queue.sql":  "CREATE TABLE q (id int);\n",
		"20240102000000_old_tasks.sql":  "CREATE TABLE tasks (id int);\n",
		"20240103000000_steps.sql":      "CREATE TABLE steps (id int);\n",
		"20240104000000_step_index.sql": "CREATE INDEX steps_id ON steps (id);\n",
	})
	t.Cleanup(func() { c.Allow = true; c.Drop(ctx) })
	if err := c.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(c.MigrationsDir, "20240101000000_old_queue.sql"))
	os.Remove(filepath.Join(c.MigrationsDir, "20240102000000_old_tasks.sql"))
	os.WriteFile(filepath.Join(c.MigrationsDir, "20240103000000_steps.sql"), []byte("CREATE TABLE steps (id bigint);\n"), 0o644)
	want := []string{"20240101000000 (old queue): applied, and its file is gone", "20240102000000 (old tasks): applied, and its file is gone",
		"20240103000000_steps.sql: changed since it was applied"}

	for name, run := range map[string]func() error{
		"migrate": func() error { return c.Migrate(ctx) },
		"check":   func() error { return c.Check(ctx) },
	} {
		err := run()
		if fail.Code(err) != fail.Failed {
			t.Errorf("%s: code %d: %v", name, fail.Code(err), err)
		}
		for _, w := range want {
			if !strings.Contains(fmt.Sprint(err), w) {
				t.Errorf("%s does not report %q:\n%v", name, w, err)
			}
		}
	}
	out.Reset()
	if err := c.Status(ctx); err != nil {
		t.Fatal(err)
	}
	// one list, in version order, then what to do
	text := out.String()
	at := -1
	for _, w := range []string{"20240101000000  (no file)", "20240102000000  (no file)", "20240103000000  20240103000000_steps", "CHANGED", "20240104000000  20240104000000_step_index", "drift: 2 applied migrations have no file and 1 changed since it was applied"} {
		i := strings.Index(text, w)
		if i < at {
			t.Errorf("status lacks %q after the previous line:\n%s", w, text)
		}
		at = i
	}
}

// golang-migrate records one version: an applied version whose files are
// gone fails db:check too, not only db:migrate.
func TestMissingVersionFailsCheck(t *testing.T) {
	ctx := context.Background()
	c, _, _ := config(t, uniqueDB("gone"), schema)
	t.Cleanup(func() { c.Allow = true; c.Drop(ctx) })
	if err := c.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(c.MigrationsDir, "0002_seed.up.sql"))
	for name, run := range map[string]func() error{
		"migrate": func() error { return c.Migrate(ctx) },
		"check":   func() error { return c.Check(ctx) },
	} {
		if err := run(); fail.Code(err) != fail.Failed || !strings.Contains(fmt.Sprint(err), "2: applied, and its file is gone") {
			t.Errorf("%s: code %d: %v", name, fail.Code(err), err)
		}
	}
}
