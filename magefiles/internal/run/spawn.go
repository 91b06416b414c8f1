package run

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	if err := RequireGroups("starting a background process"); err != nil {
		return nil, err
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
	cmd.SysProcAttr = newSession()
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
