package rust

import (
	"context"

	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
)

// Area is the Rust workspace's share of the root aggregates.
type Area struct{}

var _ lang.Area = Area{}

func (Area) Name() string { return "rust" }

func (Area) Setup(s *session.S) []run.Step { return []run.Step{Workspace(s).Setup()} }
func (Area) Build(s *session.S) []run.Step { return []run.Step{Workspace(s).Build()} }
func (Area) Check(s *session.S) []run.Step { return Workspace(s).Check() }
func (Area) Test(s *session.S) []run.Step {
	ws := Workspace(s)
	return []run.Step{ws.Test(Profile{}), ws.TestDocs()}
}
func (Area) Fix(s *session.S) []run.Step   { return Workspace(s).Fix() }
func (Area) Clean(s *session.S) []run.Step { return []run.Step{Workspace(s).Clean()} }

// Setup checks the Rust toolchain, installs cargo-nextest when it is
// missing, and fetches the workspace's dependencies.
func (sc Scope) Setup() run.Step {
	return run.Step{Name: "rust:setup", Heavy: true, Do: func(ctx context.Context, r *run.Runner) error {
		if err := toolchain.Require(sc.s.PATH(), "cargo", "rustfmt", "clippy"); err != nil {
			return err
		}
		if toolchain.Require(sc.s.PATH(), "cargo-nextest") != nil {
			r.Infof("installing cargo-nextest (one-time, a few minutes)")
			if err := r.Run(ctx, sc.s.Cmd(".", "cargo", "install", "cargo-nextest", "--locked")); err != nil {
				return err
			}
		}
		return r.Run(ctx, sc.s.Cmd(".", "cargo", "fetch"))
	}}
}
