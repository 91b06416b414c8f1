package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-shellwords"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db"
	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/load"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/services"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// The variables the benchmarks read (documented in .env.example).
const (
	TasksEnv       = "TASKER_BENCH_TASKS"       // round trips per namespace
	ConcurrencyEnv = "TASKER_BENCH_CONCURRENCY" // round trips in flight at once
	ArgsEnv        = "TASKER_BENCH_ARGS"        // extra criterion arguments for rust:bench
	FailEnv        = "TASKER_BENCH_FAIL"        // regressions fail the target instead of warning
)

// Bounds on the end-to-end run, so no setting makes it unbounded.
const (
	maxTasks        = 10_000
	maxConcurrency  = 64
	namespaceLimit  = 5 * time.Minute // per namespace, however many tasks
	warmupPerWorker = 3               // round trips per namespace before measuring, not counted
)

// Dir is where results are written: the target directory's bench/.
func Dir(s *session.S) string { return s.TargetDir("bench") }

// Options shape the end-to-end run.
type Options struct {
	Tasks, Concurrency int
	// Compare compares the results with the baseline at the end; ci:flow
	// compares everything once in its own step instead.
	Compare bool
}

// DefaultOptions: 100 round trips per namespace (so p99 is not simply the
// maximum), 4 at a time: about a second per namespace on two cores with
// debug builds.
var DefaultOptions = Options{Tasks: 100, Concurrency: 4, Compare: true}

// OptionsFrom reads TasksEnv and ConcurrencyEnv (exit 5 when malformed or
// out of bounds).
func OptionsFrom(e *env.Env) (Options, error) {
	o := DefaultOptions
	for _, v := range []struct {
		key      string
		into     *int
		min, max int
	}{{TasksEnv, &o.Tasks, 1, maxTasks}, {ConcurrencyEnv, &o.Concurrency, 1, maxConcurrency}} {
		s := strings.TrimSpace(e.Get(v.key))
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < v.min || n > v.max {
			return o, fail.New(fail.Config, "%s=%q: want a number from %d to %d", v.key, s, v.min, v.max)
		}
		*v.into = n
	}
	return o, nil
}

// Rust is rust:bench: the workspace's criterion benchmarks (bench targets
// only, release profile) on a fresh clone of the migrated database for the
// queue benchmarks, collected into rust.json, printed as a table and
// compared with the baseline.
func Rust(s *session.S) run.Step {
	return run.Step{Name: "rust:bench", Heavy: true, Do: func(ctx context.Context, r *run.Runner) error {
		if err := s.Need(ctx, r, "", "cargo"); err != nil {
			return err
		}
		extra, err := shellwords.Parse(s.Env.Get(ArgsEnv))
		if err != nil {
			return fail.New(fail.Config, "%s=%q: %v; quote it like a shell command line", ArgsEnv, s.Env.Get(ArgsEnv), err)
		}
		argv := []string{"cargo", "bench", "--workspace"}
		for _, e := range workspace.Extensions {
			argv = append(argv, "--exclude", e.Package)
		}
		// Bench targets only: without it cargo also builds and runs every
		// library's unit tests in the release profile.
		argv = append(argv, "--bench", "*")
		if len(extra) > 0 {
			argv = append(append(argv, "--"), extra...)
		}
		home := s.TargetDir(CriterionHome)
		return db.WithClones(ctx, s.On(r), "bench", func(urls db.URLs) error {
			// Criterion's files keep whole-second times on some file systems.
			since := time.Now().Truncate(time.Second)
			c := s.Cmd(".", argv...)
			c.Env = append(urls.Env(), "CRITERION_HOME="+home)
			if err := r.Run(ctx, c); err != nil || r.DryRun() {
				return err
			}
			benches, err := ReadCriterion(home, since)
			if err != nil {
				return err
			}
			if len(benches) == 0 {
				return fail.New(fail.Failed, "cargo bench measured nothing (no new results under %s); is %s filtering everything out?", home, ArgsEnv)
			}
			report := RustReport{Kind: KindRust, Created: time.Now().UTC(), Benchmarks: benches}
			path := s.TargetDir("bench", RustFile)
			if err := writeJSON(path, report); err != nil {
				return err
			}
			PrintRust(r.Stdout(), report)
			r.Infof("%d benchmarks written to %s", len(benches), path)
			return compareKinds(s, r, Results{Rust: &report}, false)
		})
	}}
}

