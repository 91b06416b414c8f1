package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/gha"
)

// Runner runs commands and steps. A Runner is safe for concurrent use; steps
// get a child Runner that shares the parent's results and heavy slot.
type Runner struct {
	o      Options
	out    io.Writer // child stdout and the step's own lines
	errw   io.Writer // child stderr and progress lines
	step   string    // name of the step this runner belongs to ("" at top level)
	depth  int       // nesting of steps: GitHub groups only at depth 0
	parent int       // the result slot of this runner's step (-1 at top level)
	heavy  bool      // this runner's step holds the heavy slot
	shared *shared
}

type shared struct {
	mu      sync.Mutex
	results []Result
	parents []int // parents[i] is the slot of the step that ran step i (-1: none)
	seq     int
	heavy   chan struct{}
	writeMu sync.Mutex // whole lines from parallel steps never interleave
}

// New returns a top-level Runner.
func New(o Options) *Runner {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Grace <= 0 {
		o.Grace = 5 * time.Second
	}
	if o.Jobs <= 0 {
		o.Jobs = 2
	}
	if o.Redact == nil {
		o.Redact = func(s string) string { return s }
	}
	return &Runner{o: o, out: o.Stdout, errw: o.Stderr, parent: -1, shared: &shared{heavy: make(chan struct{}, 1)}}
}

// GitHub reports whether output is for GitHub Actions (groups, annotations).
func (r *Runner) GitHub() bool { return r.o.GitHub }

// DryRun reports whether commands are printed instead of run.
func (r *Runner) DryRun() bool { return r.o.DryRun }

// Env returns a copy of the base environment.
func (r *Runner) Env() []string { return append([]string(nil), r.o.Env...) }

// Infof prints a progress line on stderr.
func (r *Runner) Infof(format string, args ...any) { r.line("•", format, args...) }

// Warnf prints a warning line on stderr (a GitHub warning annotation in Actions).
func (r *Runner) Warnf(format string, args ...any) {
	if r.o.GitHub {
		r.printf("%s\n", gha.Warning(r.o.Redact(fmt.Sprintf(format, args...))))
		return
	}
	r.line("!", "warning: "+format, args...)
}

func (r *Runner) line(mark, format string, args ...any) {
	r.printf("%s %s\n", mark, r.o.Redact(fmt.Sprintf(format, args...)))
}

// printf writes one formatted chunk in a single Write, so lines from
// concurrent steps stay whole (prefix writers serialise on the shared lock).
func (r *Runner) printf(format string, args ...any) {
	_, _ = io.WriteString(r.errw, fmt.Sprintf(format, args...))
}

// Run runs c, streaming its output, and reports how long it took. A non-zero
// exit is an error that names the step, the command and the exit code.
func (r *Runner) Run(ctx context.Context, c Cmd) error {
	if err := c.validate(); err != nil {
		return err
	}
	label := r.describe(c)
	if r.o.DryRun {
		r.printf("[dry-run] %s\n", label)
		return nil
	}
	r.line("▶", "%s", label)
	start := time.Now()
	out := r.out
	if c.Filter != nil {
		f := c.Filter(r.out)
		defer f.Close()
		out = f
	}
	err := r.exec(ctx, c, out, r.errw)
	took := time.Since(start)
	if err != nil {
		err = r.cmdError(c, err, took)
		r.line("✘", "%s (%s)", err, Duration(took))
		return err
	}
	r.line("✔", "%s (%s)", r.short(c), Duration(took))
	return nil
}

// Output runs c quietly and returns its stdout without the trailing newline.
// It is meant for read-only queries (versions, status) and runs even in
// dry-run mode. On failure the error carries the end of stderr.
func (r *Runner) Output(ctx context.Context, c Cmd) (string, error) {
	if err := c.validate(); err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	if err := r.exec(ctx, c, &stdout, &stderr); err != nil {
		err = r.cmdError(c, err, 0)
		if tail := lastLines(stderr.String(), 3); tail != "" {
			err = fmt.Errorf("%w: %s", err, r.o.Redact(tail))
		}
		return strings.TrimRight(stdout.String(), "\n"), err
	}
	return strings.TrimRight(stdout.String(), "\r\n"), nil
}

