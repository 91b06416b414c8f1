// Package typescript plans the TypeScript worker's tasks
// (workers/typescript): a cdylib with a C ABI loaded by Bun (bun:ffi), Node
// (koffi) and Deno (Deno.dlopen), npm dependencies from the committed
// lockfile, Biome, tsc, and tests on every installed runtime.
package typescript

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/tasker-systems/tasker-build/magefiles/internal/cache"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/junit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/kit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/stamp"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// Worker is the TypeScript worker.
type Worker struct{}

var _ lang.Worker = Worker{}

const dir = "workers/typescript"

func k(s *session.S) kit.Kit {
	kt := kit.Kit{S: s, Ext: workspace.ExtensionFor("typescript"), Dir: dir, KeyTools: []string{"node"}}
	kt.Built = func() []string { return []string{s.Paths.Rel(kt.Library("debug"))} }
	return kt
}

// cmd is a command in workers/typescript that loads the debug library
// from the target directory (CARGO_TARGET_DIR honoured).
func cmd(s *session.S, argv ...string) run.Cmd {
	kt := k(s)
	c := kt.Cmd(argv...)
	c.Env = append(c.Env, "TASKER_FFI_LIBRARY="+kt.Library("debug"))
	return c
}

// probe asks Bun which library it loads and its build id.
func probe(s *session.S) kit.Probe {
	return func() run.Cmd { return cmd(s, "bun", "src/bin/build-id.ts") }
}

// runtime is one JavaScript runtime the worker runs on.
type runtime struct {
	name, tool  string
	ffi, integr string   // its FFI and integration test files
	unit        []string // unit test files it also runs
	// argv is the test command: junit "" for no report, extra the user's
	// TASKER_TEST_ARGS (before the files, where every runtime reads flags).
	argv func(junit string, extra, files []string) []string
}

var denoPerms = []string{"--allow-ffi", "--allow-read", "--allow-env", "--allow-net=127.0.0.1", "--allow-run"}

// runtimes: Bun runs the unit tests too; Node runs the tsc output.
var runtimes = []runtime{
	{name: "bun", tool: "bun", ffi: "./test/bun/ffi.test.ts", integr: "./test/bun/integration.test.ts", unit: []string{"./test/unit"},
		argv: func(junit string, extra, files []string) []string {
			argv := append([]string{"bun", "test"}, extra...)
			if junit != "" {
				argv = append(argv, "--reporter=junit", "--reporter-outfile="+junit)
			}
			return append(argv, files...)
		}},
	{name: "node", tool: "node", ffi: "dist/test/node/ffi.node.js", integr: "dist/test/node/integration.node.js",
		argv: func(junit string, extra, files []string) []string {
			argv := append([]string{"node", "--test"}, extra...)
			if junit != "" {
				argv = append(argv, "--test-reporter=spec", "--test-reporter-destination=stdout",
					"--test-reporter=junit", "--test-reporter-destination="+junit)
			}
			return append(argv, files...)
		}},
	{name: "deno", tool: "deno", ffi: "test/deno/ffi.deno.ts", integr: "test/deno/integration.deno.ts",
		argv: func(junit string, extra, files []string) []string {
			argv := append(append([]string{"deno", "test"}, denoPerms...), extra...)
			if junit != "" {
				argv = append(argv, "--junit-path="+junit)
			}
			return append(argv, files...)
		}},
}

// installed reports whether the runtime is on the worker's PATH.
func (rt runtime) installed(kt kit.Kit) bool { return toolchain.Require(kt.PATH(), rt.tool) == nil }

func (Worker) Name() string { return "typescript" }

// Setup installs the npm dependencies from the lockfile (npm ci: Bun, Deno,
// Biome, TypeScript, koffi); skipped while package-lock.json is unchanged.
func (Worker) Setup(s *session.S) []run.Step {
	kt := k(s)
	key := func() (string, error) {
		return stamp.Hash(s.Paths.Abs(dir), nil, []string{"package.json", "package-lock.json"}, kt.ToolKey("node", "npm"))
	}
	ready := func(context.Context, *run.Runner, string) bool { return kt.Exists(dir + "/node_modules/.bin/bun") }
	return []run.Step{kt.Setup([]string{"node", "npm"}, key, ready, func(ctx context.Context, r *run.Runner, _ string) error {
		return r.Run(ctx, kt.Cmd("npm", "ci", "--no-audit", "--no-fund"))
	})}
}

