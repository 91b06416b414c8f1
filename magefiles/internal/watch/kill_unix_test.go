//go:build unix

package watch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// TestNothingOutlivesARestartOrTheWatch runs a check whose command (this
// test binary, with a grandchild) would sleep a minute. A change during it
// must stop that process group before the next run starts, and ending the
// watch must stop the next one's and return within seconds.
func TestNothingOutlivesARestartOrTheWatch(t *testing.T) {
	root := t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "pids")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s, out := testSession(t, root)
	sleeper := fakeArea{"rust", func(ctx context.Context, r *run.Runner) error {
		return r.Run(ctx, run.Cmd{Argv: []string{self}, Dir: root, Env: []string{"WATCH_HELPER=tree", "PID_FILE=" + pidFile}})
	}}
	c := Check{S: s, Graph: graph, Areas: []lang.Area{sleeper}}
	l := watching(t, root, Options{}, c.Run)
	var all [][2]int
	t.Cleanup(func() { // whatever the test's outcome, leave none of them behind
		for _, p := range all {
			syscall.Kill(p[0], syscall.SIGKILL)
			syscall.Kill(p[1], syscall.SIGKILL)
		}
	})

	write(t, root, "x.txt") // outside the known areas: reaches every area
	first := waitPids(t, pidFile, 1)
	all = append(all, first)
	write(t, root, "y.txt")
	second := waitPids(t, pidFile, 2)
	all = append(all, second)
	// The next run starts only once the first has returned, its command reaped.
	if err := syscall.Kill(first[0], 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the first run's command %d is still there after the restart (kill -0: %v)", first[0], err)
	}
	gone(t, first[1], "the first run's grandchild")
	if !strings.Contains(out.String(), "files changed again") {
		t.Errorf("the restart was not reported:\n%s", out.String())
	}

	began := time.Now()
	l.stop()
	select {
	case err := <-l.errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	case <-time.After(4 * time.Second):
		t.Fatalf("the watch did not return within 4s of its context ending\n%s", out.String())
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("the watch took %s to stop", took)
	}
	if err := syscall.Kill(second[0], 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the running check's command %d is still there after the watch returned (kill -0: %v)", second[0], err)
	}
	gone(t, second[1], "the running check's grandchild")
	if run.GroupAlive(second[0]) {
		t.Errorf("process group %d still has members", second[0])
	}
	if !strings.Contains(out.String(), "check stopped") {
		t.Errorf("the stop was not reported:\n%s", out.String())
	}
}

// waitPids waits for the n-th "<pid> <grandchild pid>" line of file.
func waitPids(t *testing.T, file string, n int) [2]int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(file)
		if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) >= n && lines[n-1] != "" {
			f := strings.Fields(lines[n-1])
			a, err1 := strconv.Atoi(f[0])
			b, err2 := strconv.Atoi(f[1])
			if err1 != nil || err2 != nil {
				t.Fatalf("bad pid line %q", lines[n-1])
			}
			return [2]int{a, b}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("run %d did not start its command within 10s", n)
	return [2]int{}
}

// gone waits up to 2s for pid to be dead (a zombie waiting for init counts
// as dead: it runs nothing).
func gone(t *testing.T, pid int, what string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for run.Alive(pid) {
		if time.Now().After(deadline) {
			t.Errorf("%s %d is still running", what, pid)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
