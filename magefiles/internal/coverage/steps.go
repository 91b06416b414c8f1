package coverage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/gha"
	"github.com/tasker-systems/tasker-build/magefiles/internal/kit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// Dir is where the reports go: <root>/target/coverage, beside the JUnit
// reports (the root's target/ even when CARGO_TARGET_DIR moves builds).
func Dir(s *session.S) string { return s.Paths.Abs("target", "coverage") }

// Path is an area's report: target/coverage/<area>.lcov, source files
// named relative to the root.
func Path(s *session.S, area string) string { return filepath.Join(Dir(s), area+".lcov") }

// MergedPath is every area's report in one lcov file.
func MergedPath(s *session.S) string { return filepath.Join(Dir(s), "lcov.info") }

// rawDir is scratch space for a tool's own output.
func rawDir(s *session.S, area string) string { return filepath.Join(Dir(s), "raw", area) }

// Areas are the areas that can have a threshold: rust and every worker.
func Areas() []string {
	out := []string{"rust"}
	for _, e := range workspace.Extensions {
		out = append(out, e.Worker)
	}
	return out
}

// Source says what of a tool's lcov counts for an area.
type Source struct {
	Area string
	Base string   // absolute directory that relative SF paths are taken against
	Keep []string // root-relative directories measured; none: all the tool reports
	// FirstWins takes each file from the first input that has it instead of
	// merging inputs line by line: for reports of different instrumenters,
	// which disagree on which lines are executable (Deno counts closing
	// braces, Bun does not), so a union would count lines no runtime could
	// hit.
	FirstWins bool
}

// Produce runs an area's instrumented tests with raw (absolute, fresh and
// empty) for their output, and returns the lcov files they wrote.
type Produce func(ctx context.Context, r *run.Runner, raw string) ([]string, error)

