package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// fixture is a git checkout with a build system, a worker and a tool.
type fixture struct {
	t    *testing.T
	root string
	env  []string
	out  testkit.SyncBuffer
	runs int // how many times the action really ran
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, root: t.TempDir()}
	f.write("go.mod", "module example\n")
	f.write("magefiles/build.go", "package main\n")
	f.write("workers/py/app.py", "print(1)\n")
	f.write("workers/py/pyproject.toml", "[tool.ruff]\n")
	f.write(".gitignore", "out/\n*.log\n")
	f.tool("fmt-tool", "fmt-tool 1.0")
	f.env = []string{"PATH=" + filepath.Join(f.root, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	git := exec.Command("git", "init", "-q")
	git.Dir = f.root
	if out, err := git.CombinedOutput(); err != nil {
		t.Skipf("git init: %v %s", err, out) // git is the build's own prerequisite
	}
	return f
}

func (f *fixture) write(rel, content string) {
	f.t.Helper()
	p := filepath.Join(f.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// tool installs an executable that prints version (a real program found
// on PATH, as a linter would be).
func (f *fixture) tool(name, version string) {
	f.t.Helper()
	f.write("bin/"+name, "#!/bin/sh\necho '"+version+"'\n")
	if err := os.Chmod(filepath.Join(f.root, "bin", name), 0o755); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) runner(extraEnv ...string) *run.Runner {
	return run.New(run.Options{Stdout: &f.out, Stderr: &f.out, Env: append(append([]string(nil), f.env...), extraEnv...)})
}

func (f *fixture) spec() Spec {
	return Spec{
		Name:    "py:lint",
		Inputs:  []Input{{Path: "workers/py"}},
		Cmds:    []run.Cmd{{Argv: []string{"fmt-tool", "--check"}, Dir: filepath.Join(f.root, "workers/py")}},
		Env:     []string{"LINT_LEVEL"},
		Tools:   []string{"fmt-tool"},
		Outputs: []string{"out/report.xml"},
	}
}

// do runs the action (which writes its report) through a new session's
// cache, as each mage invocation does, and returns the step's error.
func (f *fixture) do(c *Cache, sp Spec, r *run.Runner) error {
	f.t.Helper()
	return c.Do(context.Background(), r, sp, func(context.Context, *run.Runner) error {
		f.runs++
		f.write("out/report.xml", "<testsuites tests=\"1\"/>")
		return nil
	})
}

func (f *fixture) cache() *Cache { return New(f.root, false) }

func cachedFrom(err error) string {
	var hit *run.CachedError
	if errors.As(err, &hit) {
		return hit.From
	}
	return ""
}

// An unchanged rerun restores the outputs and does not run; the step says
// it was cached.
func TestUnchangedRerunIsReplayed(t *testing.T) {
	f := newFixture(t)
	if err := f.do(f.cache(), f.spec(), f.runner()); err != nil || f.runs != 1 {
		t.Fatalf("first run: err %v, runs %d", err, f.runs)
	}
	os.Remove(filepath.Join(f.root, "out/report.xml"))
	err := f.do(f.cache(), f.spec(), f.runner())
	if cachedFrom(err) != "local" || f.runs != 1 {
		t.Fatalf("second run: err %v, runs %d, want a local hit without running", err, f.runs)
	}
	if b, err := os.ReadFile(filepath.Join(f.root, "out/report.xml")); err != nil || !strings.Contains(string(b), "testsuites") {
		t.Fatalf("the output was not restored: %q %v", b, err)
	}
}

// Changing anything the key covers runs the action again: a wrong hit is
// impossible by construction. Each case changes one input of a recorded
// action and expects a run.
func TestEveryInputChangesTheKey(t *testing.T) {
	cases := map[string]func(f *fixture) (Spec, []string){
		"a source file": func(f *fixture) (Spec, []string) {
			f.write("workers/py/app.py", "print(2)\n")
			return f.spec(), nil
		},
		"a new file in an input directory": func(f *fixture) (Spec, []string) {
			f.write("workers/py/new.py", "\n")
			return f.spec(), nil
		},
		"a deleted file": func(f *fixture) (Spec, []string) {
			os.Remove(filepath.Join(f.root, "workers/py/pyproject.toml"))
			return f.spec(), nil
		},
		"an executable bit": func(f *fixture) (Spec, []string) {
			os.Chmod(filepath.Join(f.root, "workers/py/app.py"), 0o755)
			return f.spec(), nil
		},
		"the build system": func(f *fixture) (Spec, []string) {
			f.write("magefiles/build.go", "package main // changed\n")
			return f.spec(), nil
		},
		"go.sum appearing": func(f *fixture) (Spec, []string) {
			f.write("go.sum", "x\n")
			return f.spec(), nil
		},
		"a variable the action reads": func(f *fixture) (Spec, []string) { return f.spec(), []string{"LINT_LEVEL=strict"} },
		"a tool's version": func(f *fixture) (Spec, []string) {
			f.tool("fmt-tool", "fmt-tool 2.0")
			return f.spec(), nil
		},
		"the command's arguments": func(f *fixture) (Spec, []string) {
			sp := f.spec()
			sp.Cmds[0].Argv = append(sp.Cmds[0].Argv, "--fix")
			return sp, nil
		},
		"the command's variables": func(f *fixture) (Spec, []string) {
			sp := f.spec()
			sp.Cmds[0].Env = []string{"RUFF_CACHE=1"}
			return sp, nil
		},
		"the declared outputs": func(f *fixture) (Spec, []string) {
			sp := f.spec()
			sp.Outputs = append(sp.Outputs, "out/other.xml")
			f.write("out/other.xml", "x")
			return sp, nil
		},
		"the action": func(f *fixture) (Spec, []string) {
			sp := f.spec()
			sp.Name = "py:typecheck"
			return sp, nil
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			if err := f.do(f.cache(), f.spec(), f.runner()); err != nil {
				t.Fatal(err)
			}
			sp, env := change(f)
			if err := f.do(f.cache(), sp, f.runner(env...)); err != nil || f.runs != 2 {
				t.Fatalf("after changing %s: err %v, runs %d; want it to run again", name, err, f.runs)
			}
		})
	}
}

// What the action does not read leaves the key alone: ignored files (build
// outputs), files of other areas, variables it does not read, and the
// checkout's directory.
func TestUnreadInputsKeepTheKey(t *testing.T) {
	f := newFixture(t)
	if err := f.do(f.cache(), f.spec(), f.runner()); err != nil {
		t.Fatal(err)
	}
	f.write("workers/py/debug.log", "ignored by git\n")
	f.write("workers/rb/app.rb", "other area\n")
	if err := f.do(f.cache(), f.spec(), f.runner("UNRELATED=1")); cachedFrom(err) == "" {
		t.Fatalf("want a hit, got %v (%s)", err, f.out.String())
	}
}

// A failure is never recorded, and the next miss says what changed.
func TestFailureIsNotRecordedAndMissesAreExplained(t *testing.T) {
	f := newFixture(t)
	c := f.cache()
	boom := errors.New("lint failed")
	err := c.Do(context.Background(), f.runner(), f.spec(), func(context.Context, *run.Runner) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the failure", err)
	}
	f.write("workers/py/app.py", "print(3)\n")
	if err := f.do(f.cache(), f.spec(), f.runner()); err != nil || f.runs != 1 {
		t.Fatalf("after a failure: err %v, runs %d; want it to run", err, f.runs)
	}
	if !strings.Contains(f.out.String(), "py:lint not cached: workers/py/app.py changed") {
		t.Errorf("the miss does not name the changed file:\n%s", f.out.String())
	}
}

// A file changed while the action ran may or may not have been seen by it:
// the result is not recorded.
func TestInputsChangedDuringTheRunAreNotRecorded(t *testing.T) {
	f := newFixture(t)
	err := f.cache().Do(context.Background(), f.runner(), f.spec(), func(context.Context, *run.Runner) error {
		f.write("out/report.xml", "x")
		f.write("workers/py/app.py", "edited meanwhile\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.do(f.cache(), f.spec(), f.runner()); cachedFrom(err) != "" || f.runs != 1 {
		t.Fatalf("got %v (runs %d), want a run: nothing was recorded", err, f.runs)
	}
	if !strings.Contains(f.out.String(), "inputs changed while it ran") {
		t.Errorf("no warning:\n%s", f.out.String())
	}
}

// Two clones in different directories share keys: the root is not part of
// them.
func TestKeysDoNotDependOnTheCheckoutDirectory(t *testing.T) {
	a, b := newFixture(t), newFixture(t)
	ka, err := a.cache().manifest(context.Background(), a.runner(), a.spec())
	if err != nil {
		t.Fatal(err)
	}
	kb, err := b.cache().manifest(context.Background(), b.runner(), b.spec())
	if err != nil {
		t.Fatal(err)
	}
	// The fixture's tool lives in the checkout; its path differs, its version not.
	if key(ka) != key(kb) {
		t.Fatalf("keys differ between clones:\n%s\n---\n%s", strings.Join(ka, "\n"), strings.Join(kb, "\n"))
	}
}

// MAGE_NO_CACHE=1 runs and records nothing; a dry run never touches the
// cache.
func TestOff(t *testing.T) {
	f := newFixture(t)
	off := New(f.root, true)
	for range 2 {
		if err := f.do(off, f.spec(), f.runner()); err != nil {
			t.Fatal(err)
		}
	}
	if f.runs != 2 {
		t.Fatalf("runs %d, want 2", f.runs)
	}
	if _, err := os.Stat(filepath.Join(f.root, ".tasker", "cache", "ac")); err == nil {
		t.Error("MAGE_NO_CACHE=1 recorded a result")
	}
}

// A result naming a path outside the repository is refused: results from
// a remote cache are not trusted.
func TestOutputsOutsideTheRootAreRefused(t *testing.T) {
	c := New(t.TempDir(), false)
	for _, p := range []string{"../x", "/etc/passwd", "a/../../x"} {
		if _, err := c.inside(p); err == nil {
			t.Errorf("%s accepted", p)
		}
	}
	if _, err := c.inside("target/junit.xml"); err != nil {
		t.Error(err)
	}
}

// The local store stays under its bound: past it, what was used least
// recently goes, and a result whose blob went is a run, not a wrong hit.
func TestTheLocalStoreIsBounded(t *testing.T) {
	f := newFixture(t)
	c := f.cache()
	c.MaxBytes = 2000
	for i := range 6 {
		sp := f.spec()
		sp.Name = fmt.Sprintf("py:step%d", i)
		err := c.Do(context.Background(), f.runner(), sp, func(context.Context, *run.Runner) error {
			f.write("out/report.xml", strings.Repeat(fmt.Sprint(i), 600)) // a distinct 600-byte blob each
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // distinct modification times
	}
	var total int64
	filepath.WalkDir(string(c.Local), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.Contains(p, "/ac/") || strings.Contains(p, "/cas/")) {
			fi, _ := d.Info()
			total += fi.Size()
		}
		return nil
	})
	if total > c.MaxBytes {
		t.Fatalf("the store holds %d bytes, bound %d", total, c.MaxBytes)
	}
	sp := f.spec()
	sp.Name = "py:step0" // the oldest: gone
	f.runs = 0
	if err := f.do(c, sp, f.runner()); cachedFrom(err) != "" || f.runs != 1 {
		t.Fatalf("the evicted step: %v, runs %d; want a run", err, f.runs)
	}
	sp.Name = "py:step5" // the newest: kept
	f.write("out/report.xml", strings.Repeat("5", 600))
	if err := f.do(c, sp, f.runner()); cachedFrom(err) != "local" {
		t.Fatalf("the newest step: %v, want a hit", err)
	}
	if n, err := parseSize("4G"); err != nil || n != 4<<30 {
		t.Errorf("4G = %d, %v", n, err)
	}
	if _, err := parseSize("lots"); err == nil {
		t.Error("lots is a size")
	}
}
