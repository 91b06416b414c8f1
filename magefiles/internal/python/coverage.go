package python

import (
	"context"
	"path/filepath"

	"github.com/tasker-systems/tasker-build/magefiles/internal/coverage"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// Coverage runs the unit and FFI tests under pytest-cov, measuring the
// package under python/ (the worker processes the tests start too:
// pyproject.toml's [tool.coverage.run] patches subprocess).
func (Worker) Coverage(s *session.S) []run.Step {
	return []run.Step{coverage.WorkerStep(k(s), []string{"pytest"}, []string{dir + "/python"},
		func(ctx context.Context, r *run.Runner, raw string) ([]string, error) {
			out := filepath.Join(raw, "python.lcov")
			c := pytest(s, "-m", "not integration", "--cov=tasker_worker_py", "--cov-report=lcov:"+out)
			// coverage's data files stay out of the source tree.
			c.Env = append(c.Env, "COVERAGE_FILE="+filepath.Join(raw, ".coverage"))
			return []string{out}, r.Run(ctx, c)
		})}
}
