package affected

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// graph is this repository's shape: the crates, their workspace
// dependencies and the workers' extensions.
var graph = Graph{
	Rust: "rust",
	Crates: []Crate{
		{Name: "tasker-shared", Dir: "crates/tasker-shared"},
		{Name: "tasker-pgmq", Dir: "crates/tasker-pgmq", Deps: []string{"tasker-shared"}},
		{Name: "tasker-client", Dir: "crates/tasker-client", Deps: []string{"tasker-shared"}},
		{Name: "tasker-worker", Dir: "crates/tasker-worker", Deps: []string{"tasker-pgmq", "tasker-shared", "tasker-client"}},
		{Name: "tasker-orchestration", Dir: "crates/tasker-orchestration", Deps: []string{"tasker-pgmq", "tasker-shared", "tasker-client", "tasker-worker"}},
		{Name: "tasker-worker-rust", Dir: "workers/rust", Deps: []string{"tasker-shared", "tasker-worker"}},
		{Name: "tasker-worker-python", Dir: "workers/python", Deps: []string{"tasker-worker"}},
		{Name: "tasker-worker-ruby", Dir: "workers/ruby/ext/tasker_worker_rb", Deps: []string{"tasker-worker"}},
		{Name: "tasker-worker-typescript", Dir: "workers/typescript/ffi", Deps: []string{"tasker-worker"}},
		{Name: "tasker-e2e", Dir: "tests/e2e", Deps: []string{"tasker-client"}},
	},
	Workers: map[string]string{"python": "tasker-worker-python", "ruby": "tasker-worker-ruby", "typescript": "tasker-worker-typescript"},
}

var all = []string{"rust", "python", "ruby", "typescript"}

func TestAreas(t *testing.T) {
	cases := []struct {
		files []string
		want  map[string]string // area → part of the reason
	}{
		{[]string{"crates/tasker-shared/src/lib.rs"}, map[string]string{"rust": "tasker-shared changed",
			"python": "tasker-worker-python depends on tasker-shared", "ruby": "depends on tasker-shared", "typescript": "depends on tasker-shared"}},
		{[]string{"crates/tasker-orchestration/src/lib.rs"}, map[string]string{"rust": "tasker-orchestration changed"}},
		{[]string{"workers/python/python/tasker_worker_py/worker.py"}, map[string]string{"python": "worker.py changed"}},
		{[]string{"workers/ruby/ext/tasker_worker_rb/src/lib.rs"}, map[string]string{"ruby": "lib.rs changed"}},
		{[]string{"workers/rust/src/handlers.rs"}, map[string]string{"rust": "tasker-worker-rust changed"}},
		{[]string{"tests/e2e/tests/e2e.rs"}, map[string]string{"rust": "tasker-e2e changed"}},
		{[]string{"db/migrations/0003_x.up.sql"}, map[string]string{"rust": "migrations", "python": "migrations", "ruby": "migrations", "typescript": "migrations"}},
		{[]string{"magefiles/internal/run/runner.go"}, map[string]string{"rust": "build system", "python": "build system", "ruby": "build system", "typescript": "build system"}},
		{[]string{"Cargo.lock"}, map[string]string{"rust": "Cargo.lock", "python": "Cargo.lock", "ruby": "Cargo.lock", "typescript": "Cargo.lock"}},
		{[]string{".sqlx/query-1.json"}, map[string]string{"rust": "sqlx query cache", "python": "sqlx query cache", "ruby": "sqlx query cache", "typescript": "sqlx query cache"}},
		{[]string{"README.md"}, map[string]string{}},
		{[]string{"somewhere/new.txt"}, map[string]string{"rust": "outside", "python": "outside", "ruby": "outside", "typescript": "outside"}},
	}
	for _, c := range cases {
		got := graph.Areas(c.files, all)
		if len(got) != len(c.want) {
			t.Errorf("%v: areas %v, want %v", c.files, got, c.want)
			continue
		}
		for area, why := range c.want {
			if !strings.Contains(got[area], why) {
				t.Errorf("%v: %s because %q, want it to say %q", c.files, area, got[area], why)
			}
		}
	}
	// Only areas that exist in this run are named.
	if got := graph.Areas([]string{"db/x.sql"}, []string{"python"}); len(got) != 1 || got["python"] == "" {
		t.Errorf("narrowed: %v", got)
	}
}

func TestReadCratesFromCargoMetadata(t *testing.T) {
	meta := `{"packages":[
		{"name":"tasker-shared","manifest_path":"/r/crates/tasker-shared/Cargo.toml","dependencies":[{"name":"serde"}]},
		{"name":"tasker-worker","manifest_path":"/r/crates/tasker-worker/Cargo.toml","dependencies":[{"name":"tasker-shared","path":"/r/crates/tasker-shared"},{"name":"serde"}]}]}`
	got, err := ReadCrates([]byte(meta), "/r")
	if err != nil || len(got) != 2 || got[1].Dir != "crates/tasker-worker" || len(got[1].Deps) != 1 || got[1].Deps[0] != "tasker-shared" {
		t.Fatalf("got %+v, %v", got, err)
	}
}

// Changed sees what was committed since the ref, what the working tree
// changed and new files; a ref that is not a commit is exit 5.
func TestChangedInARealRepository(t *testing.T) {
	testkit.NeedTool(t, "git")
	dir := t.TempDir()
	gitIn := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(rel, text string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitIn("init", "-q", "-b", "main")
	write("crates/tasker-shared/src/lib.rs", "// v1\n")
	write("workers/python/python/w.py", "# v1\n")
	write("README.md", "v1\n")
	write(".gitignore", "target/\n")
	gitIn("add", "-A")
	gitIn("commit", "-q", "-m", "base")
	gitIn("tag", "base")
	write("crates/tasker-shared/src/lib.rs", "// v2\n") // committed below
	gitIn("commit", "-q", "-am", "shared")
	write("README.md", "v2\n")                     // uncommitted
	write("workers/python/python/new file.py", "") // untracked, with a space
	write("target/debug/out", "")                  // ignored

	r := run.New(run.Options{Stdout: io.Discard, Stderr: io.Discard, Env: os.Environ()})
	files, err := Changed(context.Background(), r, dir, "base")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"README.md", "crates/tasker-shared/src/lib.rs", "workers/python/python/new file.py"}
	if strings.Join(files, "|") != strings.Join(want, "|") {
		t.Fatalf("changed %q, want %q", files, want)
	}
	areas := graph.Areas(files, all)
	if len(areas) != 4 || !strings.Contains(areas["python"], "w") {
		t.Errorf("areas %v", areas)
	}
	if _, err := Changed(context.Background(), r, dir, "no-such-ref"); fail.Code(err) != fail.Config {
		t.Errorf("unknown ref: %v, want exit 5", err)
	}
}