// E2E is rust:benchE2e: Measured against the stack, started as
// rust:testE2e starts it and always stopped (also on failure or Ctrl-C).
func E2E(st services.Stack, o Options) run.Step {
	return st.Around("rust:benchE2e", func(url string) []run.Step { return []run.Step{Measured(st, o, url)} })
}

// Measured drives o.Tasks sum round trips through the orchestration API
// at url to every running worker namespace, one namespace after another,
// o.Concurrency at a time on loopback. It writes e2e.json, prints a table
// and, with o.Compare, compares with the baseline; a failed task fails the
// step after the report is written.
func Measured(st services.Stack, o Options, url string) run.Step {
	return run.Step{Name: "bench:e2e", Do: func(ctx context.Context, r *run.Runner) error {
		namespaces, err := Namespaces(st)
		if err != nil {
			return err
		}
		if len(namespaces) == 0 {
			return fail.New(fail.Config, "%s selects no worker: nothing to benchmark", services.SelectEnv)
		}
		if r.DryRun() {
			r.Infof("would run %d round trips per namespace (%s), %d at a time", o.Tasks, strings.Join(namespaces, ", "), o.Concurrency)
			return nil
		}
		api := load.NewAPI(url, o.Concurrency)
		defer api.Client.CloseIdleConnections()
		report := Measure(ctx, r, api, namespaces, o)
		path := st.S.TargetDir("bench", E2EFile)
		if err := writeJSON(path, report); err != nil {
			return err
		}
		PrintE2E(r.Stdout(), report)
		r.Infof("written to %s", path)
		if report.Total.Errors > 0 {
			for _, n := range report.Namespaces {
				if n.Errors > 0 {
					return fail.New(fail.Failed, "%d of %d %s tasks failed (first: %s); the services' logs are in .tasker/logs/",
						n.Errors, n.Tasks, n.Namespace, n.FirstError)
				}
			}
		}
		if !o.Compare {
			return nil
		}
		return compareKinds(st.S, r, Results{E2E: &report}, false)
	}}
}

// Namespaces are the worker namespaces of the selected services, in the
// stack's order: rust, python, ruby, typescript.
func Namespaces(st services.Stack) ([]string, error) {
	selected, err := st.Selected()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range st.Names() {
		if ns, ok := strings.CutSuffix(name, "-worker"); ok && selected[name] {
			out = append(out, ns)
		}
	}
	return out, nil
}

// Measure runs the round trips against api: per namespace a few warm-up
// trips (connections, caches and runtimes settle; not counted), then
// o.Tasks, each namespace bounded by namespaceLimit and ctx.
func Measure(ctx context.Context, r *run.Runner, api *load.API, namespaces []string, o Options) E2EReport {
	report := E2EReport{Kind: KindE2E, Handler: "sum", TasksPerNamespace: o.Tasks, Concurrency: o.Concurrency,
		PollMs: float64(api.Poll) / float64(time.Millisecond)}
	var wall time.Duration
	for _, ns := range namespaces {
		task := load.Sum(ns)
		trip := func(ctx context.Context) error { return api.RoundTrip(ctx, task) }
		nctx, cancel := context.WithTimeoutCause(ctx, namespaceLimit, fmt.Errorf("%s: over the %s limit", ns, namespaceLimit))
		var n Namespace
		if warm := load.Drive(nctx, warmupPerWorker, o.Concurrency, trip); warm.FirstError != nil {
			n = Namespace{Namespace: ns, Tasks: o.Tasks, Errors: o.Tasks, FirstError: "warm-up: " + warm.FirstError.Error()}
		} else {
			n = namespace(ns, o.Tasks, load.Drive(nctx, o.Tasks, o.Concurrency, trip))
		}
		cancel()
		r.Infof("%s: %d of %d round trips, p50 %s, p99 %s, %.1f tasks/s", ns, n.Tasks-n.Errors, n.Tasks, format(n.P50Ms, "ms"), format(n.P99Ms, "ms"), n.TasksPerSecond)
		report.Namespaces = append(report.Namespaces, n)
		report.Total.Tasks += n.Tasks
		report.Total.Errors += n.Errors
		wall += time.Duration(n.Seconds * float64(time.Second))
	}
	report.Total.Seconds = wall.Seconds()
	if wall > 0 {
		report.Total.TasksPerSecond = float64(report.Total.Tasks-report.Total.Errors) / wall.Seconds()
	}
	report.Created = time.Now().UTC()
	return report
}

