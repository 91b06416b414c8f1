package magewrap_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

var (
	root    string // the repository
	wrapper string // `go tool mage` as this tree builds it
)

func TestMain(m *testing.M) {
	var err error
	if root, err = workspace.FindRoot("."); err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "magewrap-test")
	if err != nil {
		panic(err)
	}
	wrapper = filepath.Join(dir, "mage")
	build := exec.Command("go", "build", "-o", wrapper, "../../cmd/mage")
	if out, err := build.CombinedOutput(); err != nil {
		panic("building the wrapper: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// checkout clones the repository's last commit, so the magefiles compile
// whatever state the working tree is in, and runs can be compared across
// checkouts of the same sources.
func checkout(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("git", "clone", "--quiet", "--local", root, dir).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	return dir
}

type result struct {
	code           int
	stdout, stderr string
}

// mage runs the wrapper in dir, as `go tool mage args...` would there; a run
// waiting forever on the lock is killed and fails the test.
func mage(t *testing.T, dir string, env []string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var res result
	var err error
	res.code, res.stdout, res.stderr, err = testkit.Exec(ctx, dir, env, append([]string{wrapper}, args...)...)
	if err != nil {
		t.Error(err)
	}
	return res
}

func (r result) expect(t *testing.T, code int, wants ...string) {
	t.Helper()
	all := r.stdout + r.stderr
	if r.code != code {
		t.Errorf("exit code %d, want %d\n%s", r.code, code, all)
	}
	for _, w := range wants {
		if !strings.Contains(all, w) {
			t.Errorf("output lacks %q:\n%s", w, all)
		}
	}
}

type run struct {
	dir  string
	args []string
}

// together starts the runs 20 ms apart, each with a mage cache nothing has
// used: staggered starts make one run's compile overlap another's cleanup,
// which simultaneous starts rarely do.
func together(t *testing.T, runs []run) []result {
	env := []string{"MAGEFILE_CACHE=" + t.TempDir()}
	results := make([]result, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Go(func() { results[i] = mage(t, r.dir, env, r.args...) })
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	return results
}

// Eight overlapping runs, twice. Without the lock they delete each other's
// mainfile ("open ./mage_output_file.go: no such file or directory") or list
// it half written; plain mage and the wrapper without its lock failed every
// time this test was run against them.
func TestConcurrentRunsInOneCheckout(t *testing.T) {
	dir := checkout(t)
	for range 2 {
		var runs []run
		for i := range 8 {
			args := []string{"env"}
			if i%4 == 3 {
				args = []string{"-l"}
			}
			runs = append(runs, run{dir, args})
		}
		for i, res := range together(t, runs) {
			if runs[i].args[0] == "-l" {
				res.expect(t, 0, "Targets:", "rust:check")
			} else {
				res.expect(t, 0, "TASKER_ENV", "default")
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".tasker", "bin", "mage")); err != nil {
		t.Error("no compiled magefiles in the checkout:", err)
	}
}

// Plain mage compiles identical sources to one path in the shared mage
// cache; each checkout now has its own binary.
func TestConcurrentRunsInTwoCheckouts(t *testing.T) {
	a, b := checkout(t), checkout(t)
	for _, res := range together(t, []run{{a, []string{"env"}}, {b, []string{"env"}}, {a, []string{"env"}}, {b, []string{"env"}}}) {
		res.expect(t, 0, "TASKER_ENV", "default")
	}
}

// The binary is rebuilt from the current sources on every run.
func TestChangedMagefilesRunTheirNewCode(t *testing.T) {
	dir := checkout(t)
	mage(t, dir, nil, "env").expect(t, 0, "TASKER_ENV")
	target := "//go:build mage\n\npackage main\n\nimport \"fmt\"\n\nfunc Hello() { fmt.Println(\"hello from a new target\") }\n"
	if err := os.WriteFile(filepath.Join(dir, "magefiles", "hello.go"), []byte(target), 0o644); err != nil {
		t.Fatal(err)
	}
	mage(t, dir, nil, "hello").expect(t, 0, "hello from a new target")
}

func TestExitCodesPassThrough(t *testing.T) {
	dir := checkout(t)
	t.Run("unknown target", func(t *testing.T) {
		mage(t, dir, nil, "nope").expect(t, 2, `Unknown target specified: "nope"`)
	})
	t.Run("failing target", func(t *testing.T) {
		bad := t.TempDir()
		if err := os.WriteFile(filepath.Join(bad, ".env"), []byte("this line is wrong\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		mage(t, dir, []string{"TASKER_ROOT=" + bad}, "env").expect(t, 5, ".env:1:")
	})
	t.Run("timeout flag", func(t *testing.T) {
		mage(t, dir, nil, "-t", "1ns", "env").expect(t, 1, "context deadline exceeded")
	})
	t.Run("targets run once with MAGEFILE_HASHFAST", func(t *testing.T) {
		res := mage(t, dir, []string{"MAGEFILE_HASHFAST=1"}, "env")
		res.expect(t, 0, "TASKER_ENV")
		if n := strings.Count(res.stdout, "TASKER_ENV"); n != 1 {
			t.Errorf("env ran %d times:\n%s", n, res.stdout)
		}
	})
	t.Run("help for an unknown target", func(t *testing.T) {
		mage(t, dir, nil, "-h", "nope").expect(t, 2, `Unknown target: "nope"`)
	})
	t.Run("unknown flag", func(t *testing.T) {
		mage(t, dir, nil, "-nope").expect(t, 2, "flag provided but not defined: -nope")
	})
	t.Run("compile for CI", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "mage")
		mage(t, dir, nil, "-compile", out).expect(t, 0)
		if _, err := os.Stat(out); err != nil {
			t.Fatal(err)
		}
	})
}

// `go tool mage` in this checkout is the wrapper, not plain mage.
func TestGoToolMageIsTheWrapper(t *testing.T) {
	cmd := exec.Command("go", "tool", "mage", "-version")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "(wrapped by magefiles/cmd/mage)") {
		t.Fatalf("go tool mage -version: %v\n%s", err, out)
	}
}
