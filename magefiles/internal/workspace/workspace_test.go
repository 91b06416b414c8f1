package workspace

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

func TestFindRootFromASubdirectory(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+Module+"\n\ngo 1.25\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A nested module with another name must not stop the walk.
	sub := filepath.Join(root, "crates", "tasker-pgmq", "src")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "crates", "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := FindRoot(sub)
	if err != nil {
		t.Fatal(err)
	}
	if got != root {
		t.Fatalf("FindRoot = %s, want %s", got, root)
	}
}

func TestFindRootOutsideTheRepoIsAConfigError(t *testing.T) {
	_, err := FindRoot(t.TempDir())
	if fail.Code(err) != fail.Config {
		t.Fatalf("want exit %d, got %v", fail.Config, err)
	}
}

func TestThisRepositoryIsFound(t *testing.T) {
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "magefiles")); err != nil {
		t.Fatalf("root %s has no magefiles/: %v", root, err)
	}
}

func TestUnknownCrateListsValidNames(t *testing.T) {
	_, err := CrateByKey("nope")
	if fail.Code(err) != fail.Config {
		t.Fatalf("want exit %d, got %v", fail.Config, err)
	}
	for _, k := range CrateKeys() {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error %q does not list %q", err, k)
		}
	}
	if c, err := CrateByKey("tasker-pgmq"); err != nil || c.Key != "pgmq" {
		t.Fatalf("lookup by package name: %v %v", c, err)
	}
	if c, err := CrateByKey("RUSTWORKER"); err != nil || c.Package != "tasker-worker-rust" {
		t.Fatalf("case-insensitive lookup: %v %v", c, err)
	}
}

func TestCrateDirsExist(t *testing.T) {
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Crates {
		if _, err := os.Stat(filepath.Join(root, c.Dir, "Cargo.toml")); err != nil {
			t.Errorf("crate %s: %v", c, err)
		}
	}
}

// Every service has a port, and every port a service.
func TestServicesAreTheServiceCratesAndTheWorkers(t *testing.T) {
	var want []string
	for _, c := range ServiceCrates() {
		want = append(want, c.Service)
	}
	for _, e := range Extensions {
		want = append(want, WorkerService(e.Worker))
	}
	var got []string
	for _, s := range Services {
		got = append(got, s.Name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Services are %v, want the service crates' and the workers' %v", got, want)
	}
}

func TestTargetDirHonoursCargoTargetDir(t *testing.T) {
	p := Paths{Root: "/repo"}
	if got := p.Target("", "nextest"); got != "/repo/target/nextest" {
		t.Errorf("default: %s", got)
	}
	if got := p.Target("build", "x"); got != "/repo/build/x" {
		t.Errorf("relative: %s", got)
	}
	if got := p.Target("/tmp/t", "x"); got != "/tmp/t/x" {
		t.Errorf("absolute: %s", got)
	}
}
