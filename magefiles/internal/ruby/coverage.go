package ruby

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/coverage"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// lcovCoverage is the repository's lcov writer on Ruby's own Coverage
// module (no coverage gem: RubyGems is not reachable, and bundler only
// loads gems the Gemfile names).
const lcovCoverage = "spec/support/lcov_coverage.rb"

// Coverage runs the unit and FFI specs with line coverage of lib/: every
// Ruby process of the run (rspec and the worker processes specs start)
// loads the writer through RUBYOPT and leaves <pid>.lcov; they are merged.
func (Worker) Coverage(s *session.S) []run.Step {
	return []run.Step{coverage.WorkerStep(k(s), []string{"bundler"}, []string{dir + "/lib"},
		func(ctx context.Context, r *run.Runner, raw string) ([]string, error) {
			c := rspec(s, "--tag", "~integration")
			opt := strings.TrimSpace(s.Env.Get("RUBYOPT") + " -r" + s.Paths.Abs(dir, lcovCoverage))
			c.Env = append(c.Env, "RUBYOPT="+opt, "TASKER_RUBY_COVERAGE_DIR="+raw)
			if err := r.Run(ctx, c); err != nil {
				return nil, err
			}
			return filepath.Glob(filepath.Join(raw, "*.lcov"))
		})}
}
