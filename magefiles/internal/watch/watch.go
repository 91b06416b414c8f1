// Package watch is `mage watch`: it watches the repository for changes,
// gathers a burst of them into one batch once the files have been quiet for
// a moment, and runs the checks the batch reaches. A change while a check
// runs cancels it (the runner stops its child process groups) and starts
// again with every change not yet checked, as cargo-watch does.
package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/tasker-systems/tasker-build/magefiles/internal/stamp"
)

// DefaultDebounce is how long the files must be quiet before a batch runs:
// long enough for an editor's save (temp file, rename) or a git checkout to
// land as one batch, short enough not to be noticed.
const DefaultDebounce = 300 * time.Millisecond

// ErrChanged is the cause of a batch's context ending because newer changes
// arrived (context.Cause tells it from the watch itself ending).
var ErrChanged = errors.New("files changed again")

// Options configure a Watcher.
type Options struct {
	Debounce time.Duration // quiet period before a batch runs; DefaultDebounce when zero
	// Ignore drops more paths (root-relative, slash-separated) than
	// Ignored does: an in-tree CARGO_TARGET_DIR, say. A directory it
	// drops is not watched at all.
	Ignore func(rel string) bool
	// Filter, if set, narrows each batch before it runs (to drop files git
	// ignores, say); a batch it empties is dropped and cancels nothing.
	Filter func(ctx context.Context, rel []string) []string
	// Warn reports trouble the watch survives: lost events, a directory
	// it could not watch.
	Warn func(format string, args ...any)
}

// Watcher watches one directory tree.
type Watcher struct {
	root string
	o    Options
	fs   *fsnotify.Watcher
}

// New watches every directory under root that Ignored and o.Ignore keep.
// Every directory is watched when New returns.
func New(root string, o Options) (*Watcher, error) {
	if o.Debounce <= 0 {
		o.Debounce = DefaultDebounce
	}
	if o.Warn == nil {
		o.Warn = func(string, ...any) {}
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &Watcher{root: root, o: o, fs: fw}
	if _, err := w.addTree(root); err != nil {
		fw.Close()
		return nil, err
	}
	return w, nil
}

// Close stops watching.
func (w *Watcher) Close() error { return w.fs.Close() }

// Ignored reports whether a root-relative path is left out of every batch:
// anything under a build output, dependency or cache directory (the ones
// stamp hashing skips), the build's own state (.tasker) and git's, and the
// temporary files editors write next to the file being saved.
func Ignored(rel string) bool {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for _, p := range parts {
		if stamp.Skipped[p] || p == ".tasker" || p == ".git" {
			return true
		}
	}
	base := parts[len(parts)-1]
	return strings.HasSuffix(base, "~") || // emacs, vim backups
		strings.HasPrefix(base, ".#") || // emacs lock files
		strings.HasSuffix(base, ".swp") || strings.HasSuffix(base, ".swx") || // vim swap files
		base == "4913" || // vim's probe for whether it may write the directory
		strings.HasSuffix(base, "___jb_tmp___") || strings.HasSuffix(base, "___jb_old___") // JetBrains safe write
}

func (w *Watcher) ignored(rel string) bool {
	return Ignored(rel) || w.o.Ignore != nil && w.o.Ignore(filepath.ToSlash(rel))
}

// rel is p relative to the root, slash-separated.
func (w *Watcher) rel(p string) (string, bool) {
	r, err := filepath.Rel(w.root, p)
	if err != nil || r == "." || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(r), true
}

// addTree watches dir and the directories under it, and returns the files
// already there: a directory created while the watch runs may have been
// filled before its watch was in place, and those files changed too.
func (w *Watcher) addTree(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p != w.root {
				return nil // gone again before we got to it
			}
			return err
		}
		rel, inside := w.rel(p)
		if inside && w.ignored(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			files = append(files, rel)
			return nil
		}
		if err := w.fs.Add(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			if errors.Is(err, syscall.ENOSPC) {
				return fmt.Errorf("watching %s: the limit of watched directories is reached; raise it with `sudo sysctl fs.inotify.max_user_watches=524288`", p)
			}
			return fmt.Errorf("watching %s: %w", p, err)
		}
		return nil
	})
	return files, err
}

// Run waits for changes until ctx ends and calls fn with each batch: the
// root-relative paths (sorted) changed since the last batch fn finished.
// fn runs in its own goroutine with a context that ends when a newer batch
// arrives (cause ErrChanged) or ctx ends; the next call waits until it has
// returned and gets the paths of the cancelled batch too. Run returns
// ctx's error once fn has returned.
func (w *Watcher) Run(ctx context.Context, fn func(ctx context.Context, changed []string)) error {
	var (
		fresh      = map[string]bool{} // raw changes since the last quiet period
		pending    = map[string]bool{} // changes no finished batch has seen
		quiet      *time.Timer
		quietC     <-chan time.Time
		done       chan struct{} // closed when the running fn returns; nil when idle
		running    []string
		cancel     context.CancelCauseFunc
		superseded bool
	)
	start := func() {
		running = sortedKeys(pending)
		var bctx context.Context
		bctx, cancel = context.WithCancelCause(ctx)
		done = make(chan struct{})
		go func(d chan struct{}, files []string) {
			defer close(d)
			fn(bctx, files)
		}(done, running)
	}
	defer func() {
		if quiet != nil {
			quiet.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			if done != nil {
				<-done // its context is ctx's child: already cancelled
			}
			return ctx.Err()

		case ev, ok := <-w.fs.Events:
			if !ok {
				return errors.New("watch: the file watcher closed")
			}
			if w.event(ev, fresh) {
				if quiet == nil {
					quiet = time.NewTimer(w.o.Debounce)
				} else {
					quiet.Reset(w.o.Debounce)
				}
				quietC = quiet.C
			}

		case err, ok := <-w.fs.Errors:
			if !ok {
				return errors.New("watch: the file watcher closed")
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.o.Warn("watch: too many changes at once, some were lost; save a file again to re-run its checks")
			} else {
				w.o.Warn("watch: %v", err)
			}

		case <-quietC:
			quietC = nil
			batch := sortedKeys(fresh)
			clear(fresh)
			if w.o.Filter != nil && len(batch) > 0 {
				batch = w.o.Filter(ctx, batch)
			}
			if len(batch) == 0 || ctx.Err() != nil {
				continue
			}
			for _, f := range batch {
				pending[f] = true
			}
			if done != nil {
				cancel(ErrChanged) // restarts when it has returned
				superseded = true
				continue
			}
			start()

		case <-done:
			cancel(nil)
			done = nil
			if !superseded {
				for _, f := range running {
					delete(pending, f)
				}
			}
			superseded = false
			if len(pending) > 0 && ctx.Err() == nil {
				start()
			}
		}
	}
}

// event records what ev changed in fresh and reports whether it counts:
// ignored paths and permission changes (noisy: indexers, virus scanners)
// do not. A new directory is watched, with what is already in it.
func (w *Watcher) event(ev fsnotify.Event, fresh map[string]bool) bool {
	rel, inside := w.rel(ev.Name)
	if !inside || w.ignored(rel) || ev.Op == fsnotify.Chmod {
		return false
	}
	if ev.Has(fsnotify.Create) {
		if st, err := os.Lstat(ev.Name); err == nil && st.IsDir() {
			files, err := w.addTree(ev.Name)
			if err != nil {
				w.o.Warn("watch: %v", err)
			}
			for _, f := range files {
				fresh[f] = true
			}
			return len(files) > 0
		}
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		_ = w.fs.Remove(ev.Name) // a directory that went away: its watch is stale
	}
	fresh[rel] = true
	return true
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
