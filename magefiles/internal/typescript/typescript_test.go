package typescript

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/kit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
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

func TestRuntimeCommandsWriteJUnitWhereAsked(t *testing.T) {
	for _, rt := range runtimes {
		argv := strings.Join(rt.argv("/r/x.xml", []string{rt.ffi}), " ")
		if !strings.Contains(argv, "/r/x.xml") || !strings.Contains(argv, rt.ffi) || !strings.HasPrefix(argv, rt.tool+" ") {
			t.Errorf("%s: %s", rt.name, argv)
		}
		if plain := strings.Join(rt.argv("", []string{rt.ffi}), " "); strings.Contains(plain, "junit") {
			t.Errorf("%s without a report asks for JUnit: %s", rt.name, plain)
		}
	}
}
