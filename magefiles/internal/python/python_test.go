package python

import (
	"context"
	"os"
	"path/filepath"
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
	if fail.Code(err) != fail.MissingTool || !strings.Contains(err.Error(), "missing tool maturin: install with `mage python:setup`") {
		t.Fatalf("err = %v", err)
	}
}

// Clippy gets maturin's pyo3 environment, signature included once the venv exists.
func TestPyo3EnvMatchesMaturin(t *testing.T) {
	root := t.TempDir()
	s, _ := kit.TestSession(t, root, "PATH=/nonexistent")
	if env := strings.Join(pyo3Env(s), " "); strings.Contains(env, "SIGNATURE") || !strings.Contains(env, "PYO3_PYTHON="+root) {
		t.Fatalf("without a venv: %s", env)
	}
	cfg := filepath.Join(root, venv, "pyvenv.cfg")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("home = /usr/bin\nversion = 3.12.4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if env := strings.Join(pyo3Env(s), " "); !strings.Contains(env, "PYO3_ENVIRONMENT_SIGNATURE=cpython-3.12-64bit") {
		t.Fatalf("with a venv: %s", env)
	}
}
