//go:build mage

package main

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/python"
	"github.com/tasker-systems/tasker-build/magefiles/internal/ruby"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/typescript"
)

// The language workers: each namespace calls the one lang.Worker interface.
// Actions that load the native extension first run setup, build (skipped
// when fresh) and the freshness check.

// Python holds targets for workers/python (pyo3 extension via maturin, ruff, mypy, pytest).
type Python mg.Namespace

// Setup creates workers/python/.venv with the pinned dev tools (uv if installed, else venv + pip); skipped when unchanged.
func (Python) Setup(ctx context.Context) error { return work(ctx, python.Worker{}, lang.Worker.Setup) }

// Build installs the extension into the venv with maturin develop; skipped when the Rust sources did not change.
func (Python) Build(ctx context.Context) error {
	return work(ctx, python.Worker{}, planned(lang.Worker.Build))
}

// BuildRelease builds a release wheel into target/wheels.
func (Python) BuildRelease(ctx context.Context) error {
	return work(ctx, python.Worker{}, planned(lang.Worker.BuildRelease))
}

// Check runs format, lint, typecheck and the tests against a fresh build.
func (Python) Check(ctx context.Context) error { return work(ctx, python.Worker{}, lang.WorkerCheck) }

// Clean removes the extension's build outputs and the tool caches (the venv stays).
func (Python) Clean(ctx context.Context) error { return work(ctx, python.Worker{}, lang.Worker.Clean) }

// Fix runs formatFix then lintFix.
func (Python) Fix(ctx context.Context) error { return work(ctx, python.Worker{}, lang.WorkerFix) }

// Format checks formatting with ruff format --check.
func (Python) Format(ctx context.Context) error {
	return work(ctx, python.Worker{}, planned(lang.Worker.Format))
}

// FormatFix formats with ruff format.
func (Python) FormatFix(ctx context.Context) error {
	return work(ctx, python.Worker{}, planned(lang.Worker.FormatFix))
}

// Lint runs ruff check and clippy on the extension crate.
func (Python) Lint(ctx context.Context) error {
	return work(ctx, python.Worker{}, planned(lang.Worker.Lint))
}

// LintFix applies ruff's fixes.
func (Python) LintFix(ctx context.Context) error {
	return work(ctx, python.Worker{}, planned(lang.Worker.LintFix))
}

// Run starts the Python worker in the foreground (health on PYTHON_WORKER_PORT, default 8083); Ctrl-C stops it.
func (Python) Run(ctx context.Context) error {
	return work(ctx, python.Worker{}, loaded(lang.Worker.Run))
}

// Test runs the unit and FFI tests (pytest).
func (Python) Test(ctx context.Context) error {
	return work(ctx, python.Worker{}, loaded(lang.Worker.Test))
}

// TestCi runs the tests with a JUnit report at target/python-framework-results.xml.
func (Python) TestCi(ctx context.Context) error {
	return work(ctx, python.Worker{}, loaded(lang.Worker.TestCi))
}

// TestFfi runs the tests that call into the Rust extension.
func (Python) TestFfi(ctx context.Context) error {
	return work(ctx, python.Worker{}, loaded(lang.Worker.TestFfi))
}

// TestIntegration runs Python handlers through the Rust core against PostgreSQL (a clone of the migrated template).
func (Python) TestIntegration(ctx context.Context) error { return integration(ctx, python.Worker{}) }

// Typecheck runs mypy (strict).
func (Python) Typecheck(ctx context.Context) error {
	return work(ctx, python.Worker{}, planned(lang.Worker.Typecheck))
}

// Ruby holds targets for workers/ruby (magnus extension built with cargo, rubocop, rspec; gems from the system).
type Ruby mg.Namespace

// Setup resolves the Gemfile against the installed gems (bundle install --local); skipped when unchanged.
func (Ruby) Setup(ctx context.Context) error { return work(ctx, ruby.Worker{}, lang.Worker.Setup) }

