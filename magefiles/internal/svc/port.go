package svc

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// PortBusyError says a TCP port is taken and, where the OS tells, by whom.
type PortBusyError struct {
	Port  int
	Owner *Owner // nil when unknown
}

func (e *PortBusyError) Error() string {
	if e.Owner == nil {
		return fmt.Sprintf("port %d is already in use (owner unknown)", e.Port)
	}
	return fmt.Sprintf("port %d is already in use by pid %d (%s)", e.Port, e.Owner.Pid, e.Owner.Cmd)
}

// Owner is a process listening on a port.
type Owner struct {
	Pid int
	Cmd string // its command line, shortened
}

// CheckPort returns nil when nothing listens on TCP port (on any address),
// else a *PortBusyError.
func CheckPort(port int) error {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err == nil {
		l.Close()
		return nil
	}
	e := &PortBusyError{Port: port}
	if o, ok := PortOwner(port); ok {
		e.Owner = &o
	}
	return e
}

// PortOwner finds the process listening on TCP port. Linux only: it looks up
// the listening socket's inode in /proc/net/tcp{,6} and the process holding
// it in /proc/*/fd (processes of other users are invisible unless root).
func PortOwner(port int) (Owner, bool) {
	inodes := listeningInodes(port)
	if len(inodes) == 0 {
		return Owner{}, false
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		fds, _ := os.ReadDir(filepath.Join(dir, "fd"))
		for _, fd := range fds {
			link, _ := os.Readlink(filepath.Join(dir, "fd", fd.Name()))
			if inode, ok := strings.CutPrefix(link, "socket:["); ok && inodes[strings.TrimSuffix(inode, "]")] {
				pid, _ := strconv.Atoi(filepath.Base(dir))
				return Owner{Pid: pid, Cmd: cmdline(pid)}, true
			}
		}
	}
	return Owner{}, false
}

// listeningInodes returns the inodes of sockets in state LISTEN on port.
func listeningInodes(port int) map[string]bool {
	const listen = "0A"
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != listen {
				continue
			}
			_, hexPort, _ := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
				inodes[fields[9]] = true
			}
		}
		f.Close()
	}
	return inodes
}

// cmdline is pid's command line for messages, shortened ("?" when unknown).
func cmdline(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return "?"
	}
	s := run.QuoteArgs(strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"))
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
