package toolchain

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
)

func TestLookPath(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	fake(t, b, "tool", "")
	writeFile(t, a, "tool", 0o644, "") // not executable: skipped
	if err := os.Mkdir(filepath.Join(a, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	pathEnv := a + string(os.PathListSeparator) + string(os.PathListSeparator) + b
	if got, err := LookPath(pathEnv, "tool"); err != nil || got != filepath.Join(b, "tool") {
		t.Errorf("tool: %q, %v", got, err)
	}
	if _, err := LookPath(pathEnv, "dir"); err == nil {
		t.Error("found a directory")
	}
	if _, err := LookPath(pathEnv, "absent"); err == nil {
		t.Error("found a missing binary")
	}
}

func TestByVersionSortsNumerically(t *testing.T) {
	dirs := []string{"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/9/bin", "/usr/lib/postgresql/16/bin",
		"/opt/homebrew/opt/postgresql@14/bin", "/usr/lib/postgresql/10.2/bin"}
	sort.Sort(byVersion(dirs))
	want := []string{"/usr/lib/postgresql/9/bin", "/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/10.2/bin",
		"/opt/homebrew/opt/postgresql@14/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"}
	if !slices.Equal(dirs, want) {
		t.Errorf("got %q", dirs)
	}
}

// fake writes an executable shell script named name into dir.
func fake(t *testing.T, dir, name, body string) {
	t.Helper()
	writeFile(t, dir, name, 0o755, "#!/bin/sh\n"+body+"\n")
}

func writeFile(t *testing.T, dir, name string, mode os.FileMode, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// Homebrew's libpq and postgresql@N are keg-only: `brew install libpq` (the
// psql hint on macOS) leaves psql off PATH, in the keg's bin/.
func TestPsqlIsFoundInAKeg(t *testing.T) {
	keg := filepath.Join(t.TempDir(), "opt", "libpq", "bin")
	if err := os.MkdirAll(keg, 0o755); err != nil {
		t.Fatal(err)
	}
	fake(t, keg, "psql", "")
	saved := pgBinGlobs
	pgBinGlobs = []string{keg}
	t.Cleanup(func() { pgBinGlobs = saved })
	if got, err := LookPath(t.TempDir(), "psql"); err != nil || got != filepath.Join(keg, "psql") {
		t.Errorf("psql: %q, %v", got, err)
	}
}