// namespace summarises one namespace's measured round trips; tasks that
// never started (the limit passed) count as errors.
func namespace(ns string, tasks int, res load.Result) Namespace {
	st := res.Stats()
	n := Namespace{Namespace: ns, Tasks: tasks, Errors: tasks - st.N,
		P50Ms: ms(st.P50), P99Ms: ms(st.P99), MaxMs: ms(st.Max), MeanMs: ms(st.Mean),
		Seconds: res.Wall.Seconds(), TasksPerSecond: res.PerSecond()}
	if res.FirstError != nil {
		n.FirstError = res.FirstError.Error()
	}
	return n
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// CompareStep is ci:flow's benchmark step: the results under target/bench/
// (whatever ran: this flow's end-to-end run, an earlier rust:bench) against
// the baseline, as warnings; skipped when there are no results.
func CompareStep(s *session.S) run.Step {
	return run.Step{Name: "bench:compare", Do: func(_ context.Context, r *run.Runner) error {
		results, err := ReadResults(Dir(s))
		if err != nil {
			return err
		}
		if len(results.Kinds()) == 0 {
			return run.Skip("no results under " + Dir(s) + " (rust:bench, rust:benchE2e write them)")
		}
		return compareKinds(s, r, results, true)
	}}
}

// compareKinds compares results with the baseline and warns: one line per
// regression or missing metric. Regressions fail only under FailEnv; no
// baseline is a note, not an error.
func compareKinds(s *session.S, r *run.Runner, results Results, ages bool) error {
	b, err := baselineAt(s.Paths.Abs(BaselineFile))
	if errors.Is(err, ErrNoBaseline) {
		r.Infof("%v; `mage rust:benchBaseline` records one from these results", err)
		return nil
	}
	if err != nil {
		return err
	}
	if ages {
		for _, k := range results.Kinds() {
			r.Infof("%s results of %s (%s ago)", k, results.Created[k].Local().Format(time.DateTime),
				time.Since(results.Created[k]).Round(time.Second))
		}
	}
	c := Compare(b, results.Kinds(), results.Metrics())
	for _, w := range c.Warnings() {
		r.Warnf("%s", w)
	}
	for _, i := range c.Improvements {
		r.Infof("faster than the baseline: %s", i)
	}
	r.Infof("%s (baseline of %s, %s)", c.Summary(), b.Recorded.Format(time.DateOnly), b.Commit)
	if len(c.Regressions) > 0 && env.Bool(s.Env, FailEnv) {
		return fail.New(fail.Failed, "%d benchmarks slower than the baseline by more than %.2gx (%s is set)", len(c.Regressions), c.Threshold, FailEnv)
	}
	return nil
}

// RecordBaseline is rust:benchBaseline: the results under target/bench/
// become the committed baseline (the kinds present replace theirs, the
// others stay), with this commit and machine.
func RecordBaseline(s *session.S) run.Step {
	return run.Step{Name: "rust:benchBaseline", Do: func(ctx context.Context, r *run.Runner) error {
		results, err := ReadResults(Dir(s))
		if err != nil {
			return err
		}
		if len(results.Kinds()) == 0 {
			return fail.New(fail.Failed, "no results under %s: run `mage rust:bench` and/or `mage rust:benchE2e` first", Dir(s))
		}
		path := s.Paths.Abs(BaselineFile)
		old, _, err := ReadBaseline(path)
		if err != nil {
			return err
		}
		commit := ""
		if out, err := r.Output(ctx, s.Cmd(".", "git", "rev-parse", "--short", "HEAD")); err == nil {
			commit = strings.TrimSpace(out)
		}
		if old.Note == "" {
			old.Note = "recorded by `mage rust:benchBaseline` from target/bench/; compared by rust:bench, rust:benchE2e and ci:flow"
		}
		nb := old.Record(results, time.Now(), commit, machine(runtime.GOOS, runtime.GOARCH, runtime.NumCPU()))
		if r.DryRun() {
			r.Infof("would write %d metrics to %s", len(nb.Metrics), path)
			return nil
		}
		if err := nb.Write(path); err != nil {
			return err
		}
		r.Infof("%d metrics (%s) written to %s; commit it", len(nb.Metrics), strings.Join(results.Kinds(), ", "), path)
		return nil
	}}
}
