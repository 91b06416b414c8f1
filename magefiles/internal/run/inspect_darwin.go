package run

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// sysctlTable reads macOS's process table with sysctl (kern.proc, kern.
// procargs2) and asks lsof what only it knows there: working directories
// and listening sockets.
type sysctlTable struct{}

func newInspector() inspector { return sysctlTable{} }

// zombieStat is SZOMB, the p_stat of an exited process not yet reaped
// (<sys/proc.h>).
const zombieStat = 5

func (sysctlTable) info(pid int) (procInfo, error) {
	k, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	switch {
	case errors.Is(err, unix.EIO), errors.Is(err, unix.ESRCH):
		return procInfo{}, errNoProcess // EIO: the kernel copied out no process
	case err != nil:
		return procInfo{}, err
	case int(k.Proc.P_pid) != pid:
		return procInfo{}, errNoProcess
	}
	return fromKinfo(k), nil
}

func (sysctlTable) group(pgid int) ([]procInfo, error) {
	ks, err := unix.SysctlKinfoProcSlice("kern.proc.pgrp", pgid)
	if err != nil {
		return nil, err
	}
	members := make([]procInfo, len(ks))
	for i := range ks {
		members[i] = fromKinfo(&ks[i])
	}
	return members, nil
}

// fromKinfo takes the session from getsid: kinfo_proc's e_sess is a kernel
// address, not an id. The start time is its timeval in microseconds.
func fromKinfo(k *unix.KinfoProc) procInfo {
	pid := int(k.Proc.P_pid)
	session, _ := unix.Getsid(pid)
	start := k.Proc.P_starttime
	return procInfo{
		pid: pid, pgid: int(k.Eproc.Pgid), session: session,
		start:  uint64(start.Sec)*1_000_000 + uint64(start.Usec),
		zombie: k.Proc.P_stat == zombieStat,
	}
}

func (sysctlTable) cwdUsers(dir string) ([]int, error) {
	entries, err := lsof(lsofCwdArgs(dir)...)
	return cwdIn(entries, dir), err
}

func (sysctlTable) listener(port int) (int, string, error) {
	entries, err := lsof(lsofListenArgs(port)...)
	if err != nil {
		return 0, "", err
	}
	if len(entries) == 0 {
		return 0, "", errNoProcess
	}
	return entries[0].pid, entries[0].cmd, nil
}

// procArgs reads pid's kern.procargs2: only for our own user's processes
// (or as root), and not for zombies.
func procArgs(pid int) (string, []string, error) {
	buf, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil {
		return "", nil, err
	}
	return parseProcArgs(buf)
}

func (sysctlTable) argv(pid int) ([]string, error) {
	_, argv, err := procArgs(pid)
	return argv, err
}

// executable: macOS does not mark a deleted executable as Linux does, so a
// path that no longer exists counts as gone (a Homebrew upgrade removes
// the old version's directory).
func (sysctlTable) executable(pid int) (string, bool, error) {
	exe, _, err := procArgs(pid)
	if err != nil {
		return "", false, err
	}
	if !filepath.IsAbs(exe) {
		return "", false, errors.New("run: relative executable path " + exe)
	}
	_, err = os.Stat(exe)
	return exe, errors.Is(err, fs.ErrNotExist), nil
}
