package cli

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// Ctrl-C on a foreground service (`mage orchestration:run`) stops the
// service and cargo with it: afterwards no process runs the binary and its
// port is free.
func TestInterruptStopsAForegroundService(t *testing.T) {
	if _, err := exec.LookPath("cargo"); err != nil {
		t.Skip("cargo not installed")
	}
	port := testkit.FreePort(t)
	cmd := exec.Command(mage, "orchestration:run")
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"ORCHESTRATION_PORT="+strconv.Itoa(port),
		"TASKER_BIND_HOST=127.0.0.1",
		// Nothing listens here: the service starts anyway and reports 503.
		"DATABASE_URL=postgresql://tasker:tasker@127.0.0.1:1/none")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if !waitFor(3*time.Minute, func() bool { return dial(port) }) {
		t.Fatalf("service never listened on %d:\n%s", port, out.String())
	}
	interrupt(t, cmd, &out)
	if dial(port) {
		t.Errorf("port %d still bound after Ctrl-C", port)
	}
	bin := filepath.Join(root, "target", "debug", "tasker-orchestration")
	if pids := running(bin); len(pids) > 0 {
		for _, p := range pids {
			kill(t, p)
		}
		t.Fatalf("orphaned %s: pids %v", bin, pids)
	}
}

// kill ends process pid at once (kill -9), on every platform.
func kill(t testing.TB, pid int) {
	t.Helper()
	p, err := os.FindProcess(pid)
	if err == nil {
		err = p.Kill()
	}
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("killing pid %d: %v", pid, err)
	}
}

// interrupt sends SIGINT (Ctrl-C) to mage and waits for it to exit, at
// most 20 s.
func interrupt(t *testing.T, cmd *exec.Cmd, out *bytes.Buffer) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("mage did not exit after SIGINT:\n%s", out.String())
	}
}

func dial(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func waitFor(limit time.Duration, ok func() bool) bool {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	return false
}

// running lists live processes whose executable is bin.
func running(bin string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.TrimSuffix(exe, " (deleted)") == bin {
			pids = append(pids, pid)
		}
	}
	return pids
}
