//go:build unix

package svc

import (
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// startBystander starts a process that no Stop may touch, leading a group
// of its own (so a wrong group kill would hit it), and returns it with its
// start time.
func startBystander(t *testing.T) (*exec.Cmd, uint64) {
	t.Helper()
	exe, _ := os.Executable()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "SVC_HELPER=sleep")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ticks, ok := run.StartTicks(cmd.Process.Pid)
	if !ok {
		t.Skip("process start times are unknown on this system")
	}
	return cmd, ticks
}