// Build compiles the extension with cargo and installs it into lib/; skipped when the Rust sources did not change.
func (Ruby) Build(ctx context.Context) error {
	return work(ctx, ruby.Worker{}, planned(lang.Worker.Build))
}

// BuildRelease compiles the extension with the release profile and installs it.
func (Ruby) BuildRelease(ctx context.Context) error {
	return work(ctx, ruby.Worker{}, planned(lang.Worker.BuildRelease))
}

// Check runs format, lint, typecheck and the tests against a fresh build.
func (Ruby) Check(ctx context.Context) error { return work(ctx, ruby.Worker{}, lang.WorkerCheck) }

// Clean removes the extension's build outputs and the installed copy.
func (Ruby) Clean(ctx context.Context) error { return work(ctx, ruby.Worker{}, lang.Worker.Clean) }

// Fix runs formatFix then lintFix.
func (Ruby) Fix(ctx context.Context) error { return work(ctx, ruby.Worker{}, lang.WorkerFix) }

// Format checks layout with rubocop's Layout cops.
func (Ruby) Format(ctx context.Context) error {
	return work(ctx, ruby.Worker{}, planned(lang.Worker.Format))
}

// FormatFix fixes layout with rubocop --only Layout --autocorrect.
func (Ruby) FormatFix(ctx context.Context) error {
	return work(ctx, ruby.Worker{}, planned(lang.Worker.FormatFix))
}

// Lint runs rubocop and clippy on the extension crate.
func (Ruby) Lint(ctx context.Context) error {
	return work(ctx, ruby.Worker{}, planned(lang.Worker.Lint))
}

// LintFix applies rubocop --autocorrect.
func (Ruby) LintFix(ctx context.Context) error {
	return work(ctx, ruby.Worker{}, planned(lang.Worker.LintFix))
}

// Run starts the Ruby worker in the foreground (health on RUBY_WORKER_PORT, default 8082); Ctrl-C stops it.
func (Ruby) Run(ctx context.Context) error { return work(ctx, ruby.Worker{}, loaded(lang.Worker.Run)) }

// Test runs the unit and FFI specs (rspec).
func (Ruby) Test(ctx context.Context) error {
	return work(ctx, ruby.Worker{}, loaded(lang.Worker.Test))
}

// TestCi runs the specs with a JUnit report at target/ruby-framework-results.xml.
func (Ruby) TestCi(ctx context.Context) error {
	return work(ctx, ruby.Worker{}, loaded(lang.Worker.TestCi))
}

// TestFfi runs the specs that call into the Rust extension.
func (Ruby) TestFfi(ctx context.Context) error {
	return work(ctx, ruby.Worker{}, loaded(lang.Worker.TestFfi))
}

// TestIntegration runs Ruby handlers through the Rust core against PostgreSQL (a clone of the migrated template).
func (Ruby) TestIntegration(ctx context.Context) error { return integration(ctx, ruby.Worker{}) }

// Typecheck is reported as skipped: there is no Ruby type checker here.
func (Ruby) Typecheck(ctx context.Context) error {
	return work(ctx, ruby.Worker{}, planned(lang.Worker.Typecheck))
}

// TypeScript holds targets for workers/typescript (C ABI cdylib on Bun, Node via koffi and Deno; Biome, tsc).
type TypeScript mg.Namespace

// Setup installs the npm dependencies with npm ci (Bun, Deno, Biome, TypeScript, koffi); skipped when the lockfile did not change.
func (TypeScript) Setup(ctx context.Context) error {
	return work(ctx, typescript.Worker{}, lang.Worker.Setup)
}

// Build compiles the cdylib and the TypeScript for Node; each part skipped when its sources did not change.
func (TypeScript) Build(ctx context.Context) error {
	return work(ctx, typescript.Worker{}, planned(lang.Worker.Build))
}

// BuildRelease compiles the cdylib with the release profile.
func (TypeScript) BuildRelease(ctx context.Context) error {
	return work(ctx, typescript.Worker{}, planned(lang.Worker.BuildRelease))
}

