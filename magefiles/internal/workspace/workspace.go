// Package workspace knows where the repository is and what it holds: the
// Rust crates, the language workers and the services with their ports. Every
// path it hands out is absolute, so targets behave the same from any
// directory and with CARGO_TARGET_DIR set.
package workspace

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// Module is the build system's Go module path; the root is the directory
// whose go.mod declares it.
const Module = "github.com/tasker-systems/tasker-build"

// RootEnv overrides root discovery (useful for tests and unusual layouts).
const RootEnv = "TASKER_ROOT"

// Root finds the repository root: $TASKER_ROOT if set, else the nearest
// directory at or above the working directory whose go.mod declares Module.
func Root() (string, error) {
	if r := os.Getenv(RootEnv); r != "" {
		return filepath.Abs(r)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return FindRoot(wd)
}

// FindRoot walks up from dir to the directory whose go.mod declares Module.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && declares(string(b), Module) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fail.New(fail.Config, "no repository root above %s (looked for a go.mod declaring %s); run from the checkout or set %s", dir, Module, RootEnv)
		}
	}
}

func declares(gomod, module string) bool {
	for _, line := range strings.Split(gomod, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && f[1] == module {
			return true
		}
	}
	return false
}

// Crate is one member of the Cargo workspace that has a namespace of its own.
type Crate struct {
	Key     string // the mage namespace and the name targets accept: "pgmq"
	Package string // the Cargo package: "tasker-pgmq"
	Dir     string // relative to the root: "crates/tasker-pgmq"
	Service string // the service it runs, if it is a binary ("" for libraries)
}

// Crates lists those members, by directory. `go generate` fills it from
// `cargo metadata` (zz_generated_crates.go, see magefiles/cmd/gen); it is
// declared here so the generator still builds when that file is missing.
var Crates []Crate

// ServiceCrates are the Crates that run a service.
func ServiceCrates() []Crate {
	var out []Crate
	for _, c := range Crates {
		if c.Service != "" {
			out = append(out, c)
		}
	}
	return out
}

// Service is a long-running HTTP process with a /health endpoint.
type Service struct {
	Name string // "orchestration"
	Port int    // default port
}

// PortEnv is the variable that overrides the service's port:
// ORCHESTRATION_PORT, RUST_WORKER_PORT.
func (s Service) PortEnv() string {
	return strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_")) + "_PORT"
}

// Extension is a language worker's native extension crate. It is a
// workspace member (one lock file, one target directory) but the rust:
// targets leave it out: building it needs that language's headers, so the
// worker's own targets build and lint it.
type Extension struct {
	Worker  string // the worker's key and namespace: "python"
	Package string // "tasker-worker-python"
	Dir     string // "workers/python"
	Lib     string // the library's crate name: "tasker_worker_py"
	// Bin are the worker's own tool directories (its venv, node_modules),
	// searched before PATH by its targets and by `mage doctor`.
	Bin []string
}

// Extensions lists the language workers, one row each: the worker's key
// (its area, its namespace and the package magefiles/internal/<key> whose
// Worker implements lang.Worker) and its native crate, which `go generate`
// checks against `cargo metadata`.
var Extensions = []Extension{
	{Worker: "python", Package: "tasker-worker-python", Dir: "workers/python", Lib: "tasker_worker_py",
		Bin: []string{"workers/python/.venv/bin"}},
	{Worker: "ruby", Package: "tasker-worker-ruby", Dir: "workers/ruby/ext/tasker_worker_rb", Lib: "tasker_worker_rb"},
	{Worker: "typescript", Package: "tasker-worker-typescript", Dir: "workers/typescript/ffi", Lib: "tasker_worker_ts",
		Bin: []string{"workers/typescript/node_modules/.bin"}},
}

// ToolPATH is pathEnv with every worker's tool directories in front.
func (p Paths) ToolPATH(pathEnv string) string {
	var parts []string
	for _, e := range Extensions {
		for _, b := range e.Bin {
			parts = append(parts, p.Abs(b))
		}
	}
	return strings.Join(append(parts, pathEnv), string(os.PathListSeparator))
}

// ExtensionFor returns the worker's extension crate.
func ExtensionFor(worker string) Extension {
	for _, e := range Extensions {
		if e.Worker == worker {
			return e
		}
	}
	panic("workspace: no extension crate for worker " + worker)
}

// WorkerService is the name of a language worker's service: "python-worker".
func WorkerService(worker string) string { return worker + "-worker" }

// Services lists every service (the ServiceCrates' and one per worker)
// with its default port: the one place ports are written (env.Known
// documents each PortEnv from here). 8084 is skipped on purpose: GitHub's
// runners have Mono XSP4 listening there.
var Services = []Service{
	{Name: "orchestration", Port: 8080},
	{Name: "rust-worker", Port: 8081},
	{Name: "ruby-worker", Port: 8082},
	{Name: "python-worker", Port: 8083},
	{Name: "typescript-worker", Port: 8085},
}

// CrateByKey finds a crate by its key or Cargo package name, case-insensitively.
// An unknown name is a configuration error (exit 5) listing the valid names.
func CrateByKey(name string) (Crate, error) {
	for _, c := range Crates {
		if strings.EqualFold(c.Key, name) || strings.EqualFold(c.Package, name) {
			return c, nil
		}
	}
	return Crate{}, fail.New(fail.Config, "unknown crate %q; valid names: %s", name, strings.Join(CrateKeys(), ", "))
}

// CrateKeys returns the crate keys, sorted.
func CrateKeys() []string {
	keys := make([]string, len(Crates))
	for i, c := range Crates {
		keys[i] = c.Key
	}
	sort.Strings(keys)
	return keys
}

// ServiceByName finds a service by name.
func ServiceByName(name string) (Service, error) {
	var names []string
	for _, s := range Services {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Service{}, fail.New(fail.Config, "unknown service %q; valid names: %s", name, strings.Join(names, ", "))
}

// Paths resolves repository-relative locations to absolute paths.
type Paths struct{ Root string }

// Abs joins rel onto the root.
func (p Paths) Abs(rel ...string) string { return filepath.Join(append([]string{p.Root}, rel...)...) }

// State is the build system's own directory (.tasker/), created on demand.
func (p Paths) State(rel ...string) string { return p.Abs(append([]string{".tasker"}, rel...)...) }

// Target is Cargo's target directory: $CARGO_TARGET_DIR if set (made
// absolute against the root), else <root>/target.
func (p Paths) Target(cargoTargetDir string, rel ...string) string {
	base := p.Abs("target")
	if cargoTargetDir != "" {
		base = cargoTargetDir
		if !filepath.IsAbs(base) {
			base = p.Abs(base)
		}
	}
	return filepath.Join(append([]string{base}, rel...)...)
}

// String is for messages.
func (c Crate) String() string { return fmt.Sprintf("%s (%s)", c.Key, c.Package) }

// RustSource keeps the files that change what cargo builds: sources,
// manifests and the lock file.
func RustSource(name string) bool {
	return strings.HasSuffix(name, ".rs") || strings.HasSuffix(name, ".toml") || name == "Cargo.lock"
}

// Rel is path relative to the root, slash-separated (path itself when it
// is not under the root).
func (p Paths) Rel(path string) string {
	rel, err := filepath.Rel(p.Root, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(rel)
}
