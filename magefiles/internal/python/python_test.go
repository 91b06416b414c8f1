package python

import (
	"context"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/kit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

func only(t *testing.T, steps []run.Step) run.Step {
	t.Helper()
	if len(steps) != 1 {
		t.Fatalf("want one step, got %d", len(steps))
	}
	return steps[0]
}

// Without python3 setup stops before running anything, naming the install command.
func TestMissingPythonIsExit3(t *testing.T) {
	s, out := kit.TestSession(t, t.TempDir(), "PATH=/nonexistent")
	err := only(t, Worker{}.Setup(s)).Do(context.Background(), s.Run)
	if fail.Code(err) != fail.MissingTool || !strings.Contains(err.Error(), "missing tool python3: install with") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(out.String(), "▶") {
		t.Fatalf("a command ran:\n%s", out)
	}
}

// Without maturin (a venv without the dev tools) build names the install command.
func TestMissingMaturinIsExit3(t *testing.T) {
	s, _ := kit.TestSession(t, t.TempDir(), "PATH=/nonexistent")
	err := only(t, Worker{}.Build(s)).Do(context.Background(), s.Run)
	if fail.Code(err) != fail.MissingTool || !strings.Contains(err.Error(), "missing tool maturin: install with `pip install maturin`") {
		t.Fatalf("err = %v", err)
	}
}
