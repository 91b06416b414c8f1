// Package python plans the Python worker's tasks (workers/python): a
// virtualenv with the dev tools, the pyo3 extension built by maturin into
// it, ruff, mypy and pytest.
package python

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/kit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/stamp"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// Worker is the Python worker.
type Worker struct{}

var _ lang.Worker = Worker{}

const (
	dir  = "workers/python"
	venv = dir + "/.venv"
	// requirements pins the dev tools; setup reruns when it changes.
	requirements = "requirements-dev.txt"
	// source is the package's directory; the venv finds it through a .pth
	// file (see linkSource), so a build restored from the cache is imported
	// without `maturin develop`.
	source = dir + "/python"
)

// native is the extension maturin develop writes into the package (abi3:
// one name for every Python 3).
var native = source + "/tasker_worker_py/" + map[bool]string{true: "_native.pyd", false: "_native.abi3.so"}[goruntime.GOOS == "windows"]

func k(s *session.S) kit.Kit {
	return kit.Kit{S: s, Ext: workspace.ExtensionFor("python"), Dir: dir,
		CargoEnv:       func() []string { return pyo3Env(s) },
		ZeroBasedLines: true, // pytest's JUnit lines
		KeyTools:       []string{"python3"},
		Built:          func() []string { return []string{native} },
	}
}

// pyo3Env is the environment maturin gives cargo. Clippy on the extension
// uses the same, or pyo3's build script reruns and pyo3 rebuilds (4 s)
// whenever lint and build alternate. The signature needs the venv's
// Python version (from pyvenv.cfg), so it is read when cargo runs, after
// setup made the venv.
func pyo3Env(s *session.S) []string {
	env := []string{"PYO3_PYTHON=" + python(s), "PYTHON_SYS_EXECUTABLE=" + python(s), "PYO3_BUILD_EXTENSION_MODULE=1"}
	cfg, err := os.ReadFile(s.Paths.Abs(venv, "pyvenv.cfg"))
	if err != nil {
		return env
	}
	for _, line := range strings.Split(string(cfg), "\n") {
		k, v, _ := strings.Cut(line, "=")
		parts := strings.Split(strings.TrimSpace(v), ".")
		if strings.TrimSpace(k) == "version" && len(parts) >= 2 {
			return append(env, fmt.Sprintf("PYO3_ENVIRONMENT_SIGNATURE=cpython-%s.%s-64bit", parts[0], parts[1]))
		}
	}
	return env
}

// python is the virtualenv's interpreter.
func python(s *session.S) string { return s.Paths.Abs(venv, "bin", "python") }

// probe prints the build id and file of the extension Python imports.
func probe(s *session.S) kit.Probe {
	return func() run.Cmd {
		return k(s).Cmd(python(s), "-c", "import tasker_worker_py._native as n; print(n.BUILD_ID, n.__file__)")
	}
}

func (Worker) Name() string { return "python" }

// Setup makes workers/python/.venv and installs requirements-dev.txt into
// it, with uv when installed, else venv and pip. Skipped while the
// requirements, the interpreter and uv are unchanged.
func (Worker) Setup(s *session.S) []run.Step {
	kt := k(s)
	key := func() (string, error) {
		return stamp.Hash(s.Paths.Abs(dir), nil, []string{requirements}, kt.ToolKey("python3", "uv"))
	}
	ready := func(context.Context, *run.Runner, string) bool { return kt.Exists(venv + "/bin/python") }
	tools := []string{"python3"}
	if toolchain.Require(s.PATH(), "uv") != nil {
		tools = append(tools, "python3-venv")
	}
	return []run.Step{kt.Setup(tools, key, ready, func(ctx context.Context, r *run.Runner, _ string) error {
		var err error
		if toolchain.Require(s.PATH(), "uv") == nil {
			err = kit.RunAll(ctx, r,
				s.Cmd(dir, "uv", "venv", "--allow-existing", ".venv"),
				s.Cmd(dir, "uv", "pip", "install", "--python", python(s), "-r", requirements))
		} else {
			err = kit.RunAll(ctx, r,
				s.Cmd(dir, "python3", "-m", "venv", ".venv"),
				s.Cmd(dir, python(s), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", requirements))
		}
		if err != nil || r.DryRun() {
			return err
		}
		return linkSource(s)
	})}
}

// linkSource puts the package's source directory on the venv's path with
// a .pth file, as `maturin develop` does, so the package imports before
// any build and an extension restored from the cache loads.
func linkSource(s *session.S) error {
	dirs, _ := filepath.Glob(s.Paths.Abs(venv, "lib", "python*", "site-packages"))
	dirs = append(dirs, s.Paths.Abs(venv, "Lib", "site-packages")) // Windows
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			return os.WriteFile(filepath.Join(d, "tasker_worker_py.pth"), []byte(s.Paths.Abs(source)+"\n"), 0o644)
		}
	}
	return fail.New(fail.Failed, "%s has no site-packages directory; delete it and run `mage python:setup`", venv)
}

