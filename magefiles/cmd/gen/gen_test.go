package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// The committed files are what the generator makes of today's Cargo
// workspace and registries: a crate added without `go generate ./...`
// fails here.
func TestCommittedFilesAreCurrent(t *testing.T) {
	testkit.NeedTool(t, "cargo")
	root, err := workspace.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	meta, err := cargoMetadata(root)
	if err != nil {
		t.Fatal(err)
	}
	files, err := generate(meta)
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range files {
		got, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run `go generate ./...` (%v)", rel, err)
		}
	}
}

// Every action of lang.Worker is a target of each worker's namespace.
func TestEveryWorkerActionIsATarget(t *testing.T) {
	internal := []string{"Name", "Verify", "Serve"} // identity, a prerequisite, the process
	w := reflect.TypeFor[lang.Worker]()
	for i := range w.NumMethod() {
		m := w.Method(i).Name
		if !slices.Contains(internal, m) && !slices.ContainsFunc(workerTargets, func(t target) bool { return t.Name == m }) {
			t.Errorf("lang.Worker.%s has no row in workerTargets", m)
		}
	}
}

func TestMembersGetNamespacesByDirectory(t *testing.T) {
	m := registeredExtensions()
	m.Packages = append(m.Packages,
		member("tasker-foo-bar", "crates/tasker-foo-bar", "lib"),
		member("tasker-worker-go", "workers/go", "bin", "test"),
		member("tasker-lib-tests", "crates/tasker-quiet", "lib", "test"), // a test target is not a service
		member("tasker-e2e", "tests/e2e", "lib", "test"))
	crates, err := readCrates(marshal(t, m))
	if err != nil {
		t.Fatal(err)
	}
	want := []workspace.Crate{
		{Key: "fooBar", Package: "tasker-foo-bar", Dir: "crates/tasker-foo-bar"},
		{Key: "quiet", Package: "tasker-lib-tests", Dir: "crates/tasker-quiet"},
		{Key: "goWorker", Package: "tasker-worker-go", Dir: "workers/go", Service: "go-worker"},
	}
	var got []workspace.Crate
	for _, c := range crates {
		got = append(got, c.Crate)
	}
	if !slices.Equal(got, want) {
		t.Errorf("crates:\n got %+v\nwant %+v", got, want)
	}
}

func TestMembersWithoutANamespaceAreErrors(t *testing.T) {
	stray := registeredExtensions()
	stray.Packages = append(stray.Packages, member("tasker-tool", "tools/x", "bin"))
	renamed := registeredExtensions()
	renamed.Packages[0].Targets[0].Name = "renamed"
	unregistered := registeredExtensions()
	unregistered.Packages = append(unregistered.Packages, member("tasker-worker-go", "workers/go/ext", "cdylib"))
	missing := registeredExtensions()
	missing.Packages = missing.Packages[1:]
	for name, c := range map[string]struct {
		m    metadata
		want string
	}{
		"stray":        {stray, "tasker-tool (tools/x) would have no namespace"},
		"renamed":      {renamed, `cargo says "` + workspace.Extensions[0].Dir + `" and "renamed"`},
		"unregistered": {unregistered, "no row of workspace.Extensions names it"},
		"missing":      {missing, workspace.Extensions[0].Package + " (worker " + workspace.Extensions[0].Worker + ") is not a member"},
	} {
		if _, err := readCrates(marshal(t, c.m)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

const fakeRoot = "/repo"

// registeredExtensions is the metadata of a workspace holding exactly the
// registered extension crates.
func registeredExtensions() metadata {
	m := metadata{WorkspaceRoot: fakeRoot}
	for _, e := range workspace.Extensions {
		p := member(e.Package, e.Dir, "cdylib")
		p.Targets[0].Name = e.Lib
		m.Packages = append(m.Packages, p)
	}
	return m
}

// member is a package in dir with one target of each kind, named after it.
func member(name, dir string, kinds ...string) pkg {
	p := pkg{Name: name, ManifestPath: fakeRoot + "/" + dir + "/Cargo.toml"}
	for _, k := range kinds {
		p.Targets = append(p.Targets, cargoTarget{Name: name, Kind: []string{k}})
	}
	return p
}

func marshal(t *testing.T, m metadata) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
