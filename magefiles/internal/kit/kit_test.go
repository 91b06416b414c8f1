package kit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/cache"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// testKit is a worker kit in a throwaway repository with one Rust source.
func testKit(t *testing.T) (Kit, string) {
	t.Helper()
	root := t.TempDir()
	for _, f := range []string{"crates/core/src/lib.rs", "ext/src/lib.rs", "Cargo.toml", "Cargo.lock"} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := TestSession(t, root, "PATH="+os.Getenv("PATH"))
	return Kit{S: s, Ext: workspace.Extension{Worker: "w", Package: "w-ext", Dir: "ext", Lib: "w"}, Dir: "."}, root
}

// probeSays is a probe printing the given output, as a language would.
func probeSays(k Kit, out string) Probe {
	return func() run.Cmd { return k.Cmd("printf", "%s", out) }
}

func TestBuildIDFollowsRustSources(t *testing.T) {
	k, root := testKit(t)
	a, err := k.BuildID()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "README.md"), []byte("docs"), 0o644)
	if b, _ := k.BuildID(); b != a {
		t.Fatal("a non-Rust file changed the build id")
	}
	os.WriteFile(filepath.Join(root, "crates/core/src/lib.rs"), []byte("changed"), 0o644)
	if b, _ := k.BuildID(); b == a {
		t.Fatal("a shared crate's source did not change the build id")
	}
}

func TestVerifyNamesTheStaleFile(t *testing.T) {
	k, _ := testKit(t)
	id, _ := k.BuildID()
	ctx := context.Background()
	if err := k.Verify(nil, probeSays(k, id+" /lib/ext.so")).Do(ctx, k.S.Run); err != nil {
		t.Fatalf("current build rejected: %v", err)
	}
	err := k.Verify(nil, probeSays(k, `{"buildId":"0123","path":"/old/ext.so"}`)).Do(ctx, k.S.Run)
	if fail.Code(err) != fail.Failed || !strings.Contains(err.Error(), "stale native extension /old/ext.so (build 0123") ||
		!strings.Contains(err.Error(), "mage w:build") {
		t.Fatalf("stale build: %v", err)
	}
	if err := k.Verify(nil, probeSays(k, "garbage")).Do(ctx, k.S.Run); err == nil || !strings.Contains(err.Error(), "cannot load") {
		t.Fatalf("bad probe output: %v", err)
	}
}

// A stamped build runs once, is skipped while the probe reports the current
// id, and runs again when the loaded extension is stale.
func TestBuildSkipsOnlyWhenTheLoadedBuildIsCurrent(t *testing.T) {
	k, _ := testKit(t)
	id, _ := k.BuildID()
	builds := 0
	build := func(context.Context, *run.Runner, string) error { builds++; return nil }
	ctx := context.Background()
	fresh := k.Build(nil, probeSays(k, id+" /x.so"), build)
	for range 2 {
		var skip *run.SkipError
		if err := fresh.Do(ctx, k.S.Run); err != nil && !errors.As(err, &skip) {
			t.Fatal(err)
		}
	}
	if builds != 1 {
		t.Fatalf("built %d times, want 1 (then skipped)", builds)
	}
	stale := k.Build(nil, probeSays(k, "old /x.so"), build)
	if err := stale.Do(ctx, k.S.Run); err != nil {
		t.Fatal(err)
	}
	if builds != 2 {
		t.Fatal("a stale extension was not rebuilt although the stamp matched")
	}
}

// The TypeScript worker loads the cdylib by this name (workers/typescript/src/ffi/library.ts).
func TestLibraryFileIsCargosName(t *testing.T) {
	for goos, want := range map[string]string{"linux": "libx.so", "darwin": "libx.dylib", "windows": "x.dll"} {
		if got := libraryFile(goos, "x"); got != want {
			t.Errorf("%s: %s, want %s", goos, got, want)
		}
	}
}

// What a worker's cached actions read: its own files for checks and tests,
// the Rust of its extension for whatever loads or builds it, and only that
// for the build (a test file's change keeps the built extension).
func TestSpecsReadWhatTheActionReads(t *testing.T) {
	k, _ := testKit(t)
	k.Dir = "workers/w"
	paths := func(action string) []string {
		var out []string
		for _, in := range k.Spec(action, nil, cache.Spec{}).Inputs {
			out = append(out, in.Path)
		}
		return out
	}
	has := func(action, path string) bool { return slices.Contains(paths(action), path) }
	for _, c := range []struct {
		action, path string
		want         bool
	}{
		{"lint", "workers/w", true}, {"lint", "crates", false},
		{"test", "workers/w", true}, {"test", "crates", true}, {"test", "ext", true}, {"test:bun", "crates", true},
		{"build", "workers/w", false}, {"build", "crates", true}, {"build", "ext", true}, {"build", "Cargo.lock", true},
	} {
		if got := has(c.action, c.path); got != c.want {
			t.Errorf("%s reads %s: %v, want %v (%v)", c.action, c.path, got, c.want, paths(c.action))
		}
	}
	if !Cacheable("test:deno") || Cacheable("lintFix") || Cacheable("testIntegration") || Cacheable("run") {
		t.Error("Cacheable: fixes, runs and integration tests are never cached; tests per runtime are")
	}
}
