package run

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// lsofEntry is one process in lsof's field output (-F): its pid, command
// name and the names of the files listed for it.
type lsofEntry struct {
	pid   int
	cmd   string
	names []string
}

// parseLsof reads lsof's field output: one field per line, its first
// character saying which ('p' starts a process, 'c' its command, 'f' a
// file of it, 'n' that file's name). Other fields are skipped.
func parseLsof(out string) []lsofEntry {
	var entries []lsofEntry
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		field, value := line[0], line[1:]
		if field == 'p' {
			if pid, err := strconv.Atoi(value); err == nil {
				entries = append(entries, lsofEntry{pid: pid})
			}
			continue
		}
		if len(entries) == 0 {
			continue
		}
		last := &entries[len(entries)-1]
		switch field {
		case 'c':
			last.cmd = value
		case 'n':
			last.names = append(last.names, value)
		}
	}
	return entries
}

// lsofTimeout bounds one lsof run (it stats every file it lists).
const lsofTimeout = 10 * time.Second

// lsof runs lsof with args and returns its output. lsof exits 1 when
// nothing matched: no entries, not an error.
func lsof(args ...string) ([]lsofEntry, error) {
	bin := "/usr/sbin/lsof"
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("lsof"); err != nil {
			return nil, errors.Join(errUnknown, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), lsofTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 && len(out) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, errors.Join(errUnknown, err)
	}
	return parseLsof(string(out)), nil
}

// lsofListenArgs select the processes listening on TCP port: numeric
// addresses and ports (no lookups), pid and command fields.
func lsofListenArgs(port int) []string {
	return []string{"-nP", "-iTCP:" + strconv.Itoa(port), "-sTCP:LISTEN", "-Fpc"}
}

// lsofCwdArgs select the processes whose working directory is dir or an
// entry of it (+d: dir's top level only, not the whole tree); the caller
// keeps those whose name is dir.
func lsofCwdArgs(dir string) []string {
	return []string{"-nP", "-a", "-d", "cwd", "-Fpn", "+d", dir}
}

// cwdIn keeps the pids of entries listing dir itself.
func cwdIn(entries []lsofEntry, dir string) []int {
	var pids []int
	for _, e := range entries {
		for _, n := range e.names {
			if n == dir {
				pids = append(pids, e.pid)
				break
			}
		}
	}
	return pids
}
