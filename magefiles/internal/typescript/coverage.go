package typescript

import (
	"context"
	"path/filepath"

	"github.com/tasker-systems/tasker-build/magefiles/internal/coverage"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// Coverage measures src/ with the runtimes' own coverage: Bun's (unit and
// FFI tests, lcov reporter) for every file Bun loads, and, where Deno is
// installed, Deno's (its FFI tests, `deno coverage --lcov`) for the files
// only Deno loads (its FFI binding, the worker process the tests start).
// The two disagree on which lines are executable, so a file is taken from
// one of them, not merged. Node runs the tsc output in dist/, not the
// sources, so it is left out.
func (Worker) Coverage(s *session.S) []run.Step {
	kt := k(s)
	bun, deno := runtimeNamed("bun"), runtimeNamed("deno")
	src := coverage.WorkerSource(kt, []string{dir + "/src"})
	src.FirstWins = true
	return []run.Step{coverage.WorkerStepFrom(kt, []string{"bun"}, src,
		func(ctx context.Context, r *run.Runner, raw string) ([]string, error) {
			bunDir := filepath.Join(raw, "bun")
			argv := append([]string{"bun", "test", "--coverage", "--coverage-reporter=lcov", "--coverage-dir=" + bunDir}, s.TestArgs...)
			if err := r.Run(ctx, cmd(s, append(append(argv, bun.unit...), bun.ffi)...)); err != nil {
				return nil, err
			}
			out := []string{filepath.Join(bunDir, "lcov.info")}
			if !deno.installed(kt) {
				r.Warnf("deno is not installed: Deno's FFI binding is not measured (mage typescript:setup installs it from npm)")
				return out, nil
			}
			profile, denoLcov := filepath.Join(raw, "deno-profile"), filepath.Join(raw, "deno.lcov")
			test := append(append(append([]string{"deno", "test"}, denoPerms...), "--coverage="+profile), s.TestArgs...)
			if err := r.Run(ctx, cmd(s, append(test, deno.ffi)...)); err != nil {
				return nil, err
			}
			if err := r.Run(ctx, cmd(s, "deno", "coverage", "--lcov", "--output="+denoLcov, profile)); err != nil {
				return nil, err
			}
			return append(out, denoLcov), nil
		})}
}

// runtimeNamed is the runtimes row called name.
func runtimeNamed(name string) runtime {
	for _, rt := range runtimes {
		if rt.name == name {
			return rt
		}
	}
	panic("typescript: no runtime " + name)
}
