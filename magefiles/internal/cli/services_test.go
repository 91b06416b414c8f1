package cli

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// stackEnv runs orchestration and the Rust worker on free ports, so the
// tests never touch a developer's stack on the default ports.
func stackEnv(t testing.TB) (env []string, ports []int) {
	t.Helper()
	ports = []int{testkit.FreePort(t), testkit.FreePort(t)}
	return []string{
		"TASKER_SERVICES=orchestration,rust-worker",
		"ORCHESTRATION_PORT=" + strconv.Itoa(ports[0]),
		"RUST_WORKER_PORT=" + strconv.Itoa(ports[1]),
		"TASKER_BIND_HOST=127.0.0.1",
	}, ports
}

func pidFile(name string) string { return filepath.Join(root, ".tasker", "run", name+".json") }

// noStack skips when a stack is already running here (its pid files are
// the ones these tests create).
func noStack(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("cargo"); err != nil {
		t.Skip("cargo not installed")
	}
	for _, n := range []string{"orchestration", "rust-worker"} {
		if _, err := os.Stat(pidFile(n)); err == nil {
			t.Skipf("a stack is running here (%s); stop it with `mage services:stop`", pidFile(n))
		}
	}
}

// startUntilSpawned starts `mage services:start` and returns once the
// orchestration pid file exists (the service is spawned, the workers are not).
func startUntilSpawned(t *testing.T, env []string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(mage, "services:start")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(2 * time.Millisecond) {
		if _, err := os.Stat(pidFile("orchestration")); err == nil {
			return cmd, &out
		}
		if time.Now().After(deadline) {
			t.Fatalf("orchestration was never spawned:\n%s", out.String())
		}
	}
}

func assertStackGone(t *testing.T, ports []int, out *bytes.Buffer) {
	t.Helper()
	for _, p := range ports {
		if dial(p) {
			t.Errorf("port %d is still bound:\n%s", p, out.String())
		}
	}
	for _, n := range []string{"orchestration", "rust-worker"} {
		if _, err := os.Stat(pidFile(n)); err == nil {
			t.Errorf("pid file %s left behind", pidFile(n))
		}
	}
	for _, bin := range []string{"tasker-orchestration", "tasker-worker-rust"} {
		if pids := running(filepath.Join(root, "target", "debug", bin)); len(pids) > 0 {
			for _, p := range pids {
				kill(t, p)
			}
			t.Errorf("%s still running: %v", bin, pids)
		}
	}
}

// Ctrl-C while services:start waits for health stops what it started:
// no process, no bound port, no pid file.
func TestInterruptedServicesStartLeavesNothing(t *testing.T) {
	noStack(t)
	env, ports := stackEnv(t)
	cmd, out := startUntilSpawned(t, env)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("services:start finished before the interrupt took effect:\n%s", out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("mage did not exit after SIGINT:\n%s", out.String())
	}
	assertStackGone(t, ports, out)
}

// services:stop after mage was killed with SIGKILL mid-start (no chance
// to clean up) finds the services by their pid files and stops them.
func TestStopAfterKilledStartCleansUp(t *testing.T) {
	noStack(t)
	env, ports := stackEnv(t)
	cmd, out := startUntilSpawned(t, env)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if !waitFor(30*time.Second, func() bool { return dial(ports[0]) }) {
		t.Fatalf("orchestration did not survive its starter (it should run detached):\n%s", out.String())
	}
	res := invoke(t, root, env, "services:stop")
	res.expect(t, 0, "stopped orchestration")
	assertStackGone(t, ports, out)
}

// When DATABASE_URL's port was taken as the local cluster started, the
// cluster listens on a free port; the services get the port it really
// listens on and become healthy (they were given DATABASE_URL's and never
// did).
func TestServicesUseThePortTheClusterReallyListens(t *testing.T) { stackOnAMovedCluster(t, false) }

// stackOnAMovedCluster starts the stack on a local cluster whose
// configured port was taken, with split databases or one.
func stackOnAMovedCluster(t *testing.T, split bool) {
	noStack(t)
	env, ports := stackEnv(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pgDir, err := os.MkdirTemp(testkit.ScratchDir(), "tasker-cli-pg-")
	if err != nil {
		t.Fatal(err)
	}
	taken := "postgresql://tasker:tasker@127.0.0.1:" + strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	env = append(env, "DATABASE_URL="+taken+"/tasker_moved", "TASKER_PG_DIR="+pgDir, "TASKER_SERVICE_TIMEOUT=20s")
	if split {
		env = append(env, "PGMQ_DATABASE_URL="+taken+"/tasker_moved_pgmq")
	}
	t.Cleanup(func() {
		invoke(t, root, env, "services:stop")
		invoke(t, root, env, "db:destroy")
		os.RemoveAll(pgDir)
	})
	up := invoke(t, root, env, "db:up")
	busy.Close()
	up.expect(t, 0, "the local cluster listens on port")
	res := invoke(t, root, env, "services:start")
	res.expect(t, 0, "orchestration healthy in", "rust-worker healthy in")
	stop := invoke(t, root, env, "services:stop")
	stop.expect(t, 0, "stopped orchestration")
	var out bytes.Buffer
	out.WriteString(res.stderr)
	assertStackGone(t, ports, &out)
}
