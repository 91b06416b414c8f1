package run

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func recorded(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "darwin", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLsofListenerOutput(t *testing.T) {
	for _, tc := range []struct {
		file string
		pid  int
		cmd  string
	}{
		{"lsof-listen-postgres.txt", 48213, "postgres"},
		{"lsof-listen-two.txt", 51877, "node"}, // the first of the processes sharing the socket
	} {
		entries := parseLsof(recorded(t, tc.file))
		if len(entries) == 0 || entries[0].pid != tc.pid || entries[0].cmd != tc.cmd {
			t.Errorf("%s: %+v; want pid %d (%s) first", tc.file, entries, tc.pid, tc.cmd)
		}
	}
	if entries := parseLsof(""); len(entries) != 0 {
		t.Errorf("no output: %+v", entries)
	}
}

func TestLsofCwdOutputKeepsTheDirectoryItself(t *testing.T) {
	const data = "/Users/dev/src/tasker/.tasker/postgres/data"
	got := cwdIn(parseLsof(recorded(t, "lsof-cwd-data.txt")), data)
	if want := []int{50990, 50992, 50993, 50994}; !slices.Equal(got, want) {
		t.Errorf("cwd users of %s: %v, want %v (not the process in data/base)", data, got, want)
	}
}

// The arguments and the parser against a real lsof (Linux's is the same
// program as macOS's): the listening socket and the working directories
// of this test's processes.
func TestLsofFindsListenersAndWorkingDirectories(t *testing.T) {
	if _, err := exec.LookPath("lsof"); err != nil {
		t.Skip("no lsof here")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	entries, err := lsof(lsofListenArgs(l.Addr().(*net.TCPAddr).Port)...)
	if err != nil || len(entries) != 1 || entries[0].pid != os.Getpid() || entries[0].cmd == "" {
		t.Errorf("listener: %+v, %v; want this process (%d) with its command", entries, err, os.Getpid())
	}

	dir, _ := filepath.EvalSymlinks(t.TempDir())
	inside := start(t, os.Args[0], dir)
	below := start(t, os.Args[0], mkdir(t, dir, "base"))
	entries, err = lsof(lsofCwdArgs(dir)...)
	if got := cwdIn(entries, dir); err != nil || !slices.Equal(got, []int{inside}) {
		t.Errorf("cwd users of %s: %v, %v; want [%d], not %d (in base/)", dir, got, err, inside, below)
	}
	if entries, err := lsof(lsofCwdArgs(filepath.Join(dir, "missing"))...); err != nil || len(entries) != 0 {
		t.Errorf("a missing directory: %+v, %v; want nothing, no error", entries, err)
	}
}

func mkdir(t *testing.T, parts ...string) string {
	t.Helper()
	dir := filepath.Join(parts...)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// start runs bin (this test binary or a copy) sleeping in dir and returns
// its pid; it is killed and reaped when the test ends.
func start(t *testing.T, bin, dir string) int {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "RUN_HELPER=sleep")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}
