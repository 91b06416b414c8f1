//go:build mage

package main

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/tasker-systems/tasker-build/magefiles/internal/ci"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// CI holds the pipeline GitHub Actions runs; every step is also a desk target.
type CI mg.Namespace

// Flow runs the pipeline end to end and ends with a summary table: setup, code quality and db:setup,
// Rust tests (JUnit), integration tests on PostgreSQL. With no server at a local DATABASE_URL it starts
// the local cluster.
func (CI) Flow(ctx context.Context) error {
	return steps(ctx, func(s *session.S) []run.Step { return ci.Flow(s, areas) })
}

// Setup installs toolchain pieces and dependencies (cargo-nextest when missing).
func (CI) Setup(ctx context.Context) error {
	return steps(ctx, func(s *session.S) []run.Step { return []run.Step{ci.Setup(s, areas)} })
}

// CodeQuality checks formatting, runs clippy with warnings denied, builds the docs and runs cargo audit if installed.
func (CI) CodeQuality(ctx context.Context) error { return ciStep(ctx, ci.CodeQuality) }

// TestRust runs the Rust tests with nextest's ci profile (JUnit under target/nextest/ci/) and the doc tests.
func (CI) TestRust(ctx context.Context) error { return ciStep(ctx, ci.TestRust) }

// TestIntegration runs the PostgreSQL-backed tests on a fresh clone of the migrated template database.
func (CI) TestIntegration(ctx context.Context) error { return ciStep(ctx, ci.TestIntegration) }

func ciStep(ctx context.Context, step func(*session.S) run.Step) error {
	return steps(ctx, func(s *session.S) []run.Step { return []run.Step{step(s)} })
}