// Build compiles the cdylib (skipped while Bun already loads the current
// build) and the TypeScript for Node (skipped while the sources are unchanged).
func (Worker) Build(s *session.S) []run.Step {
	kt := k(s)
	native := kt.Build([]string{"cargo", "bun"}, probe(s), func(ctx context.Context, r *run.Runner, id string) error {
		return r.Run(ctx, kt.Cargo(id, false))
	})
	key := func() (string, error) {
		return stamp.Hash(s.Paths.Abs(dir), nil, []string{"src", "test", "tsconfig.json", "tsconfig.build.json", "package-lock.json"})
	}
	built := func(context.Context, *run.Runner, string) bool { return kt.Exists(dir + "/dist") }
	ts := kt.Stamped("buildTs", false, []string{"tsc"}, key, built, kt.Restorable("buildTs", []string{"tsc"}, nil, []string{dir + "/dist"}, func(ctx context.Context, r *run.Runner, _ string) error {
		return r.Run(ctx, kt.Cmd("tsc", "-p", "tsconfig.build.json"))
	}))
	return []run.Step{native, ts}
}

// BuildRelease compiles the cdylib with the release profile (run the
// worker with TASKER_FFI_LIBRARY pointing at it).
func (Worker) BuildRelease(s *session.S) []run.Step {
	kt := k(s)
	return []run.Step{kt.Release([]string{"cargo"}, func(ctx context.Context, r *run.Runner, id string) error {
		if err := r.Run(ctx, kt.Cargo(id, true)); err != nil {
			return err
		}
		r.Infof("release library: %s (run with TASKER_FFI_LIBRARY=%s)", kt.Library("release"), kt.Library("release"))
		return nil
	})}
}

func (Worker) Format(s *session.S) []run.Step {
	kt := k(s)
	return []run.Step{kt.Tool("format", []string{"biome"}, kt.Cmd("biome", "format", "."))}
}

func (Worker) FormatFix(s *session.S) []run.Step {
	kt := k(s)
	return []run.Step{kt.Tool("formatFix", []string{"biome"}, kt.Cmd("biome", "format", "--write", "."))}
}

// Lint runs Biome's linter (and import sorting) and clippy on the cdylib.
func (Worker) Lint(s *session.S) []run.Step {
	kt := k(s)
	return []run.Step{kt.Tool("lint", []string{"biome"}, kt.Cmd("biome", "check", "--formatter-enabled=false", ".")), kt.Lint()}
}

func (Worker) LintFix(s *session.S) []run.Step {
	kt := k(s)
	return []run.Step{kt.Tool("lintFix", []string{"biome"}, kt.Cmd("biome", "check", "--formatter-enabled=false", "--write", "."))}
}

// Typecheck runs tsc --noEmit (tsconfig.json) and deno check on the Deno entry points.
func (Worker) Typecheck(s *session.S) []run.Step {
	kt := k(s)
	deno := append([]string{"deno", "check"}, "src/bin/worker.ts", "src/bin/build-id.ts", "src/ffi/deno.ts", "src/index.ts",
		"test/deno/ffi.deno.ts", "test/deno/integration.deno.ts")
	return []run.Step{kt.Tool("typecheck", []string{"tsc", "deno"}, kt.Cmd("tsc", "-p", "tsconfig.json"), kt.Cmd(deno...))}
}

func (Worker) Verify(s *session.S) []run.Step {
	return []run.Step{k(s).Verify([]string{"bun"}, probe(s))}
}

