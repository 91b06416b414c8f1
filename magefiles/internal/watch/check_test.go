package watch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/affected"
	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// fakeArea is an area whose check is check.
type fakeArea struct {
	name  string
	check func(ctx context.Context, r *run.Runner) error
}

func (a fakeArea) Name() string                { return a.name }
func (a fakeArea) Setup(*session.S) []run.Step { return nil }
func (a fakeArea) Build(*session.S) []run.Step { return nil }
func (a fakeArea) Test(*session.S) []run.Step  { return nil }
func (a fakeArea) Fix(*session.S) []run.Step   { return nil }
func (a fakeArea) Clean(*session.S) []run.Step { return nil }
func (a fakeArea) Check(*session.S) []run.Step {
	return []run.Step{{Name: a.name + ":check", Do: a.check}}
}

// testSession is a session rooted at root whose output is out.
func testSession(t *testing.T, root string) (*session.S, *testkit.SyncBuffer) {
	t.Helper()
	e, err := env.Load(t.TempDir(), os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	out := &testkit.SyncBuffer{}
	return session.New(root, e, run.Options{Stdout: out, Stderr: out}), out
}

// graph: crate core in crates/core, used by ext, the py worker's extension.
var graph = affected.Graph{
	Crates: []affected.Crate{
		{Name: "core", Dir: "crates/core"},
		{Name: "ext", Dir: "workers/py/ext", Deps: []string{"core"}},
	},
	Workers: map[string]string{"py": "ext"},
	Rust:    "rust",
}

func TestCheckRunsTheAreasABatchReaches(t *testing.T) {
	s, out := testSession(t, t.TempDir())
	var mu sync.Mutex
	var ran []string
	area := func(name string, err error) lang.Area {
		return fakeArea{name, func(context.Context, *run.Runner) error {
			mu.Lock()
			defer mu.Unlock()
			ran = append(ran, name)
			return err
		}}
	}
	passing := Check{S: s, Graph: graph, Areas: []lang.Area{area("rust", nil), area("py", nil)}}
	failing := Check{S: s, Graph: graph, Areas: []lang.Area{area("rust", nil), area("py", errors.New("a test failed"))}}
	cases := []struct {
		c        Check
		files    []string
		ran      []string
		says     []string
		saysNone []string
	}{
		{passing, []string{"README.md"}, nil,
			[]string{"changed: README.md", "nothing affected", "watching for changes"},
			[]string{"affected:", "check "}},
		{passing, []string{"crates/core/src/lib.rs"}, []string{"py", "rust"},
			[]string{"affected: rust (core changed (crates/core/src/lib.rs))", "affected: py (its extension ext depends on core (crates/core/src/lib.rs))", "check passed: 2 ok in", "watching for changes"},
			nil},
		{passing, []string{"go.mod"}, []string{"py", "rust"}, // the build's own files reach every area
			[]string{"affected: rust (go.mod: the build system's dependencies changed)", "affected: py (go.mod: ", "check passed: 2 ok in"},
			nil},
		{failing, []string{"workers/py/x.py", "workers/py/y.py"}, []string{"py"},
			[]string{"changed: workers/py/x.py, workers/py/y.py", "affected: py (workers/py/x.py changed)", "check FAILED: 1 failed in", "a test failed", "watching for changes"},
			[]string{"affected: rust", "1 ok"}},
	}
	for _, tc := range cases {
		mark := len(out.String())
		ran = nil
		tc.c.Run(context.Background(), tc.files)
		slices.Sort(ran)
		text := out.String()[mark:]
		if !slices.Equal(ran, tc.ran) {
			t.Errorf("%q: checks run %q, want %q\n%s", tc.files, ran, tc.ran, text)
		}
		for _, s := range tc.says {
			if !strings.Contains(text, s) {
				t.Errorf("%q: output lacks %q:\n%s", tc.files, s, text)
			}
		}
		for _, s := range tc.saysNone {
			if strings.Contains(text, s) {
				t.Errorf("%q: output has %q:\n%s", tc.files, s, text)
			}
		}
	}
}

func TestGitFilterDropsWhatGitIgnores(t *testing.T) {
	git := testkit.NeedTool(t, "git")
	root := t.TempDir()
	if code, _, stderr, err := testkit.Exec(context.Background(), root, nil, git, "init", "-q"); err != nil || code != 0 {
		t.Fatalf("git init: %d %v %s", code, err, stderr)
	}
	if err := os.WriteFile(filepath.Join(root, ".gitignore"), []byte("*.so\nbuild/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := testSession(t, root)
	filter := GitFilter(s.Run, root)
	ctx := context.Background()

	got := filter(ctx, []string{"a.go", "lib/ext.so", "build/out.txt", "gone/deleted.go", "b c.go", "ü.so"})
	if want := []string{"a.go", "gone/deleted.go", "b c.go"}; !slices.Equal(got, want) {
		t.Errorf("kept %q, want %q", got, want)
	}
	none := []string{"a.go", "x/y.rs"} // git check-ignore exits 1: nothing ignored
	if got := filter(ctx, none); !slices.Equal(got, none) {
		t.Errorf("kept %q, want all of %q", got, none)
	}
	many := make([]string, 0, 2*gitChunk+10) // more than one git command's worth
	for i := range 2*gitChunk + 10 {
		many = append(many, "f"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+".so")
	}
	if got := filter(ctx, append(many, "keep.go")); !slices.Equal(got, []string{"keep.go"}) {
		t.Errorf("kept %d paths of %d ignored ones and keep.go: %q…", len(got), len(many), got[:min(3, len(got))])
	}

	// Outside a repository git cannot tell: every path counts, with a warning.
	s2, out2 := testSession(t, t.TempDir())
	paths := []string{"a.so", "b.go"}
	if got := GitFilter(s2.Run, s2.Paths.Root)(ctx, paths); !slices.Equal(got, paths) {
		t.Errorf("outside a repository kept %q, want %q", got, paths)
	}
	if !strings.Contains(out2.String(), "every change counts") {
		t.Errorf("no warning outside a repository:\n%s", out2.String())
	}
}
