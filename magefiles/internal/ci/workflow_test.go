package ci

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/rhysd/actionlint"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/kit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

func workflowPath(t *testing.T) string {
	t.Helper()
	root, err := workspace.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, ".github", "workflows", "ci.yml")
}

// TestWorkflowPassesActionlint lints the workflow with actionlint (its
// expression, type, action-input and matrix checks).
func TestWorkflowPassesActionlint(t *testing.T) {
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFile(workflowPath(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", filepath.Base(e.Filepath), e.Line, e.Column, e.Message, e.Kind)
	}
}

// TestWorkflowRunsOnlyMageTargets: every shell step compiles the targets
// once to an absolute path or runs one target with that binary.
func TestWorkflowRunsOnlyMageTargets(t *testing.T) {
	b, err := os.ReadFile(workflowPath(t))
	if err != nil {
		t.Fatal(err)
	}
	wf, errs := actionlint.Parse(b)
	if len(errs) > 0 {
		t.Fatalf("parse: %v", errs[0])
	}
	compile := regexp.MustCompile(`^go tool mage -compile "\$RUNNER_TEMP/mage"$`)
	target := regexp.MustCompile(`^"\$RUNNER_TEMP/mage" [a-z]+:[a-zA-Z0-9]+$`)
	targets := 0
	for id, job := range wf.Jobs {
		compiled := false
		for _, st := range job.Steps {
			run, ok := st.Exec.(*actionlint.ExecRun)
			if !ok || run.Run == nil {
				continue
			}
			switch script := run.Run.Value; {
			case compile.MatchString(script):
				compiled = true
			case target.MatchString(script):
				if !compiled {
					t.Errorf("job %s runs %q before compiling the targets", id, script)
				}
				targets++
			default:
				t.Errorf("job %s runs %q: only `go tool mage -compile` and mage targets belong in the workflow", id, script)
			}
		}
	}
	if targets == 0 {
		t.Fatal("the workflow runs no mage target")
	}
}

// One job per area, then the split-database job (every area, no area
// variable); none at all when no area is selected.
func TestMatrixHasOneJobPerArea(t *testing.T) {
	var m struct {
		Include []struct {
			Area  string
			Split bool
		} `json:"include"`
	}
	areas := []lang.Pipeline{fakeArea("rust"), fakeArea("python")}
	if err := json.Unmarshal([]byte(Matrix(areas, 1)), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Include) != 3 || m.Include[0].Area != "rust" || m.Include[1].Area != "python" || m.Include[0].Split || m.Include[1].Split {
		t.Fatalf("matrix = %+v", m)
	}
	if split := m.Include[2]; !split.Split || split.Area != "" {
		t.Fatalf("split job = %+v", split)
	}
	if got := Matrix(nil, 1); got != `{"include":null}` {
		t.Errorf("no area: %s", got)
	}
}

// With shards, the Rust area is one job per slice; the others stay one job.
func TestMatrixShardsTheRustArea(t *testing.T) {
	var m struct {
		Include []struct{ Area, Shard string } `json:"include"`
	}
	areas := []lang.Pipeline{fakeArea("rust"), fakeArea("python")}
	if err := json.Unmarshal([]byte(Matrix(areas, 3)), &m); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range m.Include {
		got = append(got, j.Area+":"+j.Shard)
	}
	if want := []string{"rust:1/3", "rust:2/3", "rust:3/3", "python:", ":"}; !slices.Equal(got, want) {
		t.Fatalf("matrix jobs %q, want %q", got, want)
	}
	s, _ := kit.TestSession(t, t.TempDir(), "TASKER_CI_SHARDS=0")
	if _, err := Shards(s); fail.Code(err) != fail.Config {
		t.Errorf("TASKER_CI_SHARDS=0: %v, want exit 5", err)
	}
}

// A Rust shard job after the first runs only setup and its slice; the
// first runs the whole pipeline.
func TestLaterShardsRunOnlyTheirSlice(t *testing.T) {
	areas := []lang.Pipeline{fakeArea("rust")}
	for shard, want := range map[string][]string{
		"2/3": {"ci:setup", "ci:testRust"},
		"1/3": {"ci:setup", "ci:buildWorkers", "ci:prepare", "ci:testRust", "ci:testFramework", "ci:testIntegration"},
	} {
		s, _ := kit.TestSession(t, t.TempDir(), "TASKER_SHARD="+shard)
		var got []string
		for _, st := range Flow(s, areas, nil) {
			got = append(got, st.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("shard %s: steps %q, want %q", shard, got, want)
		}
	}
}
