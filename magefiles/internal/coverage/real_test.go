package coverage_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/coverage"
	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/python"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// repoSession is a session on this repository with the test's environment
// (under CI=true it installs what is missing, as the targets do); the
// runner's output goes to the test log.
func repoSession(t *testing.T) *session.S {
	t.Helper()
	root, err := workspace.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	e, err := env.Load(root, os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	out := &testkit.SyncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(out.String())
		}
	})
	return session.New(root, e, run.Options{Stdout: out, Stderr: out})
}

// measured fails unless the area's report has a record for file (root
// relative) with executable lines, some of them run.
func measured(t *testing.T, s *session.S, area, file string) coverage.Report {
	t.Helper()
	rep, err := coverage.ReadFile(coverage.Path(s, area))
	if err != nil {
		t.Fatal(err)
	}
	f, ok := rep[file]
	if !ok {
		t.Fatalf("%s has no record for %s; it has %v", coverage.Path(s, area), file, rep.Paths())
	}
	if tot := f.Totals(); tot.Found == 0 || tot.Hit == 0 {
		t.Errorf("%s: %+v, want executable lines that ran", file, tot)
	}
	return rep
}

// python:coverage for real: pytest-cov over the unit and FFI tests writes
// a report of the worker's package files, and nothing else.
func TestPythonCoverageIsReal(t *testing.T) {
	s := repoSession(t)
	if err := s.Run.Serial(context.Background(), lang.Loaded(python.Worker{}, s, lang.Worker.Coverage)...); err != nil {
		t.Fatal(err)
	}
	rep := measured(t, s, "python", "workers/python/python/tasker_worker_py/registry.py")
	// __main__ runs only in the worker processes the tests start: measured
	// through coverage's subprocess patch (pyproject.toml)
	measured(t, s, "python", "workers/python/python/tasker_worker_py/__main__.py")
	for _, p := range rep.Paths() {
		if !strings.HasPrefix(p, "workers/python/python/tasker_worker_py/") {
			t.Errorf("%s is not the worker's source", p)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Paths.Root, "workers", "python", ".coverage")); err == nil {
		t.Error("coverage's data file was left in the worker's directory")
	}
}

// rust:coverage for real: cargo-llvm-cov with llvm-profdata and llvm-cov
// found by FindLLVMTools (LLVM 19 or newer) writes records for the
// workspace crates' sources.
func TestRustCoverageIsReal(t *testing.T) {
	s := repoSession(t)
	if os.Getenv("CI") != "true" { // under CI the step installs what is missing
		if _, err := toolchain.LookPath(s.PATH(), "cargo-llvm-cov"); err != nil {
			testkit.Missing(t, "cargo-llvm-cov is not installed", "`go tool mage install cargo-llvm-cov` installs it")
		}
		if _, err := toolchain.FindLLVMTools(context.Background(), s.Run, s.PATH()); err != nil {
			testkit.Missing(t, err.Error(), "`go tool mage install llvm-tools` installs them")
		}
	}
	if err := s.Run.Serial(context.Background(), coverage.Rust(s)); err != nil {
		t.Fatal(err)
	}
	rep := measured(t, s, "rust", "crates/tasker-shared/src/config.rs")
	for _, p := range rep.Paths() {
		if filepath.IsAbs(p) || strings.HasPrefix(p, "workers/python") {
			t.Errorf("%s: a file outside the workspace crates, or an excluded extension", p)
		}
	}
}
