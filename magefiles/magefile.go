//go:build mage

// Tasker's build system. Targets share one vocabulary in every namespace:
// build, buildRelease, clean, format, formatFix, lint, lintFix, test,
// testIntegration, testDocs, check, fix, run, setup.
//
// MAGE_DRY_RUN=1 prints the commands instead of running them. `mage -h <target>`
// explains a target; README.md has the environment and exit-code tables.
package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tasker-systems/tasker-build/magefiles/internal/ci"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db"
	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/rust"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
	"github.com/tasker-systems/tasker-build/magefiles/internal/watch"
)

// Aliases are the short forms engineers type most.
var Aliases = map[string]interface{}{
	"c": Check,
	"t": Test,
	"f": Fix,
	"b": Build,
}

// all are the areas the root aggregates and CI fan out to.
var all = append([]lang.Pipeline{rust.Area{}}, lang.AsAreas(workers)...)

// Check verifies every area: format check, lint and tests (Rust: rustfmt, clippy, nextest, doc tests).
func Check(ctx context.Context) error { return fan(ctx, "check", lang.Check) }

// Test runs every area's tests.
func Test(ctx context.Context) error { return fan(ctx, "test", lang.Test) }

// Build compiles every area.
func Build(ctx context.Context) error { return fan(ctx, "build", lang.Build) }

// Fix applies formatters and lint fixes in every area.
func Fix(ctx context.Context) error { return fan(ctx, "fix", lang.Fix) }

// Setup installs what every area needs where it is missing: system packages (apt-get as root or with
// sudo -n; brew on macOS), prebuilt cargo-nextest from PyPI, the PostgreSQL server, and each worker's
// dependencies from its lock file. It prints what it installs and why.
func Setup(ctx context.Context) error {
	return do(ctx, func(ctx context.Context, s *session.S) error {
		return s.Run.Parallel(ctx, append(lang.Fan(s, "setup", lang.Setup, lang.Areas(all)...), db.InstallServer(s))...)
	})
}

// Clean removes build outputs of every area (target/ and the like; never the database).
func Clean(ctx context.Context) error { return fan(ctx, "clean", lang.Clean) }

// PreCommit is the git pre-commit gate: format check and lint.
func PreCommit(ctx context.Context) error {
	return steps(ctx, func(s *session.S) []run.Step {
		ws := rust.Workspace(s)
		return []run.Step{ws.Format(), ws.Lint()}
	})
}

// PrePush is the git pre-push gate: the full check, doc tests included, and the API docs.
func PrePush(ctx context.Context) error {
	return steps(ctx, func(s *session.S) []run.Step {
		return append(lang.Fan(s, "check", lang.Check, lang.Areas(all)...), rust.Workspace(s).Docs())
	})
}

// Doctor lists every tool the build uses: found or missing, version, where it came from, and the
// install command.
func Doctor(ctx context.Context) error {
	return do(ctx, func(ctx context.Context, s *session.S) error {
		toolchain.Report(os.Stdout, toolchain.Doctor(ctx, s.Run, s.Tools, s.Paths.ToolPATH(s.PATH())))
		return nil
	})
}

// Install installs one tool of `mage doctor`'s list where it is missing, optional ones included:
// `mage install sccache`.
func Install(ctx context.Context, tool string) error {
	return do(ctx, func(ctx context.Context, s *session.S) error { return s.Install(ctx, s.Run, "", tool) })
}

// Env prints every variable the build reads, its value (secrets redacted) and where it came from.
func Env(ctx context.Context) error {
	return do(ctx, func(_ context.Context, s *session.S) error {
		env.Print(os.Stdout, s.Env)
		return nil
	})
}

// Watch re-runs the checks of the areas a change reaches whenever files change, until you stop it.
// A burst of saves is one run, after 300 ms of quiet. Each affected area is printed with its
// reason (README.md reaches none), and each run ends with its result and time. A change during a
// run stops it and starts over with everything not yet checked. Build outputs, caches, .tasker,
// .git, files git ignores and editor temp files do not count. Ctrl-C (or SIGTERM) stops the
// running check's processes, then the watch exits with code 130.
func Watch(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	s, err := session.Open()
	if err != nil {
		return err
	}
	return watch.Checks(ctx, s, lang.Areas(all))
}

// do opens a session (repository root, environment, runner), runs fn and
// prints the summary. SIGTERM cancels like Ctrl-C, so children are stopped.
func do(ctx context.Context, fn func(context.Context, *session.S) error) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	s, err := session.Open()
	if err != nil {
		return err
	}
	return s.Finish("mage "+strings.Join(os.Args[1:], " "), fn(ctx, s))
}

// steps runs the steps plan returns, one after another.
func steps(ctx context.Context, plan func(*session.S) []run.Step) error {
	return do(ctx, func(ctx context.Context, s *session.S) error { return s.Run.Serial(ctx, plan(s)...) })
}

// fan runs one root action across the areas, in parallel (compiles take turns).
func fan(ctx context.Context, verb string, action lang.Action) error {
	return do(ctx, func(ctx context.Context, s *session.S) error {
		areas, err := ci.Affected(ctx, s, all)
		if err != nil {
			return err
		}
		return s.Run.Parallel(ctx, lang.Fan(s, verb, action, lang.Areas(areas)...)...)
	})
}
