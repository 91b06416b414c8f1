//go:build unix

// Ownership (syscall.Stat_t) and runuser: Unix only.

package cluster_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/dbtest"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// Another OS user on the machine gets nothing from the local cluster: not
// the superuser over the socket, not a role over TCP without its password.
// The build system itself still connects as it does (superuser over the
// socket, the application role over TCP with the password).
func TestOtherUsersCannotConnect(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running a client as another OS user (runuser -u nobody) needs root")
	}
	psql := testkit.NeedTool(t, "psql")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := dbtest.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	port := strconv.Itoa(s.Port)
	asNobody := func(env []string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "runuser", append([]string{"-u", "nobody", "--", psql, "-X", "-w", "-At", "-p", port, "-d", "postgres", "-c", "SELECT 'in'"}, args...)...)
		cmd.Dir = "/"
		cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := asNobody(nil, "--version"); err != nil {
		t.Fatalf("nobody cannot run psql at all, the test proves nothing: %v %s", err, out)
	}
	getsIn := func() (ways []string) {
		for _, c := range []struct {
			name string
			env  []string
			args []string
		}{
			{"socket as the superuser", nil, []string{"-h", s.Cluster.SocketDir(), "-U", "postgres"}},
			{"socket as the application role", nil, []string{"-h", s.Cluster.SocketDir(), "-U", dbtest.User}},
			{"TCP as the superuser", nil, []string{"-h", "127.0.0.1", "-U", "postgres"}},
			{"TCP as the application role, no password", nil, []string{"-h", "127.0.0.1", "-U", dbtest.User}},
			{"TCP as the application role, wrong password", []string{"PGPASSWORD=guess"}, []string{"-h", "127.0.0.1", "-U", dbtest.User}},
		} {
			if out, err := asNobody(c.env, c.args...); err == nil || strings.Contains(out, "in\n") {
				ways = append(ways, c.name)
			}
		}
		return ways
	}
	if ways := getsIn(); len(ways) > 0 {
		t.Errorf("nobody connected: %s", strings.Join(ways, "; "))
	}
	// the owner's directories are closed to everyone else
	for _, d := range []string{s.Cluster.Dir, s.Cluster.SocketDir(), s.Cluster.DataDir()} {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o700 || st.Sys().(*syscall.Stat_t).Uid == 0 {
			t.Errorf("%s: mode %v uid %d, want 0700 owned by the cluster's user", d, st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Uid)
		}
	}
	// the build system's own ways in still work
	for _, u := range []pgurl.URL{s.Cluster.AdminURL(s.Port), s.URL("postgres")} {
		conn, err := pg.Connect(ctx, u, 5*time.Second)
		if err != nil {
			t.Errorf("the build system cannot connect to %s: %v", u.Addr(), err)
			continue
		}
		conn.Close(ctx)
	}

	// a cluster left open by an older version (trust, world-searchable
	// socket directory) is closed by the next Up, without a restart
	s.Exec(t, "SELECT 1") // the superuser connection works before
	if err := os.WriteFile(s.Cluster.DataDir()+"/pg_hba.conf", []byte("local all all trust\nhost all all 127.0.0.1/32 trust\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(s.Cluster.SocketDir(), 0o755)
	os.Chmod(s.Cluster.Dir, 0o755)
	s.Exec(t, "SELECT pg_reload_conf()")
	if !eventually(func() bool { return len(getsIn()) > 0 }) {
		t.Fatal("the simulated old cluster is not open; the test proves nothing")
	}
	if _, err := s.Cluster.Up(ctx, s.Port); err != nil {
		t.Fatal(err)
	}
	if !eventually(func() bool { return len(getsIn()) == 0 }) {
		t.Errorf("Up left the running cluster open: %s", strings.Join(getsIn(), "; "))
	}
}

// eventually polls ok for a few seconds (a reload takes effect shortly after
// the signal).
func eventually(ok func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	return false
}