func (c Cmd) validate() error {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return errors.New("run: empty command")
	}
	if !filepath.IsAbs(c.Dir) {
		return fmt.Errorf("run: working directory %q of %q is not absolute", c.Dir, c.Argv[0])
	}
	return nil
}

// describe renders the exact command: overrides, argv (shell-quoted for
// copy and paste) and the directory.
// shortPath shows a PATH override that prepends to the base PATH as
// "PATH=<prepended>:$PATH", so command lines stay readable.
func (r *Runner) shortPath(kv string) string {
	base := lookup(r.o.Env, "PATH")
	if key(kv) != "PATH" || base == "" {
		return kv
	}
	if prefix, ok := strings.CutSuffix(kv, string(os.PathListSeparator)+base); ok {
		return prefix + string(os.PathListSeparator) + "$PATH"
	}
	return kv
}

func (r *Runner) describe(c Cmd) string {
	var b strings.Builder
	if r.step != "" {
		b.WriteString(r.step + ": ")
	}
	for _, kv := range c.Env {
		b.WriteString(Quote(r.shortPath(kv)) + " ")
	}
	b.WriteString(QuoteArgs(c.Argv))
	b.WriteString("  (in " + c.Dir + ")")
	return r.o.Redact(b.String())
}

// short names a finished command in a few words: "rust:lint: cargo clippy --workspace …".
func (r *Runner) short(c Cmd) string {
	words := append([]string{filepath.Base(c.Argv[0])}, c.Argv[1:]...)
	if len(words) > 3 {
		words = append(words[:3], "…")
	}
	s := strings.Join(words, " ")
	if r.step != "" {
		s = r.step + ": " + s
	}
	return r.o.Redact(s)
}

// ExitError is a command that ran and failed.
type ExitError struct {
	Step string
	Argv []string
	Code int // -1 when killed by a signal or not started
	Err  error
}

func (e *ExitError) Error() string {
	what := QuoteArgs(e.Argv)
	if e.Step != "" {
		what = e.Step + ": " + what
	}
	switch {
	case errors.Is(e.Err, context.Canceled), errors.Is(e.Err, context.DeadlineExceeded):
		return what + " was cancelled"
	case e.Code >= 0:
		return fmt.Sprintf("%s exited with code %d", what, e.Code)
	default:
		return fmt.Sprintf("%s failed: %v", what, e.Err)
	}
}

func (e *ExitError) Unwrap() error { return e.Err }

func (r *Runner) cmdError(c Cmd, err error, _ time.Duration) error {
	var notFound *exec.Error
	if errors.As(err, &notFound) {
		how := "run `mage doctor` for the install command"
		if r.o.InstallHint != nil {
			if h := r.o.InstallHint(filepath.Base(c.Argv[0])); h != "" {
				how = "install with " + h
			}
		}
		return fail.New(fail.MissingTool, "%s: %s is not installed or not on PATH; %s", r.stepOr(c.Argv[0]), c.Argv[0], how)
	}
	e := &ExitError{Step: r.step, Argv: c.Argv, Code: -1, Err: err}
	var xe *exec.ExitError
	if errors.As(err, &xe) && xe.Exited() {
		e.Code = xe.ExitCode()
	}
	return e
}

func (r *Runner) stepOr(s string) string {
	if r.step != "" {
		return r.step
	}
	return s
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, " | "))
}

// Duration formats d for humans: 0.42s, 12.3s, 2m03s.
func Duration(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
}

// Stdout is where this runner's step writes reports (prefixed in parallel
// steps, collected per group in GitHub Actions).
func (r *Runner) Stdout() io.Writer { return r.out }
