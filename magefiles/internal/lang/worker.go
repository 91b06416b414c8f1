package lang

import (
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// Worker is the one interface every language worker (Python, Ruby,
// TypeScript) implements. Each method plans one action of the shared
// vocabulary and nothing else; the prerequisites (setup before build, build
// and the freshness check before tests) are added by Plan, so every worker
// orders its work the same way.
type Worker interface {
	Name() string
	// Setup installs the worker's dependencies; skipped when its lock file
	// did not change since the last setup.
	Setup(s *session.S) []run.Step
	// Build compiles the native extension where the language loads it;
	// skipped when the Rust sources did not change since the last build.
	Build(s *session.S) []run.Step
	BuildRelease(s *session.S) []run.Step
	Format(s *session.S) []run.Step
	FormatFix(s *session.S) []run.Step
	Lint(s *session.S) []run.Step
	LintFix(s *session.S) []run.Step
	Typecheck(s *session.S) []run.Step
	// Verify fails unless the extension the language actually loads was
	// built from the current Rust sources.
	Verify(s *session.S) []run.Step
	Test(s *session.S) []run.Step
	TestFfi(s *session.S) []run.Step
	// TestCi runs the tests with a JUnit report at JUnitPath.
	TestCi(s *session.S) []run.Step
	// TestIntegration runs the tests that need PostgreSQL at databaseURL.
	TestIntegration(s *session.S, databaseURL string) []run.Step
	// Coverage runs the unit and FFI tests measuring line coverage of the
	// worker's own sources, written as lcov to target/coverage/<worker>.lcov
	// (package coverage summarises it).
	Coverage(s *session.S) []run.Step
	Clean(s *session.S) []run.Step
	// Run starts the worker process in the foreground.
	Run(s *session.S) []run.Step
	// Serve is the worker process's command: Run runs it in the
	// foreground, the services supervisor in the background.
	Serve(s *session.S) run.Cmd
}

// WorkerAction selects one of a Worker's plans.
type WorkerAction func(Worker, *session.S) []run.Step

// Plan adds an action's prerequisites: build actions get setup first,
// everything that loads the extension gets setup, build and verify first.
// Tools that only read sources (format, lint) get setup (they live in the
// worker's environment).
func Plan(w Worker, s *session.S, action WorkerAction) []run.Step {
	return concat(w.Setup(s), action(w, s))
}

// Loaded is Plan for actions that load the native extension.
func Loaded(w Worker, s *session.S, action WorkerAction) []run.Step {
	return concat(w.Setup(s), w.Build(s), w.Verify(s), action(w, s))
}

// WorkerCheck is the worker's check: format, lint and typecheck, then the
// tests against a fresh extension.
func WorkerCheck(w Worker, s *session.S) []run.Step {
	return concat(w.Setup(s), w.Format(s), w.Lint(s), w.Typecheck(s), w.Build(s), w.Verify(s), w.Test(s))
}

// WorkerFix applies the formatter, then the linter's fixes.
func WorkerFix(w Worker, s *session.S) []run.Step {
	return concat(w.Setup(s), w.FormatFix(s), w.LintFix(s))
}

// AsArea makes a Worker one of the root aggregates' areas and a CI pipeline part.
func AsArea(w Worker) Pipeline { return workerArea{w} }

// AsAreas is AsArea for each worker.
func AsAreas(ws []Worker) []Pipeline {
	out := make([]Pipeline, len(ws))
	for i, w := range ws {
		out[i] = AsArea(w)
	}
	return out
}

type workerArea struct{ w Worker }

func (a workerArea) Name() string                  { return a.w.Name() }
func (a workerArea) Setup(s *session.S) []run.Step { return a.w.Setup(s) }
func (a workerArea) Build(s *session.S) []run.Step { return Plan(a.w, s, Worker.Build) }
func (a workerArea) Check(s *session.S) []run.Step { return WorkerCheck(a.w, s) }
func (a workerArea) Test(s *session.S) []run.Step  { return Loaded(a.w, s, Worker.Test) }
func (a workerArea) Fix(s *session.S) []run.Step   { return WorkerFix(a.w, s) }
func (a workerArea) Clean(s *session.S) []run.Step { return a.w.Clean(s) }

func concat(plans ...[]run.Step) []run.Step {
	var out []run.Step
	for _, p := range plans {
		out = append(out, p...)
	}
	return out
}
