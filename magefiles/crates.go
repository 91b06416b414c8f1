//go:build mage

package main

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/rust"
)

// Shared holds targets for crates/tasker-shared (config, message and health types).
type Shared mg.Namespace

// Test runs tasker-shared's tests.
func (Shared) Test(ctx context.Context) error { return crate(ctx, "shared", testWith(rust.Profile{})) }

// Lint runs clippy on tasker-shared with warnings denied.
func (Shared) Lint(ctx context.Context) error { return crate(ctx, "shared", rust.Scope.Lint) }

// Check runs format, lint and test for tasker-shared.
func (Shared) Check(ctx context.Context) error { return crateAll(ctx, "shared", rust.Scope.Check) }

// Clean removes tasker-shared's build outputs.
func (Shared) Clean(ctx context.Context) error { return crate(ctx, "shared", rust.Scope.Clean) }

// Pgmq holds targets for crates/tasker-pgmq (the queue client over PostgreSQL).
type Pgmq mg.Namespace

// Test runs tasker-pgmq's unit tests (integration tests: rust:testIntegration).
func (Pgmq) Test(ctx context.Context) error { return crate(ctx, "pgmq", testWith(rust.Profile{})) }

// Lint runs clippy on tasker-pgmq with warnings denied.
func (Pgmq) Lint(ctx context.Context) error { return crate(ctx, "pgmq", rust.Scope.Lint) }

// Check runs format, lint and test for tasker-pgmq.
func (Pgmq) Check(ctx context.Context) error { return crateAll(ctx, "pgmq", rust.Scope.Check) }

// Clean removes tasker-pgmq's build outputs.
func (Pgmq) Clean(ctx context.Context) error { return crate(ctx, "pgmq", rust.Scope.Clean) }

// Client holds targets for crates/tasker-client (HTTP client for the orchestration API).
type Client mg.Namespace

// Test runs tasker-client's tests.
func (Client) Test(ctx context.Context) error { return crate(ctx, "client", testWith(rust.Profile{})) }

// Lint runs clippy on tasker-client with warnings denied.
func (Client) Lint(ctx context.Context) error { return crate(ctx, "client", rust.Scope.Lint) }

// Check runs format, lint and test for tasker-client.
func (Client) Check(ctx context.Context) error { return crateAll(ctx, "client", rust.Scope.Check) }

// Clean removes tasker-client's build outputs.
func (Client) Clean(ctx context.Context) error { return crate(ctx, "client", rust.Scope.Clean) }

// Worker holds targets for crates/tasker-worker (the worker foundation every language uses).
type Worker mg.Namespace

// Test runs tasker-worker's unit tests.
func (Worker) Test(ctx context.Context) error { return crate(ctx, "worker", testWith(rust.Profile{})) }

// Lint runs clippy on tasker-worker with warnings denied.
func (Worker) Lint(ctx context.Context) error { return crate(ctx, "worker", rust.Scope.Lint) }

// Check runs format, lint and test for tasker-worker.
func (Worker) Check(ctx context.Context) error { return crateAll(ctx, "worker", rust.Scope.Check) }

// Clean removes tasker-worker's build outputs.
func (Worker) Clean(ctx context.Context) error { return crate(ctx, "worker", rust.Scope.Clean) }

// Orchestration holds targets for crates/tasker-orchestration (the API service on :8080).
type Orchestration mg.Namespace

// Test runs tasker-orchestration's unit tests.
func (Orchestration) Test(ctx context.Context) error {
	return crate(ctx, "orchestration", testWith(rust.Profile{}))
}

// Lint runs clippy on tasker-orchestration with warnings denied.
func (Orchestration) Lint(ctx context.Context) error {
	return crate(ctx, "orchestration", rust.Scope.Lint)
}

// Check runs format, lint and test for tasker-orchestration.
func (Orchestration) Check(ctx context.Context) error {
	return crateAll(ctx, "orchestration", rust.Scope.Check)
}

// Clean removes tasker-orchestration's build outputs.
func (Orchestration) Clean(ctx context.Context) error {
	return crate(ctx, "orchestration", rust.Scope.Clean)
}

// Run runs the orchestration service in the foreground (debug build); Ctrl-C stops it.
func (Orchestration) Run(ctx context.Context) error {
	return crate(ctx, "orchestration", runWith(false))
}

// RunRelease runs the orchestration service in the foreground (release build).
func (Orchestration) RunRelease(ctx context.Context) error {
	return crate(ctx, "orchestration", runWith(true))
}

// RustWorker holds targets for workers/rust (the Rust worker service on :8081).
type RustWorker mg.Namespace

// Test runs the Rust worker's tests.
func (RustWorker) Test(ctx context.Context) error {
	return crate(ctx, "rustWorker", testWith(rust.Profile{}))
}

// Lint runs clippy on the Rust worker with warnings denied.
func (RustWorker) Lint(ctx context.Context) error { return crate(ctx, "rustWorker", rust.Scope.Lint) }

// Check runs format, lint and test for the Rust worker.
func (RustWorker) Check(ctx context.Context) error {
	return crateAll(ctx, "rustWorker", rust.Scope.Check)
}

// Clean removes the Rust worker's build outputs.
func (RustWorker) Clean(ctx context.Context) error { return crate(ctx, "rustWorker", rust.Scope.Clean) }

// Run runs the Rust worker in the foreground (debug build); Ctrl-C stops it.
func (RustWorker) Run(ctx context.Context) error { return crate(ctx, "rustWorker", runWith(false)) }

// RunRelease runs the Rust worker in the foreground (release build).
func (RustWorker) RunRelease(ctx context.Context) error {
	return crate(ctx, "rustWorker", runWith(true))
}

func runWith(release bool) func(rust.Scope) run.Step {
	return func(sc rust.Scope) run.Step { return sc.Run(release) }
}
