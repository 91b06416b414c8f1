package db

import (
	"context"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/cluster"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/dbtest"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// A running local cluster whose postgres binary was replaced on disk (what
// a package upgrade does; the old server then fails loading the new
// plpgsql.so) is restarted by the next target that uses it, which says so;
// the targets that only read warn.
func TestReplacedServerIsRestarted(t *testing.T) {
	if _, err := os.Readlink("/proc/self/exe"); err != nil {
		t.Skip("no /proc: the check needs it")
	}
	ctx := context.Background()
	pgctl, err := exec.LookPath("pg_ctl")
	if err != nil {
		t.Skip("no pg_ctl")
	}
	real, err := filepath.EvalSymlinks(pgctl)
	if err != nil {
		t.Fatal(err)
	}
	cl, base := dbtest.NewCluster(t)
	// a private copy of the server binaries (pg_ctl starts the postgres
	// next to it), so the test can replace one; not in a "bin" directory,
	// which postgres would take for a relocated installation
	bin := filepath.Join(base, "server")
	os.Mkdir(bin, 0o755)
	for _, name := range []string{"pg_ctl", "postgres"} {
		copyFile(t, filepath.Join(filepath.Dir(real), name), filepath.Join(bin, name))
	}
	if err := os.Symlink(filepath.Join(filepath.Dir(real), "initdb"), filepath.Join(bin, "initdb")); err != nil {
		t.Fatal(err)
	}
	out := &testkit.SyncBuffer{}
	cl.PathEnv, cl.Run = bin, run.New(run.Options{Stdout: out, Stderr: out, Env: os.Environ()})
	u := url.URL{Scheme: "postgresql", User: url.UserPassword("rp", "Rp-pw1"), Host: "127.0.0.1:" + strconv.Itoa(testkit.FreePort(t)), Path: "/rp_db"}
	log := &dbtest.Log{}
	c := &Config{URL: pgurl.MustParse(u.String()), TaskerEnv: "test", MigrationsDir: dbtest.WriteDir(t, schema), Cluster: cl, Log: log, Out: io.Discard}
	if _, err := c.Up(ctx); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	replace := func() int {
		pid := postmasterPID(t, cl)
		copyFile(t, filepath.Join(bin, "postgres"), filepath.Join(bin, ".postgres.new"))
		if err := os.Rename(filepath.Join(bin, ".postgres.new"), filepath.Join(bin, "postgres")); err != nil {
			t.Fatal(err)
		}
		if _, replaced := cl.Replaced(); !replaced {
			t.Fatal("replacing the binary went unnoticed; the test proves nothing")
		}
		return pid
	}
	before := replace()
	if err := c.Check(ctx); err != nil || !strings.Contains(log.String(), "the local PostgreSQL is stale: "+filepath.Join(bin, "postgres")+" was replaced on disk") {
		t.Errorf("check did not warn: %v\n%s", err, log)
	}
	if err := c.Migrate(ctx); err != nil {
		t.Fatalf("migrate on the replaced server: %v\n%s", err, out)
	}
	if after := postmasterPID(t, cl); after == before {
		t.Error("the server was not restarted")
	}
	if _, replaced := cl.Replaced(); replaced {
		t.Error("still stale after the restart")
	}
	if !strings.Contains(out.String(), "restarting the local PostgreSQL: "+filepath.Join(bin, "postgres")+" was replaced on disk after the server (pid "+strconv.Itoa(before)+") started") {
		t.Errorf("the restart was not reported:\n%s", out)
	}
	// db:up restarts it too
	before = replace()
	if _, err := c.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if postmasterPID(t, cl) == before {
		t.Error("db:up did not restart the server")
	}
}

func postmasterPID(t *testing.T, cl *cluster.Cluster) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cl.DataDir(), "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	return pid
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
