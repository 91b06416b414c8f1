package run

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// needTable skips where this OS has no process table reader.
func needTable(t *testing.T) {
	t.Helper()
	if _, err := table.info(os.Getpid()); errors.Is(err, errUnknown) {
		t.Skip("the process table cannot be read here")
	}
}

func TestAZombieIsNotAlive(t *testing.T) {
	needTable(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "RUN_HELPER=exit")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	pid := cmd.Process.Pid
	deadline := time.Now().Add(10 * time.Second)
	for Alive(pid) && time.Now().Before(deadline) { // it exits at once; nobody reaps it yet
		time.Sleep(10 * time.Millisecond)
	}
	if st, err := table.info(pid); err != nil || !st.zombie || Alive(pid) {
		t.Fatalf("exited, unreaped child: %+v, %v, Alive %v; want a zombie that is not alive", st, err, Alive(pid))
	}
}

func TestGroupAliveSinceCountsWhatTheLeaderStarted(t *testing.T) {
	needTable(t)
	r, _ := newTestRunner(Options{})
	pidFile := filepath.Join(t.TempDir(), "pids")
	p := spawn(t, r, self(t, "spawn", "PID_FILE="+pidFile, "LEAVE=1"), filepath.Join(t.TempDir(), "log"))
	grandchild := readPids(t, pidFile)[1]
	waitExit(t, p) // the leader is gone; its child is left in the group
	if !GroupAlive(p.Pgid) || !GroupAliveSince(p.Pgid, p.Ticks) {
		t.Errorf("group %d with a live member: GroupAlive %v, GroupAliveSince(its start) %v", p.Pgid, GroupAlive(p.Pgid), GroupAliveSince(p.Pgid, p.Ticks))
	}
	later, ok := StartTicks(grandchild)
	if !ok || GroupAliveSince(p.Pgid, later+1) {
		t.Errorf("members started before the given time (%d, %v) must not count", later, ok)
	}
}

func TestUsersOfFollowsSymlinks(t *testing.T) {
	needTable(t)
	dir := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Skip("no symlinks:", err)
	}
	pid := start(t, os.Args[0], dir)
	for _, d := range []string{dir, link} {
		if got := UsersOf(d); !slices.Equal(got, []int{pid}) {
			t.Errorf("UsersOf(%s) = %v, want [%d]", d, got, pid)
		}
	}
}

func TestPortOwnerIsTheListeningProcess(t *testing.T) {
	needTable(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	pid, cmd, ok := PortOwner(port)
	if !ok || pid != os.Getpid() || !strings.Contains(cmd, filepath.Base(os.Args[0])) {
		t.Errorf("PortOwner(%d) = %d %q %v; want this process (%d, %s)", port, pid, cmd, ok, os.Getpid(), os.Args[0])
	}
	l.Close()
	if pid, _, ok := PortOwner(port); ok {
		t.Errorf("a closed port is owned by %d", pid)
	}
}

func TestExecutableIsGoneOnceDeleted(t *testing.T) {
	needTable(t)
	self, _ := os.Executable()
	if exe, gone, err := Executable(os.Getpid()); err != nil || !sameFile(exe, self) || gone {
		t.Errorf("Executable(self) = %q %v %v; want %q", exe, gone, err, self)
	}
	cp := filepath.Join(t.TempDir(), "copy")
	copyFile(t, self, cp)
	pid := start(t, cp, "")
	if err := os.Remove(cp); err != nil {
		t.Fatal(err)
	}
	if exe, gone, err := Executable(pid); err != nil || filepath.Base(exe) != "copy" || !gone {
		t.Errorf("Executable of a process whose file was deleted = %q %v %v; want %s, gone", exe, gone, err, cp)
	}
}

func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
