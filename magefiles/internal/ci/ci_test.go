package ci

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/junit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/kit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// fakeArea is an area with no steps whose only report is a file in dir.
type fakeArea string

func (a fakeArea) Name() string                            { return string(a) }
func (fakeArea) Setup(*session.S) []run.Step               { return nil }
func (fakeArea) Build(*session.S) []run.Step               { return nil }
func (fakeArea) Check(*session.S) []run.Step               { return nil }
func (fakeArea) Test(*session.S) []run.Step                { return nil }
func (fakeArea) Fix(*session.S) []run.Step                 { return nil }
func (fakeArea) Clean(*session.S) []run.Step               { return nil }
func (fakeArea) Quality(*session.S) []run.Step             { return nil }
func (fakeArea) TestCi(*session.S) []run.Step              { return nil }
func (fakeArea) Integration(*session.S, string) []run.Step { return nil }
func (a fakeArea) Reports(s *session.S) []string {
	return []string{filepath.Join(s.Paths.Root, string(a)+".xml"), filepath.Join(s.Paths.Root, "absent.xml")}
}

func TestSelectNarrowsAndRejectsUnknownAreas(t *testing.T) {
	all := []lang.Pipeline{fakeArea("rust"), fakeArea("python"), fakeArea("ruby")}
	s, _ := kit.TestSession(t, t.TempDir())
	if got, _ := Select(s, all); len(got) != 3 {
		t.Fatalf("unset selects all, got %d", len(got))
	}
	s, _ = kit.TestSession(t, t.TempDir(), AreasEnv+"=ruby, rust")
	got, err := Select(s, all)
	if err != nil || len(got) != 2 || got[0].Name() != "ruby" || got[1].Name() != "rust" {
		t.Fatalf("got %v, %v", got, err)
	}
	s, _ = kit.TestSession(t, t.TempDir(), AreasEnv+"=cobol")
	_, err = Select(s, all)
	if fail.Code(err) != fail.Config || !strings.Contains(err.Error(), "valid areas: rust, python, ruby") {
		t.Fatalf("unknown area: %v", err)
	}
}

func TestMergeReportsLabelsByArea(t *testing.T) {
	root := t.TempDir()
	report := `<testsuite name="pytest" tests="1"><testcase classname="t" name="ok" time="0.1"/></testsuite>`
	for _, n := range []string{"rust", "python"} {
		if err := os.WriteFile(filepath.Join(root, n+".xml"), []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A report left by an earlier run is not merged.
	stale := filepath.Join(root, "ruby.xml")
	if err := os.WriteFile(stale, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	s, out := kit.TestSession(t, root)
	s.Start = time.Now().Add(-time.Minute)
	if err := MergeReports(s, s.Run, []lang.Pipeline{fakeArea("rust"), fakeArea("python"), fakeArea("ruby")}); err != nil {
		t.Fatal(err)
	}
	merged, err := junit.Read(MergedReport(s))
	if err != nil {
		t.Fatal(err)
	}
	if len(merged.Suites) != 2 || merged.Suites[1].Name != "python: pytest" || merged.Tests != 2 {
		t.Fatalf("merged = %+v", merged)
	}
	if !strings.Contains(out.String(), "2 reports merged") {
		t.Fatalf("output: %s", out.String())
	}
}
