package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
)

// Ctrl-C in the middle of a migration that outlasts mage's 5 s cleanup
// limit: the running statement is cancelled and the file rolled back, so
// the database stays at the previous version, clean, and the next
// db:migrate applies the file.
func TestInterruptedMigrationEndsClean(t *testing.T) {
	s := dbServer(t)
	dir, env, u := dbRoot(t, s, map[string]string{
		"0001_base.up.sql": "CREATE TABLE base (id int);\n",
		"0002_slow.up.sql": "CREATE TABLE slow_made (id int);\nSELECT pg_sleep(5);\nSELECT pg_sleep(5);\n",
	})
	cmd := exec.Command(mage, "db:migrate")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	ctx := context.Background()
	watch, err := pg.Connect(ctx, u, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close(ctx)
	sleeping := func() bool {
		var n int
		err := watch.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(5)%' AND state = 'active' AND pid <> pg_backend_pid()`).Scan(&n)
		return err == nil && n > 0
	}
	if !waitFor(30*time.Second, sleeping) {
		t.Fatalf("the slow migration never ran:\n%s", out.String())
	}
	time.Sleep(300 * time.Millisecond)
	interrupt(t, cmd, &out)
	if sleeping() {
		t.Error("the migration still runs on the server after mage exited")
	}
	status := invoke(t, dir, env, "db:status")
	status.expect(t, 0, "version 1, 1 pending")
	if bytes.Contains([]byte(status.stdout+status.stderr), []byte("DIRTY")) {
		t.Fatalf("dirty after the interrupt:\n%s\nmigrate said:\n%s", status.stdout+status.stderr, out.String())
	}
	again := invoke(t, dir, env, "db:migrate")
	again.expect(t, 0, "applied 0002_slow.up.sql")
	invoke(t, dir, env, "db:status").expect(t, 0, "version 2, 0 pending")
}
