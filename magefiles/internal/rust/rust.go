// Package rust plans the Cargo workspace's tasks as runner steps: one
// vocabulary (format, lint, test, ...) for the whole workspace and for each
// crate.
package rust

import (
	"context"
	"slices"
	"sync"

	"github.com/tasker-systems/tasker-build/magefiles/internal/affected"
	"github.com/tasker-systems/tasker-build/magefiles/internal/annotate"
	"github.com/tasker-systems/tasker-build/magefiles/internal/cache"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// Scope selects what a step covers: the whole workspace, or one crate.
type Scope struct {
	s     *session.S
	crate *workspace.Crate
}

// Workspace scopes steps to every crate.
func Workspace(s *session.S) Scope { return Scope{s: s} }

// Crate scopes steps to one crate, looked up by key or package name (an
// unknown name is exit 5 listing the valid ones).
func Crate(s *session.S, name string) (Scope, error) {
	c, err := workspace.CrateByKey(name)
	if err != nil {
		return Scope{}, err
	}
	return Scope{s: s, crate: &c}, nil
}

// name is the step name: "rust:lint" or "pgmq:lint".
func (sc Scope) name(action string) string {
	if sc.crate != nil {
		return sc.crate.Key + ":" + action
	}
	return "rust:" + action
}

// packages is the cargo package selection for the scope.
func (sc Scope) packages() []string {
	if sc.crate != nil {
		return []string{"-p", sc.crate.Package}
	}
	out := []string{"--workspace"}
	for _, e := range workspace.Extensions {
		out = append(out, "--exclude", e.Package)
	}
	return out
}

// cargo makes a step that runs one cargo command at the root after checking
// the tools it needs. Heavy steps (compiles) never overlap.
func (sc Scope) cargo(action string, tools []string, args ...string) run.Step {
	return sc.cargoEnv(action, tools, nil, args...)
}

// cargoEnv is cargo with extra environment variables for the command.
func (sc Scope) cargoEnv(action string, tools, env []string, args ...string) run.Step {
	return sc.cargoCmd(action, tools, func(*run.Runner) run.Cmd {
		c := sc.s.Cmd(".", append([]string{"cargo"}, args...)...)
		c.Env = env
		return c
	})
}

// cargoCmd is a heavy step running the cargo command cmd makes for the
// step's runner, after checking the tools; checks go through the action
// cache.
func (sc Scope) cargoCmd(action string, tools []string, cmd func(*run.Runner) run.Cmd) run.Step {
	return run.Step{Name: sc.name(action), Heavy: true, Do: func(ctx context.Context, r *run.Runner) error {
		if err := sc.s.Need(ctx, r, "", append([]string{"cargo"}, tools...)...); err != nil {
			return err
		}
		c := cmd(r)
		if !cacheable[action] {
			return r.Run(ctx, c)
		}
		return sc.cached(ctx, r, action, tools, c)
	}}
}

// cached runs c through the action cache, recording outputs with its
// success. A dry run only prints c; when cargo metadata cannot be read, c
// runs uncached (cargo then says what is wrong with the workspace).
func (sc Scope) cached(ctx context.Context, r *run.Runner, action string, tools []string, c run.Cmd, outputs ...string) error {
	if r.DryRun() || sc.s.Cache.Off {
		return r.Run(ctx, c)
	}
	sp, err := sc.spec(ctx, action, tools, c)
	if err != nil {
		r.Warnf("%s is not cached: %v", sp.Name, err)
		return r.Run(ctx, c)
	}
	sp.Outputs = outputs
	return sc.s.Cache.Do(ctx, r, sp, func(ctx context.Context, r *run.Runner) error { return r.Run(ctx, c) })
}

// cacheable are the Rust actions the cache records: checks that write
// nothing a later step needs. Builds and docs are left to cargo (its own
// no-op is fast, and sccache shares compiles).
var cacheable = map[string]bool{"format": true, "lint": true, "testDocs": true, "test": true, "testCi": true}

// Inputs are the files every Rust action reads besides its crates: the
// workspace, cargo and tool configuration, nextest's (.config), and the
// migrations (tests and sqlx read them).
func Inputs() []cache.Input {
	return append([]cache.Input{{Path: ".config"}, {Path: "db"}}, cache.RustConfig...)
}

// graphs memoizes cargo metadata's graph per root for this process (one
// mage invocation): each cached step needs it.
var graphs sync.Map

func (sc Scope) graph(ctx context.Context) (affected.Graph, error) {
	if g, ok := graphs.Load(sc.s.Paths.Root); ok {
		return g.(affected.Graph), nil
	}
	g, err := affected.Load(ctx, sc.s)
	if err == nil {
		graphs.Store(sc.s.Paths.Root, g)
	}
	return g, err
}

// spec is what a Rust action of the scope reads: the toolchain, the
// commands, Inputs, and the crates: every workspace member (cargo
// metadata's, test suites included), or for one crate its own files and
// its workspace dependencies'. An extension crate counts with its Rust
// files only (its worker's sources are not Rust's input).
func (sc Scope) spec(ctx context.Context, action string, tools []string, cmds ...run.Cmd) (cache.Spec, error) {
	sp := cache.Spec{Name: sc.name(action), Inputs: Inputs(), Cmds: cmds, Env: cache.RustEnv,
		Tools: append([]string{"cargo", "rustc"}, tools...)}
	g, err := sc.graph(ctx)
	if err != nil {
		return sp, err
	}
	var dirs []string
	if sc.crate != nil {
		dirs = g.Closure(sc.crate.Package)
	} else {
		for _, c := range g.Crates {
			dirs = append(dirs, c.Dir)
		}
	}
	for _, dir := range dirs {
		in := cache.Input{Path: dir}
		if slices.ContainsFunc(workspace.Extensions, func(e workspace.Extension) bool { return e.Dir == dir }) {
			in.Keep = workspace.RustSource
		}
		sp.Inputs = append(sp.Inputs, in)
	}
	return sp, nil
}

// with inserts the package selection after the cargo subcommand:
// with("clippy", "--all-targets") = clippy --workspace --all-targets.
func (sc Scope) with(subcommand string, args ...string) []string {
	out := append([]string{subcommand}, sc.packages()...)
	return append(out, args...)
}

// Build compiles every target of the scope (libraries, binaries, tests).
func (sc Scope) Build() run.Step { return sc.cargo("build", nil, sc.with("build", "--all-targets")...) }

// BuildRelease compiles the scope with the release profile.
func (sc Scope) BuildRelease() run.Step {
	return sc.cargo("buildRelease", nil, sc.with("build", "--release")...)
}

// Format checks formatting without changing files.
func (sc Scope) Format() run.Step {
	return sc.cargo("format", []string{"rustfmt"}, sc.fmtArgs("--", "--check")...)
}

// FormatFix rewrites files with rustfmt.
func (sc Scope) FormatFix() run.Step {
	return sc.cargo("formatFix", []string{"rustfmt"}, sc.fmtArgs()...)
}

func (sc Scope) fmtArgs(extra ...string) []string {
	args := []string{"fmt", "--all"}
	if sc.crate != nil {
		args = []string{"fmt", "-p", sc.crate.Package}
	}
	return append(args, extra...)
}

// Lint runs clippy on all targets and features with warnings denied.
// In GitHub Actions its diagnostics also become annotations.
func (sc Scope) Lint() run.Step {
	args := sc.with("clippy", "--all-targets", "--all-features", "--", "-D", "warnings")
	return sc.cargoCmd("lint", []string{"clippy"}, func(r *run.Runner) run.Cmd {
		return annotate.CargoCmd(sc.s.Cmd(".", append([]string{"cargo"}, args...)...), r.GitHub())
	})
}

// LintFix applies clippy's suggestions (a dirty tree is allowed).
func (sc Scope) LintFix() run.Step {
	return sc.cargo("lintFix", []string{"clippy"}, sc.with("clippy", "--all-targets", "--all-features", "--fix", "--allow-dirty", "--allow-staged")...)
}

// TestDocs runs the documentation tests.
func (sc Scope) TestDocs() run.Step {
	return sc.cargo("testDocs", nil, sc.with("test", "--doc")...)
}

// Docs builds the API documentation with warnings denied.
func (sc Scope) Docs() run.Step {
	return sc.cargoEnv("docs", nil, []string{"RUSTDOCFLAGS=-D warnings"}, sc.with("doc", "--no-deps", "--document-private-items")...)
}

// Clean removes build outputs for the scope.
func (sc Scope) Clean() run.Step {
	args := []string{"clean"}
	if sc.crate != nil {
		args = append(args, "-p", sc.crate.Package)
	}
	return sc.cargo("clean", nil, args...)
}

// Check is format, lint, test and (for the workspace) the doc tests.
func (sc Scope) Check() []run.Step {
	steps := []run.Step{sc.Format(), sc.Lint(), sc.Test(Profile{})}
	if sc.crate == nil {
		steps = append(steps, sc.TestDocs())
	}
	return steps
}

// Fix is formatFix then lintFix.
func (sc Scope) Fix() []run.Step { return []run.Step{sc.FormatFix(), sc.LintFix()} }
