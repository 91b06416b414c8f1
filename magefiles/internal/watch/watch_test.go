package watch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as the child process a check runs: WATCH_HELPER
// selects what it does.
func TestMain(m *testing.M) {
	if mode := os.Getenv("WATCH_HELPER"); mode != "" {
		helper(mode)
		return
	}
	os.Exit(m.Run())
}

// batch is one call of the callback.
type batch struct {
	files []string
	ctx   context.Context
}

// live is a watch running in the background.
type live struct {
	w       *Watcher
	batches <-chan batch // one per call of the callback
	stop    context.CancelFunc
	errc    <-chan error // what Run returned
}

// watching starts a watch of root. fn, if set, runs for each batch after
// it is reported (it may block on its ctx). The watch is stopped when the
// test ends.
func watching(t *testing.T, root string, o Options, fn func(ctx context.Context, files []string)) live {
	t.Helper()
	if o.Debounce == 0 {
		o.Debounce = 100 * time.Millisecond
	}
	o.Warn = func(format string, args ...any) { t.Logf("warn: "+format, args...) }
	w, err := New(root, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	batches := make(chan batch, 16)
	errc := make(chan error, 1)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		errc <- w.Run(ctx, func(ctx context.Context, files []string) {
			batches <- batch{files, ctx}
			if fn != nil {
				fn(ctx, files)
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			t.Error("the watch did not end within 10s of its context")
		}
		w.Close()
	})
	return live{w, batches, cancel, errc}
}

func next(t *testing.T, batches <-chan batch, within time.Duration) batch {
	t.Helper()
	select {
	case b := <-batches:
		return b
	case <-time.After(within):
		t.Fatalf("no batch within %s", within)
		return batch{}
	}
}

// none fails if a batch arrives within d.
func none(t *testing.T, batches <-chan batch, d time.Duration) {
	t.Helper()
	select {
	case b := <-batches:
		t.Fatalf("unexpected batch %q", b.files)
	case <-time.After(d):
	}
}

func write(t *testing.T, root, rel string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(time.Now().String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestABurstOfWritesIsOneBatch(t *testing.T) {
	root := t.TempDir()
	write(t, root, "src/a.go")
	debounce := 300 * time.Millisecond
	l := watching(t, root, Options{Debounce: debounce}, nil)

	// Longer than the quiet period in all (10 × 40 ms), with gaps well
	// inside it: one batch only if each change restarts the wait.
	for _, f := range []string{"src/a.go", "src/b.go", "c.txt", "src/a.go", "src/d.go", "src/e.go", "c.txt", "src/f.go", "src/a.go", "src/g.go"} {
		write(t, root, f)
		time.Sleep(40 * time.Millisecond)
	}
	if err := os.Remove(filepath.Join(root, "src/b.go")); err != nil {
		t.Fatal(err)
	}
	got := next(t, l.batches, 5*time.Second)
	if want := []string{"c.txt", "src/a.go", "src/b.go", "src/d.go", "src/e.go", "src/f.go", "src/g.go"}; !slices.Equal(got.files, want) {
		t.Fatalf("batch %q, want %q", got.files, want)
	}
	none(t, l.batches, 3*debounce)
}

func TestIgnoredPathsProduceNothing(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"target/debug", "workers/x/node_modules/pkg", ".git/objects", ".tasker/stamps", "workers/x/.venv/lib", "out/cargo"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, root, "src/lib.rs")
	l := watching(t, root, Options{Ignore: func(rel string) bool { return strings.HasPrefix(rel, "out/") }}, nil)

	for _, f := range []string{
		"target/debug/app", "workers/x/node_modules/pkg/index.js", ".git/index", ".tasker/stamps/py",
		"workers/x/.venv/lib/site.py", "out/cargo/lib.rlib", // ignored directories (out/ through Options.Ignore)
		"src/lib.rs~", "src/.#lib.rs", "src/.lib.rs.swp", "src/4913", // editor temp files
		"workers/x/__pycache__/m.pyc", "crates/c/target/debug/x", // ignored directories created after the start
	} {
		write(t, root, f)
	}
	if err := os.Chmod(filepath.Join(root, "src/lib.rs"), 0o600); err != nil { // a permission change alone
		t.Fatal(err)
	}
	none(t, l.batches, 500*time.Millisecond)
	for _, p := range l.w.fs.WatchList() {
		if rel, _ := filepath.Rel(root, p); Ignored(rel) {
			t.Errorf("ignored directory %s is watched", rel)
		}
	}

	// The watch is alive, and nothing ignored leaked into its next batch.
	write(t, root, "src/lib.rs")
	if got := next(t, l.batches, 5*time.Second); !slices.Equal(got.files, []string{"src/lib.rs"}) {
		t.Fatalf("batch %q, want only src/lib.rs", got.files)
	}
}

func TestANewDirectoryIsWatched(t *testing.T) {
	root := t.TempDir()
	l := watching(t, root, Options{}, nil)

	// Made and filled at once: the file may land before the directories'
	// watches do, and must be reported all the same.
	write(t, root, "new/deep/er/a.go")
	if got := next(t, l.batches, 5*time.Second); !slices.Equal(got.files, []string{"new/deep/er/a.go"}) {
		t.Fatalf("batch %q, want new/deep/er/a.go", got.files)
	}
	// Later changes in it come from its own watch.
	write(t, root, "new/deep/er/b.go")
	if got := next(t, l.batches, 5*time.Second); !slices.Equal(got.files, []string{"new/deep/er/b.go"}) {
		t.Fatalf("batch %q, want new/deep/er/b.go", got.files)
	}
}

func TestAChangeDuringARunCancelsItAndTheNextRunHasBoth(t *testing.T) {
	root := t.TempDir()
	calls := 0
	l := watching(t, root, Options{}, func(ctx context.Context, _ []string) {
		calls++
		if calls == 1 { // the first run lasts until it is cancelled
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
			}
		}
	})

	write(t, root, "a.txt")
	first := next(t, l.batches, 5*time.Second)
	if !slices.Equal(first.files, []string{"a.txt"}) {
		t.Fatalf("first batch %q, want a.txt", first.files)
	}
	write(t, root, "b.txt")
	second := next(t, l.batches, 5*time.Second)
	if first.ctx.Err() == nil || !errors.Is(context.Cause(first.ctx), ErrChanged) {
		t.Fatalf("the first run's context: err %v, cause %v; want cancelled by ErrChanged", first.ctx.Err(), context.Cause(first.ctx))
	}
	// a.txt was never fully checked, so the new run covers it too.
	if want := []string{"a.txt", "b.txt"}; !slices.Equal(second.files, want) {
		t.Fatalf("second batch %q, want %q", second.files, want)
	}
	// Once a run finished, its files are done with.
	write(t, root, "c.txt")
	if third := next(t, l.batches, 5*time.Second); !slices.Equal(third.files, []string{"c.txt"}) {
		t.Fatalf("third batch %q, want c.txt", third.files)
	}
}

func TestABatchTheFilterEmptiesCancelsNothing(t *testing.T) {
	root := t.TempDir()
	keep := func(_ context.Context, files []string) []string {
		return slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, ".so") })
	}
	release := make(chan struct{})
	l := watching(t, root, Options{Filter: keep}, func(ctx context.Context, _ []string) {
		select {
		case <-ctx.Done():
		case <-release:
		}
	})

	write(t, root, "a.rs")
	first := next(t, l.batches, 5*time.Second)
	write(t, root, "lib/ext.so") // what a build copies into the tree
	time.Sleep(500 * time.Millisecond)
	if first.ctx.Err() != nil {
		t.Fatalf("a change the filter drops cancelled the run: %v", context.Cause(first.ctx))
	}
	close(release)
	none(t, l.batches, 300*time.Millisecond)
}

func TestIgnored(t *testing.T) {
	for rel, want := range map[string]bool{
		"crates/a/src/lib.rs":            false,
		"workers/python/tests/t.py":      false,
		"README.md":                      false,
		"target":                         true,
		"crates/a/target/debug/x":        true,
		"workers/ts/node_modules/x.js":   true,
		".tasker/logs/orchestration.log": true,
		".git/HEAD":                      true,
		"src/main.rs~":                   true,
		"src/.#main.rs":                  true,
		"src/.main.rs.swp":               true,
		"src/4913":                       true,
	} {
		if got := Ignored(rel); got != want {
			t.Errorf("Ignored(%q) = %v, want %v", rel, got, want)
		}
	}
}
