package svc

import (
	"fmt"
	"net"
	"strconv"

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

// PortOwner finds the process listening on TCP port (see run.PortOwner:
// processes of other users are invisible unless root).
func PortOwner(port int) (Owner, bool) {
	pid, cmd, ok := run.PortOwner(port)
	return Owner{Pid: pid, Cmd: cmd}, ok
}
