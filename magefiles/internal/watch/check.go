package watch

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/affected"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// Interrupted is the exit code of a watch stopped by Ctrl-C or SIGTERM: the
// shell's 128+SIGINT, since stopping is how a watch normally ends.
const Interrupted = 130

// Checks is `mage watch`: it watches the repository and, for each batch of
// changes, runs the check of every area in areas the batch reaches, until ctx
// ends; then it returns an error with exit code Interrupted once the running
// check and its processes have stopped.
func Checks(ctx context.Context, s *session.S, areas []lang.Area) error {
	g, err := affected.Load(ctx, s)
	if err != nil {
		return err
	}
	w, err := New(s.Paths.Root, Options{
		Ignore: underDir(s.Paths.Root, s.TargetDir()),
		Filter: GitFilter(s.Run, s.Paths.Root),
		Warn:   s.Run.Warnf,
	})
	if err != nil {
		return err
	}
	defer w.Close()
	c := Check{S: s, Graph: g, Areas: areas}
	c.Watching()
	if err := w.Run(ctx, c.Run); err != nil && ctx.Err() == nil {
		return err
	}
	return &fail.Error{Code: Interrupted, Msg: "watch stopped"}
}

// Check runs one batch: the areas it reaches, each printed with its reason,
// then their checks in parallel as the root check runs them, then one line
// with the outcome and the time.
type Check struct {
	S     *session.S
	Graph affected.Graph
	Areas []lang.Area
}

// Watching says the watch is waiting for changes.
func (c Check) Watching() { c.S.Run.Infof("watching for changes… (Ctrl-C stops)") }

// Run checks the areas changed reaches.
func (c Check) Run(ctx context.Context, changed []string) {
	r := c.S.Run
	r.Infof("changed: %s", shortList(changed, 5))
	names := make([]string, len(c.Areas))
	for i, a := range c.Areas {
		names[i] = a.Name()
	}
	why := c.Graph.Areas(changed, names)
	var reached []lang.Area
	for _, a := range c.Areas {
		if reason, ok := why[a.Name()]; ok {
			r.Infof("affected: %s (%s)", a.Name(), reason)
			reached = append(reached, a)
		}
	}
	if len(reached) == 0 {
		r.Infof("nothing affected")
		c.Watching()
		return
	}
	// The runner keeps every result of the session; this batch's are the
	// ones recorded from here on (Results lists later top-level steps last).
	before := len(r.Results())
	start := time.Now()
	err := r.Parallel(ctx, lang.Fan(c.S, "check", lang.Check, reached...)...)
	took := time.Since(start)
	totals := run.Totals(r.Results()[before:], took)
	switch {
	case errors.Is(context.Cause(ctx), ErrChanged):
		r.Infof("check stopped after %s: files changed again, starting over", run.Duration(took))
		return
	case ctx.Err() != nil:
		r.Infof("check stopped: %s", totals)
		return
	case err != nil:
		r.Infof("check FAILED: %s (%v)", totals, err)
	default:
		r.Infof("check passed: %s", totals)
	}
	c.Watching()
}

// shortList names up to n paths and how many more there are.
func shortList(paths []string, n int) string {
	if len(paths) <= n {
		return strings.Join(paths, ", ")
	}
	return fmt.Sprintf("%s (+%d more)", strings.Join(paths[:n], ", "), len(paths)-n)
}

// underDir drops dir (an in-tree CARGO_TARGET_DIR) when it is inside root;
// nil otherwise.
func underDir(root, dir string) func(string) bool {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil
	}
	rel = filepath.ToSlash(rel)
	return func(p string) bool { return p == rel || strings.HasPrefix(p, rel+"/") }
}

// gitChunk bounds the paths given to one git command (argument length).
const gitChunk = 200

// GitFilter drops the paths git ignores: what builds leave in the tree
// outside the ignored directories, such as the extensions copied next to a
// worker's sources (*.so), so that a check's own outputs do not start it
// again. Where git cannot tell (no repository), it keeps every path and
// says so once.
func GitFilter(r *run.Runner, root string) func(context.Context, []string) []string {
	var once sync.Once
	return func(ctx context.Context, paths []string) []string {
		ignored := map[string]bool{}
		for i := 0; i < len(paths); i += gitChunk {
			chunk := paths[i:min(i+gitChunk, len(paths))]
			out, err := r.Output(ctx, run.Cmd{Argv: append([]string{"git", "-c", "core.quotePath=false", "check-ignore", "--"}, chunk...), Dir: root})
			var xe *run.ExitError
			if ctx.Err() != nil {
				return paths // the watch is ending; Run drops this batch
			}
			if err != nil && !(errors.As(err, &xe) && xe.Code == 1) { // 1: none of them is ignored
				once.Do(func() { r.Warnf("watch: git cannot say which files it ignores, so every change counts: %v", err) })
				return paths
			}
			// One path a line (-z needs --stdin, which the runner does not
			// feed); a name git still quotes (a quote, a backslash, a
			// newline) does not match and is kept, the safe side.
			for _, p := range strings.Split(out, "\n") {
				if p != "" {
					ignored[p] = true
				}
			}
		}
		kept := paths[:0:0]
		for _, p := range paths {
			if !ignored[p] {
				kept = append(kept, p)
			}
		}
		return kept
	}
}
