package run

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// procfs reads Linux's /proc. Without /proc (a sandbox) it answers
// errUnknown.
type procfs struct{}

func newInspector() inspector { return procfs{} }

var procMounted = sync.OnceValue(func() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
})

func (procfs) info(pid int) (procInfo, error) {
	st, err := readStat(pid)
	switch {
	case err == nil:
		return st, nil
	case !procMounted():
		return procInfo{}, errUnknown
	case errors.Is(err, os.ErrNotExist):
		return procInfo{}, errNoProcess
	}
	return procInfo{}, err
}

func (procfs) group(pgid int) ([]procInfo, error) {
	pids, err := allPids()
	if err != nil {
		return nil, err
	}
	var members []procInfo
	for _, pid := range pids {
		if st, err := readStat(pid); err == nil && st.pgid == pgid {
			members = append(members, st)
		}
	}
	return members, nil
}

func (procfs) cwdUsers(dir string) ([]int, error) {
	pids, err := allPids()
	if err != nil {
		return nil, err
	}
	var users []int
	for _, pid := range pids {
		if cwd, err := os.Readlink(procPath(pid, "cwd")); err == nil && cwd == dir {
			users = append(users, pid)
		}
	}
	return users, nil
}

// listener looks up the listening socket's inode in /proc/net/tcp{,6} and
// the process holding it in /proc/*/fd.
func (procfs) listener(port int) (int, string, error) {
	inodes := listeningInodes(port)
	if len(inodes) == 0 {
		return 0, "", errNoProcess
	}
	pids, err := allPids()
	if err != nil {
		return 0, "", err
	}
	for _, pid := range pids {
		fds, _ := os.ReadDir(procPath(pid, "fd"))
		for _, fd := range fds {
			link, _ := os.Readlink(filepath.Join(procPath(pid, "fd"), fd.Name()))
			if inode, ok := strings.CutPrefix(link, "socket:["); ok && inodes[strings.TrimSuffix(inode, "]")] {
				return pid, "", nil
			}
		}
	}
	return 0, "", errNoProcess
}

func (procfs) argv(pid int) ([]string, error) {
	b, err := os.ReadFile(procPath(pid, "cmdline"))
	if err != nil || len(b) == 0 {
		return nil, errors.Join(errNoProcess, err)
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), nil
}

// executable reads /proc/<pid>/exe, which ends in " (deleted)" once the
// file was removed or replaced by a new one.
func (procfs) executable(pid int) (string, bool, error) {
	exe, err := os.Readlink(procPath(pid, "exe"))
	if err != nil {
		return "", false, err
	}
	path, deleted := strings.CutSuffix(exe, " (deleted)")
	return path, deleted, nil
}

func procPath(pid int, name string) string { return "/proc/" + strconv.Itoa(pid) + "/" + name }

func allPids() ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, errors.Join(errUnknown, err)
	}
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// readStat parses /proc/<pid>/stat. The command name (field 2) may contain
// spaces and parentheses, so fields are counted after the last ')'.
func readStat(pid int) (procInfo, error) {
	b, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return procInfo{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procInfo{}, fmt.Errorf("run: malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 { // f[0] is field 3 (state), f[2] field 5 (pgrp), f[3] field 6 (session), f[19] field 22 (starttime)
		return procInfo{}, fmt.Errorf("run: malformed /proc/%d/stat", pid)
	}
	pgrp, err1 := strconv.Atoi(f[2])
	session, err2 := strconv.Atoi(f[3])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return procInfo{}, fmt.Errorf("run: malformed /proc/%d/stat: %w", pid, err)
	}
	return procInfo{pid: pid, pgid: pgrp, session: session, start: start, zombie: f[0] == "Z"}, nil
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
