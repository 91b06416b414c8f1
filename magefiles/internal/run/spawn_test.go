package run

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// spawn starts c and kills its group when the test ends.
func spawn(t *testing.T, r *Runner, c Cmd, log string) *Process {
	t.Helper()
	p, err := r.Spawn(c, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = SignalGroup(p.Pgid, syscall.SIGKILL) })
	return p
}

func waitExit(t *testing.T, p *Process) {
	t.Helper()
	select {
	case <-p.Exited():
	case <-time.After(10 * time.Second):
		t.Fatalf("pid %d did not exit", p.Pid)
	}
}

func TestSpawnAppendsOutputToItsLog(t *testing.T) {
	r, out := newTestRunner(Options{})
	log := filepath.Join(t.TempDir(), "logs", "deep", "svc.log")
	first := spawn(t, r, self(t, "exit", "CODE=3"), log)
	waitExit(t, first)
	if got := first.ExitStatus(); got != "exited with code 3" {
		t.Errorf("ExitStatus = %q", got)
	}
	size := fileSize(t, log)
	second := spawn(t, r, self(t, "exit", "CODE=0"), log)
	waitExit(t, second)
	if first.LogOffset != 0 || second.LogOffset != size {
		t.Errorf("log offsets %d, %d; want 0, %d", first.LogOffset, second.LogOffset, size)
	}
	b, _ := os.ReadFile(log)
	if strings.Count(string(b), "stdout line\n") != 2 || strings.Count(string(b), "stderr line\n") != 2 {
		t.Errorf("log should hold both runs' stdout and stderr:\n%s", b)
	}
	if !strings.Contains(out.String(), "▶ RUN_HELPER=exit CODE=3 ") || !strings.Contains(out.String(), ">> "+log) {
		t.Errorf("command line not printed:\n%s", out)
	}
}

func TestSpawnDetachesIntoItsOwnSession(t *testing.T) {
	r, _ := newTestRunner(Options{})
	p := spawn(t, r, self(t, "sleep"), filepath.Join(t.TempDir(), "sleep.log"))
	st, err := table.info(p.Pid)
	if errors.Is(err, errUnknown) {
		t.Skip("the process table cannot be read here")
	}
	if err != nil || st.pgid != p.Pid || st.session != p.Pid || p.Pgid != p.Pid {
		t.Errorf("pgrp %d, session %d, Pgid %d (%v); want all %d", st.pgid, st.session, p.Pgid, err, p.Pid)
	}
	if stdin, err := os.Readlink("/proc/" + strconv.Itoa(p.Pid) + "/fd/0"); err == nil && stdin != os.DevNull {
		t.Errorf("stdin is %q, want %s", stdin, os.DevNull)
	}
	if ticks, ok := StartTicks(p.Pid); !ok || ticks == 0 || ticks != p.Ticks {
		t.Errorf("StartTicks = %d, %v; Process.Ticks = %d", ticks, ok, p.Ticks)
	}
	if !Alive(p.Pid) || !GroupAlive(p.Pgid) {
		t.Fatal("spawned process is not alive")
	}
	if err := SignalGroup(p.Pgid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitExit(t, p)
	if Alive(p.Pid) || GroupAlive(p.Pgid) {
		t.Error("process still alive after SIGKILL and reaping")
	}
	if !strings.Contains(p.ExitStatus(), "killed") {
		t.Errorf("ExitStatus = %q", p.ExitStatus())
	}
	if err := SignalGroup(p.Pgid, syscall.SIGTERM); err != nil {
		t.Errorf("signalling a gone group: %v", err)
	}
}

func TestSignalGroupReachesGrandchildren(t *testing.T) {
	r, _ := newTestRunner(Options{})
	pidFile := filepath.Join(t.TempDir(), "pids")
	p := spawn(t, r, self(t, "spawn", "PID_FILE="+pidFile, "IGNORE_SIGNALS=1"), filepath.Join(t.TempDir(), "log"))
	pids := readPids(t, pidFile)
	if err := SignalGroup(p.Pgid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	assertGone(t, pids)
	if GroupAlive(p.Pgid) {
		t.Error("GroupAlive after the whole group was killed")
	}
}

func TestSpawnMergesTheEnvironment(t *testing.T) {
	r, _ := newTestRunner(Options{Env: []string{"PATH=" + os.Getenv("PATH"), "OVER=base"}})
	log := filepath.Join(t.TempDir(), "env.log")
	waitExit(t, spawn(t, r, self(t, "printenv", "KEY=OVER", "OVER=cmd"), log))
	if b, _ := os.ReadFile(log); string(b) != "cmd\n" {
		t.Errorf("child saw OVER=%q, want cmd", b)
	}
}

func TestSpawnValidatesAndHonoursDryRun(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "x.log")
	r, _ := newTestRunner(Options{})
	if _, err := r.Spawn(Cmd{Argv: []string{"true"}, Dir: "rel"}, log); err == nil || !strings.Contains(err.Error(), "not absolute") {
		t.Errorf("relative dir accepted: %v", err)
	}
	if _, err := r.Spawn(Cmd{Argv: []string{"true"}, Dir: dir}, "x.log"); err == nil || !strings.Contains(err.Error(), "not absolute") {
		t.Errorf("relative log accepted: %v", err)
	}
	if _, err := r.Spawn(Cmd{Argv: []string{"no-such-tool-xyz"}, Dir: dir}, log); fail.Code(err) != fail.MissingTool {
		t.Errorf("missing program: want exit 3, got %d %v", fail.Code(err), err)
	}

	dry, out := newTestRunner(Options{DryRun: true})
	marker := filepath.Join(dir, "ran")
	p, err := dry.Spawn(self(t, "touch", "TOUCH="+marker), log)
	if err != nil || p != nil {
		t.Fatalf("dry run: %v, %v", p, err)
	}
	if !strings.HasPrefix(out.String(), "[dry-run] RUN_HELPER=touch") {
		t.Errorf("dry run printed %q", out)
	}
	for _, f := range []string{marker, log} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("dry run created %s", f)
		}
	}
}

func TestLivenessOfNothing(t *testing.T) {
	if Alive(0) || GroupAlive(0) || Alive(-1) {
		t.Error("pid 0 reported alive")
	}
	if SignalGroup(1, syscall.SIGTERM) == nil || SignalGroup(0, syscall.SIGTERM) == nil {
		t.Error("SignalGroup accepted pgid 0 or 1")
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
