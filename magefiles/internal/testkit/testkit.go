// Package testkit holds small helpers the build system's tests share.
package testkit

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// SyncBuffer is a bytes.Buffer safe for concurrent writers (a runner's
// parallel steps, a process's output copier) and readers.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FreePort returns a loopback port nothing listens on (the kernel's pick).
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// NeedTool skips the test when bin is not on PATH, naming it and the
// target that installs it (see Missing).
func NeedTool(t testing.TB, bin string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		Missing(t, bin+" is not installed", "`go tool mage setup` installs it")
	}
	return p
}

// Missing ends a test that cannot run here, saying what is missing and how
// to get it: a skip at a desk, a failure under CI=true, so that CI never
// passes by skipping.
func Missing(t testing.TB, what, how string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: tests must not skip): %s", what, how)
	}
	t.Skipf("%s: %s", what, how)
}

// ScratchDir is where tests put throwaway directories that other OS users
// (PostgreSQL's, say) must reach: /dev/shm (tmpfs, fast) when it is
// world-writable, else the system temp dir.
func ScratchDir() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() && st.Mode().Perm() == 0o777 {
		return "/dev/shm"
	}
	return os.TempDir()
}

// Exec runs argv in dir with env layered over the test's environment and
// returns its exit code and output. err is set only when it could not run
// (not for a non-zero exit).
func Exec(ctx context.Context, dir string, env []string, argv ...string) (code int, stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errw bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errw
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), out.String(), errw.String(), nil
	}
	return 0, out.String(), errw.String(), err
}
