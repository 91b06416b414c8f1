//go:build mage

package main

import (
	"context"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// The language workers' namespaces are generated (zz_generated_targets.go,
// from magefiles/cmd/gen): each target calls one of these with the one
// lang.Worker interface. Actions that load the native extension first run
// setup, build (skipped when fresh) and the freshness check.

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
