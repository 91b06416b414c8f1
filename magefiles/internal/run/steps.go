package run

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/gha"
)

// Serial runs steps one after another and stops at the first failure; the
// steps it did not reach are recorded as skipped. With KeepGoing it runs
// them all and returns the first failure.
func (r *Runner) Serial(ctx context.Context, steps ...Step) error {
	var first error
	for i, s := range steps {
		if err := ctx.Err(); err != nil {
			r.notRun(steps[i:], Cancelled, "cancelled")
			return err
		}
		err := r.runStep(ctx, r.shared.begin(r.parent), s, r.out, r.errw)
		switch {
		case err == nil:
		case !r.o.KeepGoing:
			r.notRun(steps[i+1:], Skipped, "not run: "+s.Name+" failed")
			return err
		case first == nil:
			first = err
		}
	}
	return first
}

// Parallel runs up to Options.Jobs steps at once. The first failure cancels
// the others and is the error returned; it names its step. With KeepGoing
// all of them run and the error is the failure of the earliest step in plan
// order. Heavy steps take turns. Output of overlapping steps is prefixed
// with the step name (or, in GitHub Actions, collected and printed as one
// group per step).
func (r *Runner) Parallel(ctx context.Context, steps ...Step) error {
	if len(steps) <= 1 || r.o.Jobs == 1 {
		return r.Serial(ctx, steps...)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slots := make(chan struct{}, r.o.Jobs)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
		errs     = make([]error, len(steps))
	)
	for i, s := range steps {
		seq := r.shared.begin(r.parent) // the summary lists them in plan order
		wg.Add(1)
		go func(s Step) {
			defer wg.Done()
			cancelled := func() {
				r.shared.record(seq, Result{Name: s.Name, Status: Cancelled, Note: "cancelled", Depth: r.depth})
			}
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			case <-ctx.Done():
				cancelled()
				return
			}
			if ctx.Err() != nil {
				cancelled()
				return
			}
			if err := r.parallelStep(ctx, seq, s); err != nil {
				errs[i] = err
				if !r.o.KeepGoing {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		}(s)
	}
	wg.Wait()
	if r.o.KeepGoing {
		firstErr = cmp.Or(errs...)
	}
	if firstErr == nil {
		return ctx.Err()
	}
	return firstErr
}

// parallelStep runs s with its output either prefixed (terminal) or buffered
// and printed as one block when it ends (GitHub Actions, where groups cannot
// interleave).
func (r *Runner) parallelStep(ctx context.Context, seq int, s Step) error {
	if r.o.GitHub && r.depth == 0 {
		var buf bytes.Buffer
		w := &lockedWriter{w: &buf}
		err := r.runStep(ctx, seq, s, w, w)
		r.shared.writeMu.Lock()
		fmt.Fprint(r.o.Stderr, buf.String())
		r.shared.writeMu.Unlock()
		return err
	}
	out := newPrefixWriter(r.out, "["+s.Name+"] ", &r.shared.writeMu)
	errw := newPrefixWriter(r.errw, "["+s.Name+"] ", &r.shared.writeMu)
	defer out.Flush()
	defer errw.Flush()
	return r.runStep(ctx, seq, s, out, errw)
}

// runStep runs one step on a child runner writing to out/errw and records
// its result in slot seq.
func (r *Runner) runStep(ctx context.Context, seq int, s Step, out, errw io.Writer) error {
	child := *r
	child.out, child.errw, child.step, child.depth, child.parent = out, errw, s.Name, r.depth+1, seq
	if s.Heavy && !r.heavy {
		select {
		case r.shared.heavy <- struct{}{}:
			defer func() { <-r.shared.heavy }()
			child.heavy = true
		case <-ctx.Done():
			r.shared.record(seq, Result{Name: s.Name, Status: Cancelled, Note: "cancelled", Depth: r.depth})
			return ctx.Err()
		}
	}
	group := r.o.GitHub && r.depth == 0
	if group {
		child.printf("%s\n", gha.Group(s.Name))
	}
	start := time.Now()
	err := s.Do(ctx, &child)
	took := time.Since(start)
	if group {
		child.printf("%s\n", gha.EndGroup())
	}
	res := Result{Name: s.Name, Status: Passed, Duration: took, Err: err, Depth: r.depth}
	var skip *SkipError
	var hit *CachedError
	switch {
	case errors.As(err, &hit):
		res.Status, res.Note, res.Saved, res.Err, err = Cached, hit.note(), hit.Saved, nil, nil
		child.line("↺", "%s %s", s.Name, hit.note())
	case errors.As(err, &skip):
		res.Status, res.Note, err = Skipped, skip.Why, nil
		res.Err = nil
		child.line("○", "%s skipped: %s", s.Name, skip.Why)
	case err != nil && ctx.Err() != nil:
		res.Status, res.Note = Cancelled, "cancelled"
	case err != nil:
		res.Status = Failed
		if !mentions(err, s.Name) {
			err = &StepError{Step: s.Name, Err: err}
		}
		res.Err = err
	}
	r.shared.record(seq, res)
	if res.Status == Failed && r.depth == 0 {
		child.line("✘", "%s failed after %s", s.Name, Duration(took))
	}
	return err
}

// Skip ends a step without running it; the summary shows why. Return it
// from a Step's Do, e.g. when an optional runtime is not installed.
func Skip(why string) error { return &SkipError{Why: why} }

// SkipError is returned by Skip.
type SkipError struct{ Why string }

func (e *SkipError) Error() string { return "skipped: " + e.Why }

// FromCache ends a step whose success was replayed from the action cache
// (from "local" or "remote"); saved is what the recorded run took.
func FromCache(saved time.Duration, from string) error { return &CachedError{Saved: saved, From: from} }

// CachedError is returned by FromCache.
type CachedError struct {
	Saved time.Duration
	From  string
}

func (e *CachedError) Error() string { return e.note() }

func (e *CachedError) note() string {
	return fmt.Sprintf("cached (%s), saved %s", e.From, Duration(e.Saved))
}

// StepError names the step that failed.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

func mentions(err error, step string) bool {
	var se *StepError
	if errors.As(err, &se) && se.Step == step {
		return true
	}
	var xe *ExitError
	return errors.As(err, &xe) && xe.Step == step
}

func (r *Runner) notRun(steps []Step, st Status, note string) {
	for _, s := range steps {
		r.shared.record(r.shared.begin(r.parent), Result{Name: s.Name, Status: st, Note: note, Depth: r.depth})
	}
}

// begin reserves the result slot of a step that starts now under the step
// in slot parent.
func (sh *shared) begin(parent int) int {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.seq++
	sh.results = append(sh.results, Result{})
	sh.parents = append(sh.parents, parent)
	return sh.seq - 1
}

func (sh *shared) record(seq int, res Result) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.results[seq] = res
}

// Results returns every step recorded so far: each step right after the
// step that ran it, siblings in the order they started, whatever order
// parallel steps started or finished in.
func (r *Runner) Results() []Result {
	r.shared.mu.Lock()
	defer r.shared.mu.Unlock()
	children := map[int][]int{}
	for i, p := range r.shared.parents {
		children[p] = append(children[p], i)
	}
	out := make([]Result, 0, len(r.shared.results))
	var visit func(parent int)
	visit = func(parent int) {
		for _, i := range children[parent] {
			if res := r.shared.results[i]; res.Name != "" {
				out = append(out, res)
			}
			visit(i)
		}
	}
	visit(-1)
	return out
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// SerialDo is a Step.Do that runs steps one after another on the step's
// runner: how composite steps (rust:check = format, lint, test, ...) nest.
func SerialDo(steps []Step) func(context.Context, *Runner) error {
	return func(ctx context.Context, r *Runner) error { return r.Serial(ctx, steps...) }
}

// ExitStatus keeps the exit code of the wrapped error (mage reads it).
func (e *StepError) ExitStatus() int { return fail.Code(e.Err) }
