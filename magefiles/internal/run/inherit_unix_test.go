//go:build unix

package run

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// A descriptor mage inherited (flock's lock, a CI runner's pipe) does not
// reach the commands it runs: a daemon among them (the PostgreSQL server)
// would hold it after mage exits.
func TestChildrenDoNotInheritOurInheritedFiles(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	// As if inherited: Go's own files are close-on-exec, inherited ones are not.
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, 0); errno != 0 {
		t.Fatal(errno)
	}
	KeepInheritedFilesFromChildren()
	var out strings.Builder
	r := New(Options{Stdout: &out, Stderr: &out, Env: os.Environ()})
	got, err := r.Output(context.Background(), Cmd{Argv: []string{"sh", "-c", "ls /dev/fd/"}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range strings.Fields(got) {
		if name == strconv.Itoa(fd) {
			t.Fatalf("the child has descriptor %d: %s", fd, got)
		}
	}
}
