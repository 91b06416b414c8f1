package typescript

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/kit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// A runtime that is not installed is reported as skipped, never as passed.
func TestMissingRuntimesAreSkippedNotPassed(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
		t.Fatal(err)
	}
	s, out := kit.TestSession(t, root, "PATH=/nonexistent")
	if err := s.Run.Serial(context.Background(), Worker{}.TestFfi(s)...); err != nil {
		t.Fatal(err)
	}
	results := s.Run.Results()
	if len(results) != len(runtimes) {
		t.Fatalf("want one result per runtime, got %+v", results)
	}
	for i, r := range results {
		if r.Status != run.Skipped || r.Name != "typescript:testFfi:"+runtimes[i].name || !strings.Contains(r.Note, "not installed") {
			t.Errorf("result %+v", r)
		}
	}
	if strings.Contains(out.String(), "▶") {
		t.Fatalf("a command ran:\n%s", out)
	}
}

// A dry run of testCi on a machine without Bun prints the whole plan:
// setup's npm ci brings Bun, so the build after it does not stop for it.
func TestDryRunDoesNotNeedWhatSetupInstalls(t *testing.T) {
	root := t.TempDir()
	bin := t.TempDir()
	for _, tool := range []string{"node", "npm", "cargo"} {
		if err := os.WriteFile(filepath.Join(bin, tool), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
		t.Fatal(err)
	}
	s, out := kit.TestSession(t, root, "PATH="+bin, "MAGE_DRY_RUN=1")
	steps := lang.Loaded(Worker{}, s, func(w lang.Worker, s *session.S) []run.Step { return w.TestCi(s) })
	if err := s.Run.Serial(context.Background(), steps...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, w := range []string{"npm ci --no-audit --no-fund", "dry run: bun is missing; mage typescript:setup installs it", "[dry-run] typescript:build: "} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("dry run lacks %q:\n%s", w, out)
		}
	}
}

func TestRuntimeCommandsWriteJUnitWhereAsked(t *testing.T) {
	for _, rt := range runtimes {
		argv := strings.Join(rt.argv("/r/x.xml", nil, []string{rt.ffi}), " ")
		if !strings.Contains(argv, "/r/x.xml") || !strings.Contains(argv, rt.ffi) || !strings.HasPrefix(argv, rt.tool+" ") {
			t.Errorf("%s: %s", rt.name, argv)
		}
		if plain := strings.Join(rt.argv("", nil, []string{rt.ffi}), " "); strings.Contains(plain, "junit") {
			t.Errorf("%s without a report asks for JUnit: %s", rt.name, plain)
		}
	}
}
