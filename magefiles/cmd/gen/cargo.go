package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// cargoMetadata runs `cargo metadata --no-deps` at root: it reads the
// manifests and compiles nothing.
func cargoMetadata(root string) ([]byte, error) {
	cmd := exec.Command("cargo", "metadata", "--no-deps", "--format-version", "1")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("cargo metadata: %w", err)
	}
	return out, nil
}

// The generator's names for cargo metadata's parts.
type (
	metadata    = workspace.Metadata
	pkg         = workspace.Package
	cargoTarget = workspace.Target
)

// crate is a workspace.Crate with its description, for its namespace's doc.
type crate struct {
	workspace.Crate
	Description string
}

// readCrates sorts the workspace's members by directory:
//   - crates/tasker-<name> is the crate <name>, workers/<lang> (a language's
//     service) is <lang>Worker; keys are camel-cased ("rust-worker" is
//     rustWorker) and a crate with a binary runs the service of that name;
//   - a cdylib is a language worker's extension and must match its row in
//     workspace.Extensions;
//   - tests/* are test suites, run by rust: targets.
//
// Any other member has no namespace: an error naming it.
func readCrates(data []byte) ([]crate, error) {
	m, err := workspace.ReadMetadata(data)
	if err != nil {
		return nil, err
	}
	var crates []crate
	var errs []error
	members := map[string]bool{}
	for _, p := range m.Packages {
		dir, err := p.Dir(m.WorkspaceRoot)
		if err != nil {
			return nil, err
		}
		members[p.Name] = true
		name, ok := crateName(dir)
		switch {
		case p.Target("cdylib") != "":
			errs = append(errs, checkExtension(p, dir))
		case strings.HasPrefix(dir, "tests/"):
		case !ok:
			errs = append(errs, fmt.Errorf("%s (%s) would have no namespace: put crates in crates/tasker-<name>, a language's service in workers/<lang>, test suites in tests/", p.Name, dir))
		default:
			c := crate{Crate: workspace.Crate{Key: camel(name), Package: p.Name, Dir: dir}, Description: p.Description}
			if p.Target("bin") != "" {
				c.Service = name
			}
			crates = append(crates, c)
		}
	}
	for _, e := range workspace.Extensions {
		if !members[e.Package] {
			errs = append(errs, fmt.Errorf("workspace.Extensions: %s (worker %s) is not a member of the Cargo workspace", e.Package, e.Worker))
		}
	}
	slices.SortFunc(crates, func(a, b crate) int { return strings.Compare(a.Dir, b.Dir) })
	return crates, errors.Join(errs...)
}

// crateName is the hyphenated name of the crate in dir, if it gets a namespace.
func crateName(dir string) (string, bool) {
	switch parent, base := path.Split(dir); parent {
	case "crates/":
		return strings.TrimPrefix(base, "tasker-"), true
	case "workers/":
		return base + "-worker", true
	}
	return "", false
}

// camel is a hyphenated name in lowerCamelCase: "rust-worker" is rustWorker.
func camel(name string) string {
	parts := strings.Split(name, "-")
	for i, p := range parts[1:] {
		parts[i+1] = strings.ToUpper(p[:1]) + p[1:]
	}
	return strings.Join(parts, "")
}

// checkExtension compares a cdylib with its row in workspace.Extensions.
func checkExtension(p pkg, dir string) error {
	for _, e := range workspace.Extensions {
		if e.Package != p.Name {
			continue
		}
		if e.Dir != dir || e.Lib != p.Target("cdylib") {
			return fmt.Errorf("workspace.Extensions: %s has Dir %q and Lib %q, cargo says %q and %q", e.Package, e.Dir, e.Lib, dir, p.Target("cdylib"))
		}
		return nil
	}
	return fmt.Errorf("%s (%s) is a cdylib, a language worker's extension, but no row of workspace.Extensions names it", p.Name, dir)
}
