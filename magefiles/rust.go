//go:build mage

package main

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/tasker-systems/tasker-build/magefiles/internal/bench"
	"github.com/tasker-systems/tasker-build/magefiles/internal/coverage"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/rust"
	"github.com/tasker-systems/tasker-build/magefiles/internal/services"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// Rust holds targets for the whole Cargo workspace.
type Rust mg.Namespace

// Bench runs the crates' criterion benchmarks (release profile; the queue ones on a fresh clone of the
// migrated database), writes target/bench/rust.json, prints a table and warns about each benchmark
// slower than .config/bench-baseline.json allows. TASKER_BENCH_ARGS passes criterion arguments (a filter).
func (Rust) Bench(ctx context.Context) error {
	return steps(ctx, func(s *session.S) []run.Step { return []run.Step{bench.Rust(s)} })
}

// BenchBaseline records the results under target/bench/ (rust.json, e2e.json: whichever exist) as
// .config/bench-baseline.json, keeping the other kind's figures; commit the file.
func (Rust) BenchBaseline(ctx context.Context) error {
	return steps(ctx, func(s *session.S) []run.Step { return []run.Step{bench.RecordBaseline(s)} })
}

// BenchE2e is self-contained like testE2e: it starts the stack, times TASKER_BENCH_TASKS (100) task round
// trips per worker namespace, TASKER_BENCH_CONCURRENCY (4) at a time, stops the stack (also on failure or
// Ctrl-C), writes target/bench/e2e.json (p50, p99, tasks/s), prints a table and warns about regressions.
func (Rust) BenchE2e(ctx context.Context) error {
	return do(ctx, func(ctx context.Context, s *session.S) error {
		o, err := bench.OptionsFrom(s.Env)
		if err != nil {
			return err
		}
		return s.Run.Serial(ctx, bench.E2E(stack(s), o))
	})
}

// Build compiles every crate and its tests (debug).
func (Rust) Build(ctx context.Context) error { return ws(ctx, rust.Scope.Build) }

// BuildRelease compiles every crate with the release profile.
func (Rust) BuildRelease(ctx context.Context) error { return ws(ctx, rust.Scope.BuildRelease) }

// Check runs format (check only), lint, test and testDocs, stopping at the first failure.
func (Rust) Check(ctx context.Context) error { return wsAll(ctx, rust.Scope.Check) }

// Clean removes target/ (cargo clean).
func (Rust) Clean(ctx context.Context) error { return ws(ctx, rust.Scope.Clean) }

// Coverage runs the tests instrumented with cargo-llvm-cov (its own target/llvm-cov-target, so normal builds
// stay valid) into target/coverage/rust.lcov, prints the line coverage and checks it against
// coverage-thresholds.json. llvm-profdata and llvm-cov: LLVM_PROFDATA and LLVM_COV when set, else rustup's
// llvm-tools-preview, else LLVM 19 or newer from the system (installed as apt's llvm-19 or brew's llvm).
func (Rust) Coverage(ctx context.Context) error {
	return steps(ctx, func(s *session.S) []run.Step {
		return []run.Step{coverage.Rust(s), coverage.Summarise(s, []string{"rust"}, false)}
	})
}

// Docs builds the API documentation (private items too) with warnings denied.
func (Rust) Docs(ctx context.Context) error { return ws(ctx, rust.Scope.Docs) }

// Fix runs formatFix then lintFix.
func (Rust) Fix(ctx context.Context) error { return wsAll(ctx, rust.Scope.Fix) }

// Format checks formatting with rustfmt without changing files.
func (Rust) Format(ctx context.Context) error { return ws(ctx, rust.Scope.Format) }

// FormatFix formats every crate with rustfmt.
func (Rust) FormatFix(ctx context.Context) error { return ws(ctx, rust.Scope.FormatFix) }

// Lint runs clippy on all targets and features with warnings denied.
func (Rust) Lint(ctx context.Context) error { return ws(ctx, rust.Scope.Lint) }

// LintFix applies clippy's suggested fixes.
func (Rust) LintFix(ctx context.Context) error { return ws(ctx, rust.Scope.LintFix) }

// Setup checks the toolchain, installs cargo-nextest if missing and fetches dependencies.
func (Rust) Setup(ctx context.Context) error { return ws(ctx, rust.Scope.Setup) }

// Test runs the unit tests with cargo-nextest (default profile); falls back to cargo test with a warning.
func (Rust) Test(ctx context.Context) error { return ws(ctx, testWith(rust.Profile{})) }

// TestCi runs the tests with nextest's ci profile and reports where the JUnit file was written.
func (Rust) TestCi(ctx context.Context) error {
	return ws(ctx, rust.Scope.TestCi)
}

// TestCrate runs one crate's tests; name is a crate key (pgmq, shared, ...) or package name.
func (Rust) TestCrate(ctx context.Context, name string) error {
	return crate(ctx, name, testWith(rust.Profile{}))
}

// TestDocs runs the documentation tests (cargo test --doc).
func (Rust) TestDocs(ctx context.Context) error { return ws(ctx, rust.Scope.TestDocs) }

// TestIntegration runs the tests that need PostgreSQL, each run on its own clone of the migrated template database.
// A local DATABASE_URL with no server behind it starts the local cluster (mage db:up) first.
func (Rust) TestIntegration(ctx context.Context) error {
	return do(ctx, func(ctx context.Context, s *session.S) error {
		return db.WithClone(ctx, s, "rust", func(url string) error {
			return s.Run.Serial(ctx, rust.Workspace(s).Integration(url))
		})
	})
}

// TestE2e is self-contained: db:setup, services:start (building what is stale), the end-to-end tests
// (tests/e2e: one round trip per worker namespace), then services:stop, also on failure or Ctrl-C.
func (Rust) TestE2e(ctx context.Context) error { return stackStep(ctx, services.Stack.E2E) }

func testWith(p rust.Profile) func(rust.Scope) run.Step {
	return func(sc rust.Scope) run.Step { return sc.Test(p) }
}

func runWith(release bool) func(rust.Scope) run.Step {
	return func(sc rust.Scope) run.Step { return sc.Run(release) }
}

// ws runs one workspace-wide step.
func ws(ctx context.Context, step func(rust.Scope) run.Step) error {
	return wsAll(ctx, func(sc rust.Scope) []run.Step { return []run.Step{step(sc)} })
}

// wsAll runs workspace-wide steps in order.
func wsAll(ctx context.Context, plan func(rust.Scope) []run.Step) error {
	return steps(ctx, func(s *session.S) []run.Step { return plan(rust.Workspace(s)) })
}

// crate runs steps for one crate (unknown names exit 5 with the valid list).
// The crates' namespaces are generated (zz_generated_targets.go, from
// magefiles/cmd/gen) and call it.
func crate(ctx context.Context, name string, step func(rust.Scope) run.Step) error {
	return crateAll(ctx, name, func(sc rust.Scope) []run.Step { return []run.Step{step(sc)} })
}

func crateAll(ctx context.Context, name string, plan func(rust.Scope) []run.Step) error {
	return do(ctx, func(ctx context.Context, s *session.S) error {
		sc, err := rust.Crate(s, name)
		if err != nil {
			return err
		}
		return s.Run.Serial(ctx, plan(sc)...)
	})
}