// Check runs format, lint, typecheck and the tests against a fresh build.
func (TypeScript) Check(ctx context.Context) error {
	return work(ctx, typescript.Worker{}, lang.WorkerCheck)
}

// Clean removes the cdylib's build outputs and dist/.
func (TypeScript) Clean(ctx context.Context) error {
	return work(ctx, typescript.Worker{}, lang.Worker.Clean)
}

// Fix runs formatFix then lintFix.
func (TypeScript) Fix(ctx context.Context) error {
	return work(ctx, typescript.Worker{}, lang.WorkerFix)
}

// Format checks formatting with biome format.
func (TypeScript) Format(ctx context.Context) error {
	return work(ctx, typescript.Worker{}, planned(lang.Worker.Format))
}

// FormatFix formats with biome format --write.
func (TypeScript) FormatFix(ctx context.Context) error {
	return work(ctx, typescript.Worker{}, planned(lang.Worker.FormatFix))
}

// Lint runs Biome's linter and clippy on the cdylib.
func (TypeScript) Lint(ctx context.Context) error {
	return work(ctx, typescript.Worker{}, planned(lang.Worker.Lint))
}

// LintFix applies Biome's fixes.
func (TypeScript) LintFix(ctx context.Context) error {
	return work(ctx, typescript.Worker{}, planned(lang.Worker.LintFix))
}

// Run starts the TypeScript worker in the foreground (health on TYPESCRIPT_WORKER_PORT, default 8085); Ctrl-C stops it.
func (TypeScript) Run(ctx context.Context) error {
	return work(ctx, typescript.Worker{}, loaded(lang.Worker.Run))
}

// Test runs the unit tests (Bun) and the FFI tests on Bun, Node and Deno; a runtime that is not installed is reported as skipped.
func (TypeScript) Test(ctx context.Context) error {
	return work(ctx, typescript.Worker{}, loaded(lang.Worker.Test))
}

// TestCi runs the tests on every runtime with JUnit, merged into target/typescript-framework-results.xml.
func (TypeScript) TestCi(ctx context.Context) error {
	return work(ctx, typescript.Worker{}, loaded(lang.Worker.TestCi))
}

// TestFfi runs the FFI tests on every installed runtime.
func (TypeScript) TestFfi(ctx context.Context) error {
	return work(ctx, typescript.Worker{}, loaded(lang.Worker.TestFfi))
}

// TestIntegration runs TypeScript handlers through the Rust core against PostgreSQL on every runtime (a clone of the migrated template).
func (TypeScript) TestIntegration(ctx context.Context) error {
	return integration(ctx, typescript.Worker{})
}

// Typecheck runs tsc --noEmit and deno check.
func (TypeScript) Typecheck(ctx context.Context) error {
	return work(ctx, typescript.Worker{}, planned(lang.Worker.Typecheck))
}

// work runs a worker's plan.
func work(ctx context.Context, w lang.Worker, plan func(lang.Worker, *session.S) []run.Step) error {
	return steps(ctx, func(s *session.S) []run.Step { return plan(w, s) })
}

// planned adds setup before an action.
func planned(a lang.WorkerAction) lang.WorkerAction {
	return func(w lang.Worker, s *session.S) []run.Step { return lang.Plan(w, s, a) }
}

// loaded adds setup, build and the freshness check before an action.
func loaded(a lang.WorkerAction) lang.WorkerAction {
	return func(w lang.Worker, s *session.S) []run.Step { return lang.Loaded(w, s, a) }
}

// integration runs a worker's integration tests on a fresh database clone.
func integration(ctx context.Context, w lang.Worker) error {
	return do(ctx, func(ctx context.Context, s *session.S) error {
		return db.WithClone(ctx, s, w.Name(), func(url string) error {
			return s.Run.Serial(ctx, lang.Loaded(w, s, func(w lang.Worker, s *session.S) []run.Step {
				return w.TestIntegration(s, url)
			})...)
		})
	})
}
