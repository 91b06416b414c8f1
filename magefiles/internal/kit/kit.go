// Package kit is the machinery the language workers share: steps that run
// the worker's own tools, the native extension's build id, stamped
// (skippable) setup and build steps, the freshness check and JUnit output.
// Each worker package (python, ruby, typescript) describes its commands and
// kit turns them into runner steps.
package kit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/cache"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/stamp"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// Kit is one worker in one session.
type Kit struct {
	S   *session.S
	Ext workspace.Extension
	Dir string // the worker's directory, relative to the root: "workers/python"
	// CargoEnv, if set, is extra environment for cargo on the extension
	// crate, so that lint and build agree and cargo does not rebuild
	// between them. It is called when the command runs (after setup).
	CargoEnv func() []string
	// ZeroBasedLines says the test runner's JUnit reports count lines from
	// 0 (pytest); annotations need 1-based lines.
	ZeroBasedLines bool
	// KeyTools are the runtimes whose versions every cached action of the
	// worker depends on (its interpreter, say).
	KeyTools []string
	// Built are the files the build writes where the language loads them
	// (relative to the root): what the cache restores instead of compiling.
	Built func() []string
}

// PATH is the PATH the worker's tools run with: its own tool directories
// first, then the session's PATH.
func (k Kit) PATH() string {
	parts := make([]string, 0, len(k.Ext.Bin)+1)
	for _, b := range k.Ext.Bin {
		parts = append(parts, k.S.Paths.Abs(b))
	}
	return strings.Join(append(parts, k.S.PATH()), string(os.PathListSeparator))
}

// Cmd is a command in the worker's directory with the worker's PATH.
func (k Kit) Cmd(argv ...string) run.Cmd {
	c := k.S.Cmd(k.Dir, argv...)
	if len(k.Ext.Bin) > 0 {
		c.Env = []string{"PATH=" + k.PATH()}
	}
	return c
}

// cargoEnv is CargoEnv's value now.
func (k Kit) cargoEnv() []string {
	if k.CargoEnv == nil {
		return nil
	}
	return k.CargoEnv()
}

// Name is the step name for an action: "python:lint".
func (k Kit) Name(action string) string { return k.Ext.Worker + ":" + action }

// Tool is a step that checks tools (exit 3 naming the install command when
// one is missing) and runs commands in order; a check or test goes through
// the action cache.
func (k Kit) Tool(action string, tools []string, cmds ...run.Cmd) run.Step {
	return k.Cached(action, false, tools, func() cache.Spec { return cache.Spec{Cmds: cmds} }, func(ctx context.Context, r *run.Runner) error {
		return RunAll(ctx, r, cmds...)
	})
}

