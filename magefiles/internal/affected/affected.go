// Package affected maps the files a change touched to the areas (rust and
// the language workers) whose checks it can change the outcome of, each
// with the reason: crates reach the Rust area and, through their reverse
// workspace dependencies, every worker whose native extension builds on
// them; a worker's own files reach that worker; migrations reach every area
// (each has integration tests on the database) and so do the build's own
// files. MAGE_SINCE=<git ref> narrows the root aggregates and ci: targets
// to the affected areas.
package affected

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// SinceEnv names the git ref a change is measured from.
const SinceEnv = "MAGE_SINCE"

// Crate is one workspace package: its directory relative to the root and
// the workspace packages it depends on.
type Crate struct {
	Name, Dir string
	Deps      []string
}

// Graph is what the mapping needs to know about the repository.
type Graph struct {
	Crates  []Crate
	Workers map[string]string // worker area → its native extension's package
	Rust    string            // the Rust area's name
}

// everything are paths whose change reaches every area: the build itself
// (its code, tool pins, CI, the workspace manifest and lock) and the
// migrations every area's integration tests run on.
var everything = []struct{ prefix, why string }{
	{"magefiles/", "the build system changed"},
	{"go.mod", "the build system's dependencies changed"},
	{"go.sum", "the build system's dependencies changed"},
	{".env.example", "the build system's variables changed"},
	{".ci/", "the CI entry point changed"},
	{".github/", "the CI workflow changed"},
	{".config/", "tool configuration changed"},
	{"Cargo.toml", "the Cargo workspace changed"},
	{"Cargo.lock", "Cargo.lock changed"},
	{"db/", "the migrations changed (every area's integration tests use them)"},
	{".sqlx/", "the sqlx query cache changed (tasker-orchestration's queries; every extension depends on it)"},
}

// Areas maps the changed files to the affected areas of all, each with
// the first reason found. Documentation (*.md outside crates and workers)
// reaches nothing; any other file outside the known places reaches every
// area, to be safe.
func (g Graph) Areas(files []string, all []string) map[string]string {
	out := map[string]string{}
	add := func(area, why string) {
		if _, ok := out[area]; !ok && slices.Contains(all, area) {
			out[area] = why
		}
	}
	for _, f := range files {
		f = filepath.ToSlash(f)
		switch crate, worker, everyWhy := g.locate(f); {
		case everyWhy != "":
			for _, a := range all {
				add(a, f+": "+everyWhy)
			}
		case worker != "":
			add(worker, f+" changed")
		case crate != nil:
			add(g.Rust, crate.Name+" changed ("+f+")")
			for w, ext := range g.Workers {
				if ext != crate.Name && g.dependsOn(ext, crate.Name) {
					add(w, fmt.Sprintf("its extension %s depends on %s (%s)", ext, crate.Name, f))
				}
			}
		case strings.HasSuffix(f, ".md") && !strings.Contains(f, "/"):
		default:
			for _, a := range all {
				add(a, f+" changed (outside the known areas)")
			}
		}
	}
	return out
}

// locate says what f belongs to: a crate, a worker's directory, or a
// place every area depends on (then why).
func (g Graph) locate(f string) (crate *Crate, worker, everyWhy string) {
	for _, e := range everything {
		if f == e.prefix || strings.HasPrefix(f, e.prefix) && strings.HasSuffix(e.prefix, "/") {
			return nil, "", e.why
		}
	}
	for w := range g.Workers {
		if strings.HasPrefix(f, "workers/"+w+"/") {
			return nil, w, ""
		}
	}
	best := -1
	for i, c := range g.Crates {
		if strings.HasPrefix(f, c.Dir+"/") && (best < 0 || len(c.Dir) > len(g.Crates[best].Dir)) {
			best = i
		}
	}
	if best >= 0 {
		return &g.Crates[best], "", ""
	}
	return nil, "", ""
}

// dependsOn reports whether package from depends on package to, directly
// or through other workspace packages.
func (g Graph) dependsOn(from, to string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(name string) bool {
		if seen[name] {
			return false
		}
		seen[name] = true
		for _, c := range g.Crates {
			if c.Name != name {
				continue
			}
			for _, d := range c.Deps {
				if d == to || walk(d) {
					return true
				}
			}
		}
		return false
	}
	return walk(from)
}

