//go:build unix

package run

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// pathSeparators are the characters that make a program name a path.
const pathSeparators = "/"

// ownGroup puts a child in a process group of its own: a signal to the
// group reaches everything it starts.
func ownGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// newSession detaches a child from our terminal and session (Spawn).
func newSession() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// signalTree sends sig to the group p leads.
func signalTree(p *os.Process, sig syscall.Signal) { _ = syscall.Kill(-p.Pid, sig) }

// RequireGroups says whether what (a target's need for process groups or
// sessions) can be met here: always on Unix.
func RequireGroups(what string) error { return nil }

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

// exists asks the kernel whether pid exists (a zombie does).
func exists(pid int) bool { return signalable(syscall.Kill(pid, 0)) }

// groupExists asks the kernel whether group pgid has a member.
func groupExists(pgid int) bool { return signalable(syscall.Kill(-pgid, 0)) }

// signalable: kill(…, 0) found the target (EPERM: it exists, it is not ours).
func signalable(err error) bool { return err == nil || errors.Is(err, syscall.EPERM) }

// executable reports whether p is a file with an execute bit.
func executable(p string) (string, bool) {
	st, err := os.Stat(p)
	return p, err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// KeepInheritedFilesFromChildren marks every descriptor above stderr
// close-on-exec. Go opens its own files that way, but descriptors mage
// inherited were not: a lock held by `flock mage …`, or a CI runner's pipe.
// Children would keep them, and daemons (the PostgreSQL server, the
// services) would hold them after mage exits: the lock never released, the
// CI step never ending. Called once when a target starts, so it lists the
// open descriptors (/dev/fd on Linux and macOS) rather than trying every
// number up to the limit (4 ms with a limit of 20000).
func KeepInheritedFilesFromChildren() {
	if entries, err := os.ReadDir("/dev/fd"); err == nil {
		for _, e := range entries {
			if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
				syscall.CloseOnExec(fd) // ReadDir's own, already closed: nothing to do
			}
		}
		return
	}
	var lim syscall.Rlimit
	n := 1024
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		n = int(min(lim.Cur, 65536))
	}
	for fd := 3; fd < n; fd++ {
		syscall.CloseOnExec(fd) // EBADF for a closed one: nothing to do
	}
}