// collecting is a step's work: forget the area's last report (a failed
// run must not leave an old figure behind), produce, then Collect.
func collecting(s *session.S, src Source, produce Produce) func(context.Context, *run.Runner) error {
	return func(ctx context.Context, r *run.Runner) error {
		raw := rawDir(s, src.Area)
		if !r.DryRun() {
			if err := os.Remove(Path(s, src.Area)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			if err := errors.Join(os.RemoveAll(raw), os.MkdirAll(raw, 0o755)); err != nil {
				return err
			}
		}
		inputs, err := produce(ctx, r, raw)
		if err != nil || r.DryRun() {
			return err
		}
		t, err := Collect(s, src, inputs)
		if err != nil {
			return fail.New(fail.Failed, "%s coverage: %v", src.Area, err)
		}
		r.Infof("%s line coverage: %s → %s", src.Area, t, s.Paths.Rel(Path(s, src.Area)))
		return nil
	}
}

// Collect reads the tool's lcov files, names their sources relative to the
// root, keeps the measured directories and writes the area's report. A
// report with no lines is an error: the tests ran nothing measured.
func Collect(s *session.S, src Source, inputs []string) (Totals, error) {
	rep := Report{}
	for _, in := range inputs {
		part, err := ReadFile(in)
		if err != nil {
			return Totals{}, err
		}
		part = part.Rebase(src.Base, s.Paths.Root)
		if src.FirstWins {
			part = part.Without(rep)
		}
		rep.Merge(part)
	}
	rep = rep.Keep(src.Keep...)
	t := rep.Totals()
	if t.Found == 0 {
		return t, fmt.Errorf("no executable lines under %s in %s", strings.Join(src.Keep, ", "), strings.Join(inputs, ", "))
	}
	return t, rep.WriteFile(Path(s, src.Area))
}

// WorkerStep is a worker's coverage step ("python:coverage"): it checks
// the tools, runs produce and writes target/coverage/<worker>.lcov with
// the files under keep (root-relative).
func WorkerStep(kt kit.Kit, tools, keep []string, produce Produce) run.Step {
	return kt.Do("coverage", false, tools, collecting(kt.S, WorkerSource(kt, keep), produce))
}

// WorkerSource is the Source of a worker's reports: relative paths are
// the worker directory's, keep its measured directories.
func WorkerSource(kt kit.Kit, keep []string) Source {
	return Source{Area: kt.Ext.Worker, Base: kt.S.Paths.Abs(kt.Dir), Keep: keep}
}

// WorkerStepFrom is WorkerStep with a Source of its own (FirstWins, say).
func WorkerStepFrom(kt kit.Kit, tools []string, src Source, produce Produce) run.Step {
	return kt.Do("coverage", false, tools, collecting(kt.S, src, produce))
}

// Rust runs the workspace's tests instrumented with cargo-llvm-cov (the
// extensions excluded, as every rust: target does) into
// target/coverage/rust.lcov. Its instrumented build lives in cargo-llvm-cov's
// own target directory (target/llvm-cov-target), so the normal build stays
// valid. nextest runs the tests where it is installed, as in rust:test.
func Rust(s *session.S) run.Step {
	src := Source{Area: "rust", Base: s.Paths.Root}
	return run.Step{Name: "rust:coverage", Heavy: true, Do: collecting(s, src, func(ctx context.Context, r *run.Runner, raw string) ([]string, error) {
		if err := s.Need(ctx, r, "", "cargo", "cargo-llvm-cov", "llvm-tools"); err != nil {
			return nil, err
		}
		llvm, err := toolchain.FindLLVMTools(ctx, r, s.PATH())
		switch {
		case err != nil && r.DryRun():
			llvm = toolchain.LLVMTools{Profdata: "llvm-profdata", Cov: "llvm-cov", From: "PATH (dry run)"}
		case err != nil:
			return nil, fail.Wrap(fail.MissingTool, err, "rust coverage")
		}
		if llvm.Major > 0 {
			// A rustc newer than this LLVM makes llvm-profdata say
			// "unsupported instrumentation profile format version".
			r.Infof("llvm-profdata and llvm-cov of LLVM %d from %s", llvm.Major, llvm.From)
		} else {
			r.Infof("llvm-profdata and llvm-cov from %s", llvm.From)
		}
		runner := []string{}
		if missing := s.Need(ctx, r, "", "cargo-nextest"); missing != nil {
			r.Warnf("%v; cargo llvm-cov runs `cargo test` instead", missing)
		} else {
			runner = []string{"nextest"}
		}
		out := filepath.Join(raw, "rust.lcov")
		argv := append(append([]string{"cargo", "llvm-cov"}, runner...), "--workspace")
		for _, e := range workspace.Extensions {
			argv = append(argv, "--exclude", e.Package)
		}
		argv = append(append(argv, "--lcov", "--output-path", out), s.TestArgs...)
		c := s.Cmd(".", argv...)
		c.Env = []string{"LLVM_PROFDATA=" + llvm.Profdata, "LLVM_COV=" + llvm.Cov}
		if err := r.Run(ctx, c); err != nil {
			return nil, err
		}
		return []string{out}, nil
	})}
}

// Summarise is the step that ends every coverage target: it reads the
// areas' reports, merges them into target/coverage/lcov.info, prints one
// table (appended to $GITHUB_STEP_SUMMARY when that is set) and fails with
// one line per area below its threshold in coverage-thresholds.json. An
// area without a report fails too, unless partial (an earlier step failed,
// and its error is the one that counts).
func Summarise(s *session.S, areas []string, partial bool) run.Step {
	return run.Step{Name: "coverage:summary", Do: func(_ context.Context, r *run.Runner) error {
		if r.DryRun() {
			r.Infof("dry run: would summarise %s against %s", strings.Join(areas, ", "), ThresholdsFile)
			return nil
		}
		th, err := LoadThresholds(s.Paths.Abs(ThresholdsFile), Areas())
		if err != nil {
			return fail.New(fail.Config, "%v", err)
		}
		reports := map[string]Report{}
		merged := Report{}
		var problems []string
		for _, a := range areas {
			rep, err := ReadFile(Path(s, a))
			switch {
			case errors.Is(err, os.ErrNotExist) && partial:
				continue
			case errors.Is(err, os.ErrNotExist):
				problems = append(problems, fmt.Sprintf("%s has no coverage report at %s (its coverage step did not finish)", a, s.Paths.Rel(Path(s, a))))
				continue
			case err != nil:
				return fail.New(fail.Failed, "%v", err)
			}
			reports[a] = rep
			merged.Merge(rep)
		}
		if len(reports) == 0 && partial {
			return run.Skip("no area finished its coverage")
		}
		if len(reports) == 0 {
			return errors.Join(fail.New(fail.Failed, "no coverage reports to summarise"), joinProblems(problems))
		}
		if err := merged.WriteFile(MergedPath(s)); err != nil {
			return err
		}
		sum := Summarize(areas, reports, th)
		sum.Text(r.Stdout())
		r.Infof("lcov: %s (every area), per area %s", s.Paths.Rel(MergedPath(s)), s.Paths.Rel(filepath.Join(Dir(s), "<area>.lcov")))
		if path := s.Env.Get("GITHUB_STEP_SUMMARY"); path != "" {
			if err := gha.AppendSummary(path, sum.Markdown()+"\n"); err != nil {
				r.Warnf("could not write the coverage summary to %s: %v", path, err)
			}
		}
		misses := sum.Misses()
		if r.GitHub() {
			for _, m := range misses {
				fmt.Fprintln(r.Stdout(), gha.Annotation{Level: "error", Title: "coverage", Message: m})
			}
		}
		return joinProblems(append(problems, misses...))
	}}
}

// joinProblems is one failure listing each problem on its own line.
func joinProblems(problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return fail.New(fail.Failed, "coverage:\n  %s", strings.Join(problems, "\n  "))
}

// Plan is the steps of every area's coverage, in areas' order: the Rust
// workspace's, and each worker's after its setup, build and freshness
// check.
func Plan(s *session.S, areas []string, workers []lang.Worker) []run.Step {
	var steps []run.Step
	for _, a := range areas {
		if a == "rust" {
			steps = append(steps, Rust(s))
			continue
		}
		for _, w := range workers {
			if w.Name() == a {
				steps = append(steps, run.Step{Name: a + ":coverage", Do: run.SerialDo(lang.Loaded(w, s, lang.Worker.Coverage))})
			}
		}
	}
	return steps
}

// All runs the coverage of areas one after another, then the summary over
// them; after a failure the summary still shows the areas that finished.
func All(ctx context.Context, s *session.S, areas []string, workers []lang.Worker) error {
	for _, a := range areas { // an area that fails early must not show an old figure
		if s.Run.DryRun() {
			break
		}
		if err := os.Remove(Path(s, a)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	err := s.Run.Serial(ctx, Plan(s, areas, workers)...)
	if ctx.Err() != nil {
		return err
	}
	if serr := s.Run.Serial(ctx, Summarise(s, areas, err != nil)); err == nil {
		return serr
	}
	return err
}
