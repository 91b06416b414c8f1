// Package ci plans the CI pipeline as runner steps: the same targets an
// engineer runs at the desk, in dependency order, parallel where it is safe
// on two cores (compiles take turns through the runner's heavy slot).
package ci

import (
	"context"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/rust"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
)

// Setup installs toolchain pieces and dependencies (cargo-nextest included).
func Setup(s *session.S, areas []lang.Area) run.Step {
	return composite("ci:setup", lang.Fan(s, "setup", lang.Setup, areas...))
}

// CodeQuality is format check, clippy with warnings denied, the API docs and
// cargo audit when it is installed (reported as skipped otherwise).
func CodeQuality(s *session.S) run.Step {
	ws := rust.Workspace(s)
	return composite("ci:codeQuality", []run.Step{ws.Format(), ws.Lint(), ws.Docs(), Audit(s)})
}

// Audit checks Cargo.lock against the RustSec advisory database.
func Audit(s *session.S) run.Step {
	return run.Step{Name: "rust:audit", Do: func(ctx context.Context, r *run.Runner) error {
		if toolchain.Require(s.PATH(), "cargo-audit") != nil {
			return run.Skip("cargo-audit is not installed (cargo install cargo-audit --locked)")
		}
		return r.Run(ctx, s.Cmd(".", "cargo", "audit"))
	}}
}

// TestRust runs the workspace tests with the ci profile (JUnit) and the doc tests.
func TestRust(s *session.S) run.Step {
	ws := rust.Workspace(s)
	return composite("ci:testRust", []run.Step{ws.TestCi(), ws.TestDocs()})
}

// DBSetup starts the local cluster when DATABASE_URL is local and nothing
// answers, then creates and migrates the database.
func DBSetup(s *session.S) run.Step {
	return run.Step{Name: "db:setup", Do: func(ctx context.Context, r *run.Runner) error { return db.Setup(ctx, s.On(r)) }}
}

// TestIntegration runs the PostgreSQL-backed tests on a clone of the
// migrated template database.
func TestIntegration(s *session.S) run.Step {
	return run.Step{Name: "ci:testIntegration", Do: func(ctx context.Context, r *run.Runner) error {
		return db.WithClone(ctx, s.On(r), "ci", func(url string) error {
			return r.Serial(ctx, rust.Workspace(s).Integration(url))
		})
	}}
}

// Flow is the whole pipeline: setup; code quality alongside the database
// setup; the Rust tests; the integration tests.
func Flow(s *session.S, areas []lang.Area) []run.Step {
	prepare := run.Step{Name: "ci:prepare", Do: func(ctx context.Context, r *run.Runner) error {
		return r.Parallel(ctx, CodeQuality(s), DBSetup(s))
	}}
	return []run.Step{Setup(s, areas), prepare, TestRust(s), TestIntegration(s)}
}

func composite(name string, steps []run.Step) run.Step {
	return run.Step{Name: name, Do: run.SerialDo(steps)}
}
