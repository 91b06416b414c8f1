//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/tasker-systems/tasker-build/magefiles/internal/ci"
	"github.com/tasker-systems/tasker-build/magefiles/internal/coverage"
	"github.com/tasker-systems/tasker-build/magefiles/internal/gha"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/services"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// CI holds the pipeline GitHub Actions runs; every step is also a desk target. TASKER_CI_AREAS=python
// (comma-separated) narrows any of them to some areas, as the matrix jobs do.
type CI mg.Namespace

// Flow runs the whole pipeline and ends with a summary table: setup, worker builds, code quality
// alongside db:setup, Rust and worker tests (JUnit), integration tests on PostgreSQL and, with every
// area selected, the end-to-end run; then merges the JUnit reports into target/junit.xml. With no
// server at a local DATABASE_URL it starts the local cluster.
func (CI) Flow(ctx context.Context) error {
	return pipeline(ctx, func(s *session.S, areas []lang.Pipeline) []run.Step {
		var e2e *run.Step
		if len(areas) == len(all) { // the end-to-end run needs every worker
			step := e2eStep(s)
			e2e = &step
		}
		return ci.Flow(s, areas, e2e)
	})
}

// Setup installs what is missing (system packages with apt-get or brew, cargo-nextest prebuilt, the PostgreSQL server) and each area's dependencies (venv, gems, npm packages).
func (CI) Setup(ctx context.Context) error { return ciStep(ctx, ci.Setup) }

// BuildWorkers builds the Python, Ruby and TypeScript workers' native extensions.
func (CI) BuildWorkers(ctx context.Context) error { return ciStep(ctx, ci.BuildWorkers) }

// TestBuildSystem runs the build system's own Go tests (go test ./magefiles/...), as the macOS CI job does.
func (CI) TestBuildSystem(ctx context.Context) error { return ciStep(ctx, ci.TestBuildSystem) }

// BuildTests archives the Rust test binaries once (cargo nextest archive) into target/nextest/tests.tar.zst;
// shard jobs run slices of them from it (TASKER_SHARD=K/N, TASKER_TEST_ARCHIVE=<file>) without compiling.
func (CI) BuildTests(ctx context.Context) error { return ciStep(ctx, ci.BuildTests) }

// CodeQuality runs every format check and linter (clippy -D warnings, ruff, mypy, rubocop, biome, tsc),
// the API docs, cargo audit if installed, and db:prepareCheck (the sqlx query cache against the schema).
func (CI) CodeQuality(ctx context.Context) error { return ciStep(ctx, ci.CodeQuality) }

// TestRust runs the Rust tests with nextest's ci profile (JUnit under target/nextest/ci/) and the doc tests.
func (CI) TestRust(ctx context.Context) error { return ciStep(ctx, ci.TestRust) }

// TestFramework runs the Python, Ruby and TypeScript tests with JUnit reports under target/.
func (CI) TestFramework(ctx context.Context) error { return ciStep(ctx, ci.TestFramework) }

// TestIntegration runs every area's PostgreSQL-backed tests on a fresh clone of the migrated template.
func (CI) TestIntegration(ctx context.Context) error { return ciStep(ctx, ci.TestIntegration) }

// StartServices starts the stack for the end-to-end run (see services:start).
func (CI) StartServices(ctx context.Context) error { return stackStep(ctx, services.Stack.Start) }

// StopServices stops the stack (see services:stop).
func (CI) StopServices(ctx context.Context) error { return stackStep(ctx, services.Stack.Stop) }

// TestE2e starts the stack, runs the end-to-end tests and always stops it (see rust:testE2e).
func (CI) TestE2e(ctx context.Context) error { return stackStep(ctx, services.Stack.E2E) }

// Coverage runs every area's coverage one after another (rust:coverage with cargo-llvm-cov, python:coverage,
// ruby:coverage, typescript:coverage), each writing lcov to target/coverage/<area>.lcov, then prints one summary
// (every area merged into target/coverage/lcov.info; appended to $GITHUB_STEP_SUMMARY when set) and fails naming
// each area below its minimum in coverage-thresholds.json. TASKER_CI_AREAS and MAGE_SINCE narrow the areas.
func (CI) Coverage(ctx context.Context) error {
	return do(ctx, func(ctx context.Context, s *session.S) error {
		selected, err := selectedAreas(ctx, s)
		if err != nil {
			return err
		}
		names := make([]string, len(selected))
		for i, a := range selected {
			names[i] = a.Name()
		}
		return coverage.All(ctx, s, names, workers)
	})
}

// covered is a worker's coverage target (generated, see magefiles/cmd/gen): setup, build and the freshness
// check, the worker's coverage, then its summary and threshold.
func covered(w lang.Worker, s *session.S) []run.Step {
	return append(lang.Loaded(w, s, lang.Worker.Coverage), coverage.Summarise(s, []string{w.Name()}, false))
}

// Matrix prints the GitHub Actions matrix (JSON) of the jobs ci:flow runs, one per area; in Actions it
// also writes it to $GITHUB_OUTPUT as `matrix`.
func (CI) Matrix() error {
	s, err := session.Open()
	if err != nil {
		return err
	}
	shards, err := ci.Shards(s)
	if err != nil {
		return err
	}
	areas, err := ci.Affected(context.Background(), s, all)
	if err != nil {
		return err
	}
	m := ci.Matrix(areas, shards)
	fmt.Println(m)
	if out := os.Getenv("GITHUB_OUTPUT"); out != "" {
		return gha.SetOutput(out, "matrix", m)
	}
	return nil
}

// pipeline runs the steps plan makes for the selected areas, then merges
// whatever JUnit reports they wrote (also after a failure).
func pipeline(ctx context.Context, plan func(*session.S, []lang.Pipeline) []run.Step) error {
	return do(ctx, func(ctx context.Context, s *session.S) error {
		selected, err := selectedAreas(ctx, s)
		if err != nil {
			return err
		}
		err = s.Run.Serial(ctx, plan(s, selected)...)
		if merr := ci.MergeReports(s, s.Run, selected); merr != nil {
			s.Run.Warnf("could not merge the JUnit reports: %v", merr)
		}
		return err
	})
}

// selectedAreas are the areas TASKER_CI_AREAS names (all when unset) that
// a change since MAGE_SINCE reaches (all when unset).
func selectedAreas(ctx context.Context, s *session.S) ([]lang.Pipeline, error) {
	selected, err := ci.Select(s, all)
	if err != nil {
		return nil, err
	}
	return ci.Affected(ctx, s, selected)
}

func ciStep(ctx context.Context, step func(*session.S, []lang.Pipeline) run.Step) error {
	return pipeline(ctx, func(s *session.S, a []lang.Pipeline) []run.Step { return []run.Step{step(s, a)} })
}
