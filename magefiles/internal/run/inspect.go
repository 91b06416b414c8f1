package run

import (
	"errors"
	"path/filepath"
	"slices"
)

// procInfo is what the process table says about one process.
type procInfo struct {
	pid, pgid, session int
	start              uint64 // see StartTicks
	zombie             bool   // exited, not yet reaped by its parent
}

// inspector reads the process table. Each OS has one (inspect_linux.go:
// /proc; inspect_darwin.go: sysctl and lsof); where there is none, every
// method answers errUnknown and the callers below say what they assume.
type inspector interface {
	info(pid int) (procInfo, error)                         // errNoProcess when pid does not exist
	group(pgid int) ([]procInfo, error)                     // the members of process group pgid, zombies included
	cwdUsers(dir string) ([]int, error)                     // processes whose working directory is dir (resolved)
	listener(port int) (pid int, name string, err error)    // a process listening on TCP port; errNoProcess when none
	argv(pid int) ([]string, error)                         // its command line
	executable(pid int) (path string, gone bool, err error) // the file it runs; gone: no longer at that path
}

var (
	errNoProcess = errors.New("no such process")
	errUnknown   = errors.New("the process table cannot be read here")
)

// table is this OS's inspector.
var table = newInspector()

// Alive reports whether pid exists and is not a zombie. Where the process
// table cannot be read it asks the kernel whether pid exists at all.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := table.info(pid)
	switch {
	case err == nil:
		return !p.zombie
	case errors.Is(err, errNoProcess):
		return false
	}
	return exists(pid)
}

// GroupAlive reports whether any live (non-zombie) process is left in group
// pgid. A zombie leader whose parent has not reaped it does not count.
func GroupAlive(pgid int) bool { return GroupAliveSince(pgid, 0) }

// GroupAliveSince is GroupAlive counting only processes that started at or
// after ticks (StartTicks) and belong to the session pgid leads: members of
// the group a recorded leader started, not of a later group that happens to
// have the same id. Where the process table cannot be read it cannot tell
// and says true.
func GroupAliveSince(pgid int, ticks uint64) bool {
	if pgid <= 0 || !groupExists(pgid) {
		return false
	}
	members, err := table.group(pgid)
	if err != nil {
		return true
	}
	return slices.ContainsFunc(members, func(p procInfo) bool {
		return !p.zombie && (ticks == 0 || p.start >= ticks && p.session == pgid)
	})
}

// UsersOf lists the live processes whose working directory is dir (a
// database server's processes run in its data directory). Where the process
// table cannot be read it cannot tell and lists none.
func UsersOf(dir string) []int {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real // the kernel reports resolved paths (/tmp is /private/tmp on macOS)
	}
	pids, _ := table.cwdUsers(filepath.Clean(dir))
	return slices.DeleteFunc(pids, func(pid int) bool { return !Alive(pid) })
}

// StartTicks returns when pid started: clock ticks since boot on Linux
// (/proc/<pid>/stat), microseconds since the epoch on macOS. With the pid
// it identifies a process: a reused pid has a different start time. ok is
// false where it is unknown.
func StartTicks(pid int) (ticks uint64, ok bool) {
	p, err := table.info(pid)
	return p.start, err == nil
}

// PortOwner finds a process listening on TCP port and describes it
// (Command). Processes of other users are invisible unless we are root.
func PortOwner(port int) (pid int, cmd string, ok bool) {
	pid, name, err := table.listener(port)
	if err != nil {
		return 0, "", false
	}
	if cmd = Command(pid); cmd == "?" && name != "" {
		cmd = name
	}
	return pid, cmd, true
}

// Command is pid's command line for messages, shortened ("?" when unknown).
func Command(pid int) string {
	argv, err := table.argv(pid)
	if err != nil || len(argv) == 0 {
		return "?"
	}
	s := QuoteArgs(argv)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// Executable is the file pid runs, and whether that file is gone from its
// path (deleted or replaced since it started: a package upgrade).
func Executable(pid int) (path string, gone bool, err error) {
	return table.executable(pid)
}