// perRuntime makes one step per runtime running its files; a runtime that
// is not installed is reported as skipped, never as passed.
func perRuntime(s *session.S, action string, files func(runtime) []string) []run.Step {
	kt := k(s)
	var steps []run.Step
	for _, rt := range runtimes {
		c := cmd(s, rt.argv("", s.TestArgs, files(rt))...)
		extra := func() cache.Spec { return cache.Spec{Cmds: []run.Cmd{c}, Tools: []string{rt.tool}} }
		steps = append(steps, kt.Cached(action+":"+rt.name, false, nil, extra, func(ctx context.Context, r *run.Runner) error {
			if !rt.installed(kt) {
				return run.Skip(rt.tool + " is not installed (mage typescript:setup installs it from npm)")
			}
			return r.Run(ctx, c)
		}))
	}
	return steps
}

// Test runs the unit tests (Bun) and the FFI tests on every runtime.
func (Worker) Test(s *session.S) []run.Step {
	return perRuntime(s, "test", func(rt runtime) []string { return append(rt.unit, rt.ffi) })
}

func (Worker) TestFfi(s *session.S) []run.Step {
	return perRuntime(s, "testFfi", func(rt runtime) []string { return []string{rt.ffi} })
}

// TestCi runs the unit and FFI tests on every runtime, each writing JUnit,
// merged into target/typescript-framework-results.xml.
func (Worker) TestCi(s *session.S) []run.Step {
	return []run.Step{reported(s, "testCi", "framework", nil, func(rt runtime) []string { return append(rt.unit, rt.ffi) })}
}

func (Worker) TestIntegration(s *session.S, databaseURL string) []run.Step {
	env := db.ChildEnv(databaseURL) // split: PGMQ_DATABASE_URL names the queue's clone
	return []run.Step{reported(s, "testIntegration", "integration", env, func(rt runtime) []string { return []string{rt.integr} })}
}

// reported runs every installed runtime (all of them, even after a
// failure, so the report is complete), merges their JUnit reports into the
// worker's report of kind and fails naming each failed runtime and test.
func reported(s *session.S, action, kind string, env []string, files func(runtime) []string) run.Step {
	kt := k(s)
	extra := func() cache.Spec {
		sp := cache.Spec{Outputs: []string{s.Paths.Rel(kt.JUnitPath(kind))}}
		for _, rt := range runtimes {
			sp.Tools = append(sp.Tools, rt.tool)
		}
		return sp
	}
	return kt.Cached(action, false, nil, extra, func(ctx context.Context, r *run.Runner) error {
		var inputs []junit.Input
		var errs []error
		for _, rt := range runtimes {
			if !rt.installed(kt) {
				r.Warnf("%s is not installed: its tests are skipped", rt.tool)
				continue
			}
			path := kt.JUnitPath(kind + "-" + rt.name)
			c := cmd(s, rt.argv(path, s.TestArgs, files(rt))...)
			c.Env = append(c.Env, env...)
			if err := kt.Reported(ctx, r, path, c); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", rt.name, err))
			}
			if _, err := os.Stat(path); err == nil {
				inputs = append(inputs, junit.Input{Label: rt.name, Path: path})
			}
			if ctx.Err() != nil {
				break
			}
		}
		if len(inputs) > 0 && !r.DryRun() {
			if err := junit.Merge(kt.JUnitPath(kind), inputs); err != nil {
				errs = append(errs, err)
			} else {
				r.Infof("JUnit report: %s (%d runtimes)", kt.JUnitPath(kind), len(inputs))
			}
		}
		if len(errs) > 0 {
			return fail.Wrap(fail.Failed, errors.Join(errs...), "typescript tests failed")
		}
		return nil
	})
}

func (Worker) Clean(s *session.S) []run.Step {
	return []run.Step{k(s).Clean(dir + "/dist")}
}

func (w Worker) Run(s *session.S) []run.Step {
	return []run.Step{k(s).Tool("run", []string{"bun"}, w.Serve(s))}
}

// Serve is the worker process on Bun.
func (Worker) Serve(s *session.S) run.Cmd { return cmd(s, "bun", "src/bin/worker.ts") }