// RunAll runs commands in order, stopping at the first failure.
func RunAll(ctx context.Context, r *run.Runner, cmds ...run.Cmd) error {
	for _, c := range cmds {
		if err := r.Run(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// Do is a step that checks tools (installing them under CI=true or
// TASKER_INSTALL=1), then runs fn. Heavy steps compile.
func (k Kit) Do(action string, heavy bool, tools []string, fn func(context.Context, *run.Runner) error) run.Step {
	return k.Cached(action, heavy, tools, nil, fn)
}

// Cached is Do through the action cache when action is one it records
// (see Cacheable) and extra is given: extra says what fn runs and writes
// beyond what every action of the worker reads. The key is taken after
// the tools are checked, so a tool installed on the way is keyed as
// installed.
func (k Kit) Cached(action string, heavy bool, tools []string, extra func() cache.Spec, fn func(context.Context, *run.Runner) error) run.Step {
	return run.Step{Name: k.Name(action), Heavy: heavy, Do: func(ctx context.Context, r *run.Runner) error {
		if err := k.S.Need(ctx, r, k.PATH(), tools...); err != nil {
			return err
		}
		if extra == nil || !Cacheable(action) {
			return fn(ctx, r)
		}
		return k.S.Cache.Do(ctx, r, k.Spec(action, tools, extra()), fn)
	}}
}

// Cacheable says whether the cache records action ("test:bun" is a test):
// checks, tests and builds, never fixes, runs or integration tests (they
// depend on a database's state).
func Cacheable(action string) bool {
	base, _, _ := strings.Cut(action, ":")
	switch base {
	case "format", "lint", "lintRust", "typecheck", "test", "testFfi", "testCi", "build", "buildTs":
		return true
	}
	return false
}

// Spec is what the worker's action reads: the worker's files (for the
// extension's build, only its crate's), its runtimes and tools, and for
// what loads or builds the native extension the Rust it is compiled from;
// extra adds commands, tools and outputs.
func (k Kit) Spec(action string, tools []string, extra cache.Spec) cache.Spec {
	sp := extra
	sp.Name = k.Name(action)
	sp.PATH = k.PATH()
	sp.Inputs = append([]cache.Input{{Path: k.Dir}}, extra.Inputs...)
	sp.Tools = append(append(append([]string(nil), k.KeyTools...), tools...), extra.Tools...)
	sp.Env = append([]string{"TASKER_TEST_ARGS"}, extra.Env...)
	base, _, _ := strings.Cut(action, ":")
	if base == "build" { // the extension alone: a worker's test or script change keeps the build
		sp.Inputs = extra.Inputs
	}
	switch base {
	case "test", "testFfi", "testCi", "lintRust", "build":
		sp.Inputs = append(sp.Inputs, cache.ExtensionInputs(k.Ext)...)
		sp.Env = append(sp.Env, cache.RustEnv...)
		sp.Tools = append(sp.Tools, "cargo", "rustc")
	}
	return sp
}

// Stamp is the worker's stamp for kind ("setup", "build").
func (k Kit) Stamp(kind string) stamp.Stamp {
	return stamp.Stamp{Path: k.S.Paths.State("stamps", k.Ext.Worker+"-"+kind)}
}

// Stamped is a step that is skipped while key(inputs) matches the stamp
// saved by its last success and ok(key), if given, holds (the output still
// exists, say).
func (k Kit) Stamped(action string, heavy bool, tools []string, key func() (string, error), ok func(context.Context, *run.Runner, string) bool, fn func(context.Context, *run.Runner, string) error) run.Step {
	return k.Do(action, heavy, tools, k.stamped(action, key, ok, fn))
}

// Setup is the worker's setup step: it installs the system tools the
// worker needs (a setup target always installs what it can), then runs fn
// unless the stamp matches key (its lock file and the tools it runs, say)
// and ok holds.
func (k Kit) Setup(tools []string, key func() (string, error), ok func(context.Context, *run.Runner, string) bool, fn func(context.Context, *run.Runner, string) error) run.Step {
	install := k.stamped("setup", key, ok, fn)
	return run.Step{Name: k.Name("setup"), Do: func(ctx context.Context, r *run.Runner) error {
		if err := k.S.Install(ctx, r, k.PATH(), tools...); err != nil {
			return err
		}
		return install(ctx, r)
	}}
}

// stamped runs fn unless key's value matches the action's stamp and ok
// holds; it saves the stamp after a success.
func (k Kit) stamped(action string, key func() (string, error), ok func(context.Context, *run.Runner, string) bool, fn func(context.Context, *run.Runner, string) error) func(context.Context, *run.Runner) error {
	st := k.Stamp(action)
	return func(ctx context.Context, r *run.Runner) error {
		want, err := key()
		if err != nil {
			return err
		}
		if !r.DryRun() && st.Matches(want) && (ok == nil || ok(ctx, r, want)) {
			return run.Skip("up to date (" + want + ")")
		}
		if err := st.Clear(); err != nil {
			return err
		}
		err = fn(ctx, r, want)
		var hit *run.CachedError
		if err != nil && !errors.As(err, &hit) || r.DryRun() {
			return err
		}
		if serr := st.Save(want); serr != nil {
			return serr
		}
		return err // nil, or the cache hit that stands for the run
	}
}

// ToolKey identifies the named executables as found on the session's PATH
// (resolved path, size and modification time), for stamp keys: a setup
// reruns when a tool is upgraded or another one is found, not when PATH
// merely gains an unrelated directory (as `go tool` adds $GOROOT/bin). The
// worker's own tool directories are left out: setup fills them.
func (k Kit) ToolKey(bins ...string) string {
	parts := make([]string, len(bins))
	for i, b := range bins {
		parts[i] = b + "=" + stamp.Executable(k.S.PATH(), b)
	}
	return strings.Join(parts, ";")
}

// Exists reports whether a path relative to the root exists.
func (k Kit) Exists(rel string) bool {
	_, err := os.Stat(k.S.Paths.Abs(rel))
	return err == nil
}

// Remove deletes paths relative to the root (a no-op for missing ones).
func (k Kit) Remove(r *run.Runner, rels ...string) error {
	for _, rel := range rels {
		if !k.Exists(rel) {
			continue
		}
		r.Infof("removing %s", rel)
		if r.DryRun() {
			continue
		}
		if err := os.RemoveAll(k.S.Paths.Abs(rel)); err != nil {
			return err
		}
	}
	return nil
}

// LibraryFile is the file name cargo gives a cdylib here.
func LibraryFile(lib string) string { return libraryFile(runtime.GOOS, lib) }

// libraryFile is cargo's cdylib name on goos: libNAME.so, libNAME.dylib on
// macOS, NAME.dll on Windows.
func libraryFile(goos, lib string) string {
	switch goos {
	case "darwin":
		return "lib" + lib + ".dylib"
	case "windows":
		return lib + ".dll"
	}
	return "lib" + lib + ".so"
}

// Library is the extension cargo builds with profile ("debug" or "release").
func (k Kit) Library(profile string) string {
	return filepath.Join(k.S.TargetDir(profile), LibraryFile(k.Ext.Lib))
}

// Clean removes the extension's cargo outputs, forgets the build stamp and
// removes paths (relative to the root).
func (k Kit) Clean(paths ...string) run.Step {
	return k.Do("clean", false, []string{"cargo"}, func(ctx context.Context, r *run.Runner) error {
		if err := r.Run(ctx, k.S.Cmd(".", "cargo", "clean", "-p", k.Ext.Package)); err != nil {
			return err
		}
		if err := k.Stamp("build").Clear(); err != nil {
			return err
		}
		return k.Remove(r, paths...)
	})
}
