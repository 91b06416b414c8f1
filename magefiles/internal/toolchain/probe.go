package toolchain

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// probeTimeout bounds one version probe, so a hung tool cannot hang doctor.
var probeTimeout = 10 * time.Second

// doctorJobs is how many probes Doctor runs at once.
const doctorJobs = 4

// States a Status can be in.
const (
	StateOK       = "ok"
	StateMissing  = "missing"
	StateDegraded = "degraded" // missing, but the build falls back (Tool.Degraded)
	StateOptional = "optional" // missing, and nothing needs it
)

// Status is the outcome of probing one tool. Path is set when the binary was
// found; Err when it was not or its version probe failed (a rustup proxy
// without its component, a pyenv shim without the package).
type Status struct {
	Tool    Tool
	Path    string
	Version string
	Origin  string // where it came from (Installer.Origin)
	Err     error
}

// State classifies s: ok, or for an unusable tool degraded, optional or
// missing, in that order.
func (s Status) State() string {
	switch {
	case s.Err == nil:
		return StateOK
	case s.Tool.Degraded != "":
		return StateDegraded
	case s.Tool.Optional:
		return StateOptional
	}
	return StateMissing
}

// Probe finds t (LookPath, or its Locate function) and runs `Bin
// VersionArgs...` in dir (absolute) with PATH=pathEnv, keeping the first
// line of its output as the version.
func Probe(ctx context.Context, r *run.Runner, dir, pathEnv string, t Tool) Status {
	st := Status{Tool: t}
	if t.Locate != nil {
		st.Path, st.Err = t.Locate(ctx, r, pathEnv)
		return st
	}
	st.Path, st.Err = LookPath(pathEnv, t.Bin)
	if st.Err != nil {
		return st
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	c := run.Cmd{Argv: append([]string{st.Path}, t.VersionArgs...), Dir: dir}
	if pathEnv != "" {
		c.Env = []string{"PATH=" + pathEnv}
	}
	out, err := r.Output(ctx, c)
	if err != nil {
		st.Err = fmt.Errorf("found %s, but it does not run: %w", st.Path, err)
		return st
	}
	st.Version, _, _ = strings.Cut(strings.TrimSpace(out), "\n")
	st.Version = strings.TrimSpace(st.Version)
	return st
}

// Doctor probes every registered tool, doctorJobs at a time, and returns
// their statuses in registry order, each with where it came from.
func Doctor(ctx context.Context, r *run.Runner, in *Installer, pathEnv string) []Status {
	out := make([]Status, len(Tools))
	sem := make(chan struct{}, doctorJobs)
	var wg sync.WaitGroup
	for i, t := range Tools {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = Probe(ctx, r, in.Root, pathEnv, t)
			if out[i].Err == nil {
				out[i].Origin = in.Origin(t, out[i].Path)
			}
		})
	}
	wg.Wait()
	return out
}

// Require checks that the named executables are on pathEnv (LookPath only,
// no probe, no install: Installer.Need installs). Otherwise it returns a
// fail.MissingTool error of one line naming each missing tool with its
// install commands, e.g. "missing tool cargo-nextest: install with `mage
// setup` or `cargo install cargo-nextest --locked`".
func Require(pathEnv string, names ...string) error {
	var missing []string
	for _, name := range names {
		t, ok := Find(name)
		if !ok {
			return fmt.Errorf("toolchain: unknown tool %q", name)
		}
		if _, err := LookPath(pathEnv, t.Bin); err != nil {
			missing = append(missing, missingLine(t, Here()))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fail.New(fail.MissingTool, "%s", strings.Join(missing, "; "))
}

// missingLine is "missing tool NAME: install with `CMD`".
func missingLine(t Tool, p Platform) string {
	if hint := t.hintFor(p); hint != "" {
		return fmt.Sprintf("missing tool %s: install with %s", t.Name, hint)
	}
	return "missing tool " + t.Name
}