// Build installs the extension into the virtualenv with maturin develop,
// with the Rust sources' build id compiled in. Skipped while Python
// already imports that build.
func (Worker) Build(s *session.S) []run.Step {
	kt := k(s)
	return []run.Step{kt.Build([]string{"maturin"}, probe(s), func(ctx context.Context, r *run.Runner, id string) error {
		c := kt.Cmd("maturin", "develop", "--quiet")
		c.Env = append(c.Env, kit.BuildIDEnv+"="+id, "VIRTUAL_ENV="+s.Paths.Abs(venv))
		return r.Run(ctx, c)
	})}
}

// BuildRelease builds an abi3 wheel under target/wheels.
func (Worker) BuildRelease(s *session.S) []run.Step {
	kt := k(s)
	return []run.Step{kt.Release([]string{"maturin"}, func(ctx context.Context, r *run.Runner, id string) error {
		c := kt.Cmd("maturin", "build", "--release", "--out", s.Paths.Abs("target", "wheels"))
		c.Env = append(c.Env, kit.BuildIDEnv+"="+id)
		return r.Run(ctx, c)
	})}
}

func (Worker) Format(s *session.S) []run.Step {
	kt := k(s)
	return []run.Step{kt.Tool("format", []string{"ruff"}, kt.Cmd("ruff", "format", "--check", "."))}
}

func (Worker) FormatFix(s *session.S) []run.Step {
	kt := k(s)
	return []run.Step{kt.Tool("formatFix", []string{"ruff"}, kt.Cmd("ruff", "format", "."))}
}

// Lint runs ruff and clippy on the extension crate.
func (Worker) Lint(s *session.S) []run.Step {
	kt := k(s)
	return []run.Step{kt.Tool("lint", []string{"ruff"}, kt.Cmd("ruff", "check", ".")), kt.Lint()}
}

func (Worker) LintFix(s *session.S) []run.Step {
	kt := k(s)
	return []run.Step{kt.Tool("lintFix", []string{"ruff"}, kt.Cmd("ruff", "check", "--fix", "."))}
}

func (Worker) Typecheck(s *session.S) []run.Step {
	kt := k(s)
	return []run.Step{kt.Tool("typecheck", []string{"mypy"}, kt.Cmd("mypy"))}
}

func (Worker) Verify(s *session.S) []run.Step {
	return []run.Step{k(s).Verify(nil, probe(s))}
}

func pytest(s *session.S, args ...string) run.Cmd {
	return k(s).Cmd(append(append([]string{"pytest"}, args...), s.TestArgs...)...)
}

// Test runs the unit and FFI tests (integration tests: testIntegration).
func (Worker) Test(s *session.S) []run.Step {
	return []run.Step{k(s).Tool("test", []string{"pytest"}, pytest(s, "-m", "not integration"))}
}

func (Worker) TestFfi(s *session.S) []run.Step {
	return []run.Step{k(s).Tool("testFfi", []string{"pytest"}, pytest(s, "-m", "ffi"))}
}

// TestCi runs the unit and FFI tests with a JUnit report.
func (Worker) TestCi(s *session.S) []run.Step {
	return []run.Step{k(s).Report("testCi", "framework", []string{"pytest"}, nil, func(path string) run.Cmd {
		return pytest(s, "-m", "not integration", "--junitxml="+path)
	})}
}

func (Worker) TestIntegration(s *session.S, databaseURL string) []run.Step {
	env := db.ChildEnv(databaseURL) // split: PGMQ_DATABASE_URL names the queue's clone
	return []run.Step{k(s).Report("testIntegration", "integration", []string{"pytest"}, env, func(path string) run.Cmd {
		return pytest(s, "-m", "integration", "--junitxml="+path)
	})}
}

// Clean removes the extension's build outputs, the installed extension's
// stamps and the tool caches; the virtualenv stays (python:setup owns it).
func (Worker) Clean(s *session.S) []run.Step {
	return []run.Step{k(s).Clean(dir+"/.pytest_cache", dir+"/.mypy_cache", dir+"/.ruff_cache")}
}

// Run starts the worker process in the foreground (Ctrl-C stops it).
func (w Worker) Run(s *session.S) []run.Step {
	return []run.Step{k(s).Tool("run", nil, w.Serve(s))}
}

// Serve is `python -m tasker_worker_py` in the virtualenv.
func (Worker) Serve(s *session.S) run.Cmd { return k(s).Cmd(python(s), "-m", "tasker_worker_py") }
