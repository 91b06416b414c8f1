package db

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
)

// sqlx-cli itself (issue #15's done-when): on a database the build system
// migrated as role tasker with files that create schema tasker, the URL
// option the build system documents makes sqlx-cli see every file applied
// with its checksum, and `sqlx migrate run` applies nothing.
func TestSqlxCliFindsTheHistoryWithTheDocumentedOption(t *testing.T) {
	if srv == nil {
		t.Skip("no PostgreSQL")
	}
	path := filepath.Join(repoRoot(t), ".tasker", "tools", "bin") + string(os.PathListSeparator) + os.Getenv("PATH")
	cli, err := toolchain.LookPath(path, "sqlx")
	if err != nil {
		testkit.Missing(t, "sqlx-cli is not installed", "`go tool mage install sqlx-cli` compiles it into .tasker/tools")
	}
	sqlx := trapLayouts[0]
	c, _ := trapConfig(t, sqlx.name, sqlx.file, 4)
	c.URL = asTasker(t, c.URL)
	if err := c.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	documented := c.URL.WithParam("options", "-c search_path=public").String()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(cli, append(args, "--source", c.MigrationsDir, "--database-url", documented)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sqlx %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	info := run("migrate", "info")
	if strings.Count(info, "installed") != 4 || strings.Contains(info, "pending") || strings.Contains(info, "checksum") {
		t.Fatalf("sqlx-cli does not see the four files applied as they are:\n%s", info)
	}
	if out := run("migrate", "run"); strings.Contains(out, "Applied") {
		t.Fatalf("sqlx migrate run applied files again:\n%s", out)
	}
	if got := tablesNamed(t, c.URL, sqlx.table); got != "public" {
		t.Fatalf("_sqlx_migrations in schemas %q after sqlx-cli, want public only", got)
	}
}
