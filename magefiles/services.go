//go:build mage

package main

import (
	"context"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/tasker-systems/tasker-build/magefiles/internal/bench"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/rust"
	"github.com/tasker-systems/tasker-build/magefiles/internal/services"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/svc"
)

// Services holds targets for the local stack: orchestration and the rust, ruby, python and typescript
// workers, each on its port (ORCHESTRATION_PORT, ...; `mage env` shows them). Logs: .tasker/logs/<service>.log.
type Services mg.Namespace

// Start builds what is stale, starts every service in the background and waits until each is healthy;
// a busy port is reported with its owner and nothing starts. Ctrl-C or a failure stops what was started.
func (Services) Start(ctx context.Context) error { return stackStep(ctx, services.Stack.Start) }

// Stop stops every service (SIGTERM, SIGKILL after a grace period), checks the ports are free and
// removes the pid files; also cleans up after a crashed run.
func (Services) Stop(ctx context.Context) error { return stackStep(ctx, services.Stack.Stop) }

// Status prints each service's pid, port, health and uptime.
func (Services) Status(ctx context.Context) error {
	return do(ctx, func(ctx context.Context, s *session.S) error {
		st := stack(s)
		rows, err := st.Supervisor(s.Run).Status(ctx, st.Names()...)
		if err == nil {
			svc.PrintStatus(os.Stdout, rows)
		}
		return err
	})
}

// Logs prints the last 50 lines of every service's log.
func (Services) Logs(ctx context.Context) error { return tail(ctx) }

// Log follows one service's log (orchestration, rust-worker, python-worker, ...) until Ctrl-C.
func (Services) Log(ctx context.Context, service string) error { return tail(ctx, service) }

// Check checks PostgreSQL and the health of every running service; exit 1 if one is unhealthy.
func (Services) Check(ctx context.Context) error {
	return do(ctx, func(ctx context.Context, s *session.S) error {
		if err := db.Check(ctx, s); err != nil {
			return err
		}
		return stack(s).Check(ctx, s.Run)
	})
}

func stack(s *session.S) services.Stack { return services.Stack{S: s, Workers: workers} }

func stackStep(ctx context.Context, step func(services.Stack) run.Step) error {
	return steps(ctx, func(s *session.S) []run.Step { return []run.Step{step(stack(s))} })
}

// e2eStep is ci:flow's share that needs the running stack, started once: the end-to-end tests, the
// client's API tests, then the end-to-end benchmark (a few seconds), whose results ci:flow compares with
// the baseline in its last step.
func e2eStep(s *session.S) run.Step {
	st := stack(s)
	return run.Step{Name: "ci:e2e", Do: func(ctx context.Context, r *run.Runner) error {
		o, err := bench.OptionsFrom(s.Env)
		if err != nil {
			return err
		}
		o.Compare = false
		return r.Serial(ctx, st.Around("ci:stack", func(url string) []run.Step {
			return []run.Step{st.E2ETests(url), rust.ClientTests(s, url), bench.Measured(st, o, url)}
		}))
	}}
}

func tail(ctx context.Context, names ...string) error {
	return do(ctx, func(ctx context.Context, s *session.S) error {
		return stack(s).Supervisor(s.Run).Logs(ctx, os.Stdout, 50, len(names) == 1, names...)
	})
}