// Closure is the directories of the crate named name and of every
// workspace crate it depends on, directly or not (sorted; nil for an
// unknown name).
func (g Graph) Closure(name string) []string {
	seen := map[string]bool{}
	var dirs []string
	var walk func(string)
	walk = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, c := range g.Crates {
			if c.Name == n {
				dirs = append(dirs, c.Dir)
				for _, d := range c.Deps {
					walk(d)
				}
			}
		}
	}
	walk(name)
	sort.Strings(dirs)
	return dirs
}

// ReadCrates reads the workspace packages from `cargo metadata --no-deps`
// output, directories relative to root.
func ReadCrates(metadata []byte, root string) ([]Crate, error) {
	m, err := workspace.ReadMetadata(metadata)
	if err != nil {
		return nil, err
	}
	var out []Crate
	for _, p := range m.Packages {
		dir, err := p.Dir(root)
		if err != nil {
			return nil, err
		}
		out = append(out, Crate{Name: p.Name, Dir: dir, Deps: p.WorkspaceDeps()})
	}
	return out, nil
}

// Changed lists the files changed since ref: committed since the merge
// base with ref, changed in the working tree, and untracked (not ignored).
func Changed(ctx context.Context, r *run.Runner, root, ref string) ([]string, error) {
	git := func(args ...string) ([]string, error) {
		out, err := r.Output(ctx, run.Cmd{Argv: append([]string{"git"}, args...), Dir: root})
		if err != nil {
			return nil, err
		}
		var names []string
		for _, line := range strings.Split(out, "\n") {
			if line != "" {
				names = append(names, line)
			}
		}
		return names, nil
	}
	if _, err := git("rev-parse", "--verify", "--quiet", ref+"^{commit}"); err != nil {
		return nil, fail.New(fail.Config, "%s=%q is not a commit here; give a branch, tag or sha (fetch it first in a shallow clone)", SinceEnv, ref)
	}
	var files []string
	for _, args := range [][]string{{"diff", "--name-only", ref + "...HEAD"}, {"diff", "--name-only", "HEAD"}, {"ls-files", "--others", "--exclude-standard"}} {
		fs, err := git(args...)
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	sort.Strings(files)
	return slices.Compact(files), nil
}

// Load builds this workspace's graph: its crates from `cargo metadata
// --no-deps` (no compile) and each worker's extension.
func Load(ctx context.Context, s *session.S) (Graph, error) {
	meta, err := s.Run.Output(ctx, s.Cmd(".", "cargo", "metadata", "--no-deps", "--format-version", "1"))
	if err != nil {
		return Graph{}, err
	}
	crates, err := ReadCrates([]byte(meta), s.Paths.Root)
	if err != nil {
		return Graph{}, err
	}
	g := Graph{Crates: crates, Rust: "rust", Workers: map[string]string{}}
	for _, e := range workspace.Extensions {
		g.Workers[e.Worker] = e.Package
	}
	return g, nil
}

// Select narrows names (areas, "rust" the Rust one) to those a change since
// SinceEnv reaches, printing each with its reason and the ones left out;
// without SinceEnv it returns names unchanged.
func Select(ctx context.Context, s *session.S, names []string) ([]string, error) {
	ref := strings.TrimSpace(s.Env.Get(SinceEnv))
	if ref == "" {
		return names, nil
	}
	files, err := Changed(ctx, s.Run, s.Paths.Root, ref)
	if err != nil {
		return nil, err
	}
	g, err := Load(ctx, s)
	if err != nil {
		return nil, err
	}
	why := g.Areas(files, names)
	var out []string
	for _, n := range names {
		if r, ok := why[n]; ok {
			s.Run.Infof("affected since %s: %s (%s)", ref, n, r)
			out = append(out, n)
		} else {
			s.Run.Infof("not affected since %s: %s (skipped)", ref, n)
		}
	}
	return out, nil
}
