package run

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a background process started by Spawn. It leads its own session
// and process group (Pgid == Pid), so it outlives mage, a Ctrl-C in the
// terminal does not reach it, and a signal to the group reaches everything it
// started.
type Process struct {
	Pid, Pgid int
	Argv      []string
	Log       string    // stdout and stderr are appended here
	LogOffset int64     // the log's size before the process started: its own output follows
	Started   time.Time // wall clock at spawn
	Ticks     uint64    // kernel start time (see StartTicks); 0 where unknown

	done  chan struct{}
	state *os.ProcessState
}

// Exited is closed once the process has exited. It only fires in the process
// that spawned it (which reaps it, so no zombie is left behind).
func (p *Process) Exited() <-chan struct{} { return p.done }

// ExitStatus describes how the process ended ("exited with code 3", "was
// killed by signal: killed"); "is running" before Exited is closed.
func (p *Process) ExitStatus() string {
	select {
	case <-p.done:
	default:
		return "is running"
	}
	if ws, ok := p.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "was killed by signal: " + ws.Signal().String()
	}
	return fmt.Sprintf("exited with code %d", p.state.ExitCode())
}

// Spawn starts c in the background, detached from mage's lifetime: in a new
// session, stdin from /dev/null, stdout and stderr appended to logPath (its
// directory is created). It validates and prints c like Run does. In dry-run
// mode it prints c and returns a nil Process.
func (r *Runner) Spawn(c Cmd, logPath string) (*Process, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(logPath) {
		return nil, fmt.Errorf("run: log path %q of %q is not absolute", logPath, c.Argv[0])
	}
	label := r.describe(c) + "  >> " + logPath
	if r.o.DryRun {
		r.printf("[dry-run] %s\n", label)
		return nil, nil
	}
	environ := Merge(r.o.Env, c.Env)
	path, err := LookPath(lookup(environ, "PATH"), c.Argv[0])
	if err != nil {
		return nil, r.cmdError(c, err, 0)
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child has its own copy
	st, err := log.Stat()
	if err != nil {
		return nil, err
	}

	r.line("▶", "%s", label)
	cmd := exec.Command(path, c.Argv[1:]...)
	cmd.Args[0] = c.Argv[0]
	cmd.Dir = c.Dir
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = log, log // stdin stays nil: /dev/null
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, r.cmdError(c, err, 0)
	}
	p := &Process{
		Pid: cmd.Process.Pid, Pgid: cmd.Process.Pid,
		Argv: append([]string(nil), c.Argv...), Log: logPath, LogOffset: st.Size(),
		Started: time.Now(), done: make(chan struct{}),
	}
	p.Ticks, _ = StartTicks(p.Pid)
	go func() {
		_ = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.done)
	}()
	return p, nil
}

// Redact applies the runner's redaction to s (for output the runner does not
// print itself, such as lines from a service's log).
func (r *Runner) Redact(s string) string { return r.o.Redact(s) }

// SignalGroup sends sig to every process in group pgid. A group that no
// longer exists is not an error.
func SignalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return fmt.Errorf("run: refusing to signal process group %d", pgid)
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("run: signal %s to process group %d: %w", sig, pgid, err)
	}
	return nil
}

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	st, err := readStat(pid)
	switch {
	case err == nil:
		return st.state != 'Z'
	case procfs():
		return false // no /proc entry: no such process
	}
	return signalable(syscall.Kill(pid, 0))
}

// GroupAlive reports whether any live (non-zombie) process is left in group
// pgid. A zombie leader whose parent has not reaped it does not count.
func GroupAlive(pgid int) bool { return GroupAliveSince(pgid, 0) }

// GroupAliveSince is GroupAlive counting only processes that started at or
// after ticks (StartTicks) and belong to the session pgid leads: members of
// the group a recorded leader started, not of a later group that happens to
// have the same id. Where /proc is missing it cannot tell and says true.
func GroupAliveSince(pgid int, ticks uint64) bool {
	if pgid <= 0 || !signalable(syscall.Kill(-pgid, 0)) {
		return false
	}
	if !procfs() {
		return true
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil && st.pgrp == pgid && st.state != 'Z' &&
			(ticks == 0 || st.start >= ticks && st.session == pgid) {
			return true
		}
	}
	return false
}

// UsersOf lists the live processes whose working directory is dir (a
// database server's processes run in its data directory). Where /proc is
// missing it cannot tell and lists none.
func UsersOf(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cwd, err := os.Readlink("/proc/" + e.Name() + "/cwd"); err == nil && cwd == dir && Alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// StartTicks returns when pid started, in clock ticks since boot (Linux
// /proc/<pid>/stat). With the pid it identifies a process: a reused pid has
// a different start time. ok is false where it is unknown.
func StartTicks(pid int) (ticks uint64, ok bool) {
	st, err := readStat(pid)
	return st.start, err == nil
}

// signalable: kill(…, 0) found the target (EPERM: it exists, it is not ours).
func signalable(err error) bool { return err == nil || errors.Is(err, syscall.EPERM) }

var procfs = sync.OnceValue(func() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
})

type procStat struct {
	state   byte
	pgrp    int
	session int
	start   uint64
}

// readStat parses /proc/<pid>/stat. The command name (field 2) may contain
// spaces and parentheses, so fields are counted after the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("run: malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 { // f[0] is field 3 (state), f[2] field 5 (pgrp), f[3] field 6 (session), f[19] field 22 (starttime)
		return procStat{}, fmt.Errorf("run: malformed /proc/%d/stat", pid)
	}
	pgrp, err1 := strconv.Atoi(f[2])
	session, err2 := strconv.Atoi(f[3])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return procStat{}, fmt.Errorf("run: malformed /proc/%d/stat: %w", pid, err)
	}
	return procStat{state: f[0][0], pgrp: pgrp, session: session, start: start}, nil
}
