package kit

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/annotate"
	"github.com/tasker-systems/tasker-build/magefiles/internal/atomicfile"
	"github.com/tasker-systems/tasker-build/magefiles/internal/cache"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/stamp"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// BuildIDEnv is the variable the extensions read at compile time
// (option_env!) and report at run time as their BUILD_ID.
const BuildIDEnv = "TASKER_BUILD_ID"

// BuildID hashes everything the extension is compiled from: the shared
// crates, the extension crate and the workspace manifest and lock file.
func (k Kit) BuildID() (string, error) {
	return stamp.Hash(k.S.Paths.Root, workspace.RustSource, []string{"crates", k.Ext.Dir, "Cargo.toml", "Cargo.lock"})
}

// Cargo builds the extension crate with the build id compiled in.
func (k Kit) Cargo(id string, release bool) run.Cmd {
	c := k.S.Cmd(".", "cargo", "build", "-p", k.Ext.Package)
	if release {
		c.Argv = append(c.Argv, "--release")
	}
	c.Env = append([]string{BuildIDEnv + "=" + id}, k.cargoEnv()...)
	return c
}

// Probe asks the language which extension it loads: the command prints
// "<build id> <path>", or a JSON object with buildId and path.
type Probe func() run.Cmd

// Loaded runs the probe and returns the build id and path it reports.
func (k Kit) Loaded(ctx context.Context, r *run.Runner, probe Probe) (id, path string, err error) {
	out, err := r.Output(ctx, probe())
	if err != nil {
		return "", "", err
	}
	var loaded struct{ BuildID, Path string }
	if json.Unmarshal([]byte(out), &loaded) == nil && loaded.BuildID != "" {
		return loaded.BuildID, loaded.Path, nil
	}
	fields := strings.Fields(out)
	if len(fields) < 2 {
		return "", "", fail.New(fail.Failed, "%s: the extension probe printed %q, want \"<build id> <path>\" or {\"buildId\", \"path\"}", k.Ext.Worker, out)
	}
	return fields[0], fields[1], nil
}

// Verify is the freshness check: the extension the language really loads
// must report the build id of the current Rust sources. A stale copy that
// shadows the fresh build is named, with what to do.
func (k Kit) Verify(tools []string, probe Probe) run.Step {
	return k.Do("verify", false, tools, func(ctx context.Context, r *run.Runner) error {
		want, err := k.BuildID()
		if err != nil {
			return err
		}
		if r.DryRun() {
			return r.Run(ctx, probe())
		}
		got, path, err := k.Loaded(ctx, r, probe)
		if err != nil {
			return fail.Wrap(fail.Failed, err, "%s cannot load its native extension; run `mage %s:build`", k.Ext.Worker, k.Ext.Worker)
		}
		if got != want {
			return fail.New(fail.Failed,
				"%s loads a stale native extension %s (build %s; the Rust sources are build %s): run `mage %s:build`, and delete that file if the build does not replace it",
				k.Ext.Worker, path, got, want, k.Ext.Worker)
		}
		r.Infof("%s loads %s (build %s, current)", k.Ext.Worker, path, got)
		return nil
	})
}

// Fresh reports whether the probe sees the given build id.
func (k Kit) Fresh(ctx context.Context, r *run.Runner, probe Probe, id string) bool {
	got, _, err := k.Loaded(ctx, r, probe)
	return err == nil && got == id
}

// Build is the stamped build step: skipped while the Rust sources hash to
// the build id the language already loads; otherwise the files the build
// writes (Built) are restored from the action cache or build(id) runs.
func (k Kit) Build(tools []string, probe Probe, build func(context.Context, *run.Runner, string) error) run.Step {
	fresh := func(ctx context.Context, r *run.Runner, id string) bool { return k.Fresh(ctx, r, probe, id) }
	var outputs []string
	if k.Built != nil {
		outputs = k.Built()
	}
	return k.Stamped("build", true, tools, k.BuildID, fresh, k.Restorable("build", tools, probe, outputs, build))
}

// Restorable makes a stamped step's work go through the action cache: on
// a hit the outputs are restored and, when probe is given, the language
// must load them, or the work runs after all (a restored file the
// language does not pick up is no build). Without outputs it is fn.
func (k Kit) Restorable(action string, tools []string, probe Probe, outputs []string, fn func(context.Context, *run.Runner, string) error) func(context.Context, *run.Runner, string) error {
	if len(outputs) == 0 {
		return fn
	}
	return func(ctx context.Context, r *run.Runner, id string) error {
		sp := k.Spec(action, tools, cache.Spec{Outputs: outputs})
		err := k.S.Cache.Do(ctx, r, sp, func(ctx context.Context, r *run.Runner) error { return fn(ctx, r, id) })
		var hit *run.CachedError
		if errors.As(err, &hit) && probe != nil && !k.Fresh(ctx, r, probe, id) {
			r.Infof("%s: the language does not load the restored %s; building", k.Name(action), strings.Join(outputs, ", "))
			return fn(ctx, r, id)
		}
		return err
	}
}

// Release is the buildRelease step: it checks tools and runs fn with the
// build id of the current Rust sources.
func (k Kit) Release(tools []string, fn func(context.Context, *run.Runner, string) error) run.Step {
	return k.Do("buildRelease", true, tools, func(ctx context.Context, r *run.Runner) error {
		id, err := k.BuildID()
		if err != nil {
			return err
		}
		return fn(ctx, r, id)
	})
}

// Lint runs clippy on the extension crate with warnings denied.
func (k Kit) Lint() run.Step {
	cmd := func() run.Cmd {
		c := k.S.Cmd(".", "cargo", "clippy", "-p", k.Ext.Package, "--all-targets", "--", "-D", "warnings")
		c.Env = k.cargoEnv()
		return annotate.CargoCmd(c, k.S.Run.GitHub())
	}
	extra := func() cache.Spec { return cache.Spec{Cmds: []run.Cmd{cmd()}} }
	return k.Cached("lintRust", true, []string{"cargo", "clippy"}, extra, func(ctx context.Context, r *run.Runner) error {
		return r.Run(ctx, cmd())
	})
}

// Install copies the built library to dst (relative to the root) through a
// temporary file and a rename, so a process that has the old file mapped
// keeps a consistent copy.
func (k Kit) Install(r *run.Runner, src, dst string) error {
	abs := k.S.Paths.Abs(dst)
	r.Infof("installing %s -> %s", src, dst)
	if r.DryRun() {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return fail.Wrap(fail.Failed, err, "the build did not produce %s", src)
	}
	defer in.Close()
	return atomicfile.Write(abs, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}
