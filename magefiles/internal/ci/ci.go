// Package ci plans the CI pipeline as runner steps: the same targets an
// engineer runs at the desk, in dependency order, parallel where it is safe
// on two cores (compiles take turns through the runner's heavy slot).
package ci

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/affected"
	"github.com/tasker-systems/tasker-build/magefiles/internal/bench"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/junit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	rustpkg "github.com/tasker-systems/tasker-build/magefiles/internal/rust"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// AreasEnv narrows the pipeline to some areas ("rust,python"); CI's matrix
// jobs set it to one area each. Empty means every area.
const AreasEnv = "TASKER_CI_AREAS"

// Select returns the areas AreasEnv names, in registry order (all when it
// is unset). An unknown name is a configuration error listing the valid ones.
func Select(s *session.S, all []lang.Pipeline) ([]lang.Pipeline, error) {
	want := strings.TrimSpace(s.Env.Get(AreasEnv))
	if want == "" {
		return all, nil
	}
	var names []string
	for _, a := range all {
		names = append(names, a.Name())
	}
	var out []lang.Pipeline
	for _, n := range strings.Split(want, ",") {
		i := slices.Index(names, strings.TrimSpace(n))
		if i < 0 {
			return nil, fail.New(fail.Config, "%s=%q: unknown area %q; valid areas: %s", AreasEnv, want, n, strings.Join(names, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// Affected narrows areas to those a change since MAGE_SINCE reaches (all
// of them without it), saying why each runs (see package affected).
func Affected(ctx context.Context, s *session.S, areas []lang.Pipeline) ([]lang.Pipeline, error) {
	names := make([]string, len(areas))
	for i, a := range areas {
		names[i] = a.Name()
	}
	keep, err := affected.Select(ctx, s, names)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(slices.Clone(areas), func(a lang.Pipeline) bool { return !slices.Contains(keep, a.Name()) }), nil
}

// ShardsEnv splits the Rust tests over that many matrix jobs (default 1).
const ShardsEnv = "TASKER_CI_SHARDS"

// Shards is ShardsEnv's value (exit 5 unless a number from 1 to 64).
func Shards(s *session.S) (int, error) {
	v := strings.TrimSpace(s.Env.Get(ShardsEnv))
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 64 {
		return 0, fail.New(fail.Config, "%s=%q: want a number of shards from 1 to 64", ShardsEnv, v)
	}
	return n, nil
}

// Matrix is the GitHub Actions matrix of the jobs Flow runs: one per area,
// each running `ci:flow` with AreasEnv set to it, and the Rust area once per
// shard (shard "K/N", see rust.ShardEnv) when shards > 1. A last job,
// split, runs every area's integration and end-to-end tests with the queue
// in a database of its own (PGMQ_DATABASE_URL, set by the workflow); it is
// left out when no area is selected.
func Matrix(all []lang.Pipeline, shards int) string {
	type job struct {
		Area  string `json:"area"`
		Shard string `json:"shard"`
		Split bool   `json:"split,omitempty"`
	}
	var m struct {
		Include []job `json:"include"`
	}
	for _, a := range all {
		if a.Name() != "rust" || shards <= 1 {
			m.Include = append(m.Include, job{Area: a.Name()})
			continue
		}
		for k := 1; k <= shards; k++ {
			m.Include = append(m.Include, job{Area: a.Name(), Shard: fmt.Sprintf("%d/%d", k, shards)})
		}
	}
	if len(all) > 0 {
		m.Include = append(m.Include, job{Split: true})
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// TestBuildSystem runs the build system's own tests (go test
// ./magefiles/...): the macOS job's check that process handling, the local
// cluster and the services work there.
func TestBuildSystem(s *session.S, _ []lang.Pipeline) run.Step {
	return run.Step{Name: "ci:testBuildSystem", Do: func(ctx context.Context, r *run.Runner) error {
		return r.Run(ctx, s.Cmd(".", "go", "test", "./magefiles/..."))
	}}
}

// BuildTests archives the Rust test binaries once (nextest), for shard
// jobs that run from the archive without compiling.
func BuildTests(s *session.S, _ []lang.Pipeline) run.Step {
	return composite("ci:buildTests", []run.Step{rustpkg.Workspace(s).Archive()})
}

// Setup installs every area's toolchain pieces and dependencies
// (cargo-nextest, the Python venv, npm packages, ...).
func Setup(s *session.S, areas []lang.Pipeline) run.Step {
	return composite("ci:setup", append(fan(s, "setup", lang.Setup, areas), db.InstallServer(s)))
}

// BuildWorkers builds the language workers' native extensions (the Rust
// workspace itself is built by its lint and test steps).
func BuildWorkers(s *session.S, areas []lang.Pipeline) run.Step {
	return composite("ci:buildWorkers", fan(s, "build", lang.Build, workers(areas)))
}

// CodeQuality is every area's format check, lint and type check; for Rust
// also the API docs, cargo audit (skipped when not installed) and
// db:prepareCheck (the sqlx query cache against the migrated schema: it
// sets up the database it clones, so Flow may run it alongside db:setup).
func CodeQuality(s *session.S, areas []lang.Pipeline) run.Step {
	var steps []run.Step
	for _, a := range areas {
		steps = append(steps, a.Quality(s)...)
	}
	if len(rust(areas)) > 0 {
		steps = append(steps, db.PrepareCheckStep(s))
	}
	return composite("ci:codeQuality", steps)
}

// TestRust runs the Rust tests with nextest's ci profile (JUnit) and the doc tests.
func TestRust(s *session.S, areas []lang.Pipeline) run.Step {
	return composite("ci:testRust", testCi(s, rust(areas)))
}

// TestFramework runs each language worker's tests with a JUnit report.
func TestFramework(s *session.S, areas []lang.Pipeline) run.Step {
	return composite("ci:testFramework", testCi(s, workers(areas)))
}

// TestIntegration runs every area's PostgreSQL-backed tests on one clone
// of the migrated template database.
func TestIntegration(s *session.S, areas []lang.Pipeline) run.Step {
	return run.Step{Name: "ci:testIntegration", Do: func(ctx context.Context, r *run.Runner) error {
		return db.WithClone(ctx, s.On(r), "ci", func(url string) error {
			var steps []run.Step
			for _, a := range areas {
				steps = append(steps, a.Integration(s, url)...)
			}
			return r.Serial(ctx, steps...)
		})
	}}
}

// Flow is the pipeline: setup; the workers' builds; code quality alongside
// the database setup; the Rust tests; the workers' tests; the integration
// tests; then the end-to-end run when e2e is given (every area selected)
// and the comparison of benchmark results with the baseline.
// A Rust shard job after the first (rust.ShardEnv "K/N", K > 1) runs only
// setup and its slice of the Rust tests: the first shard runs the rest.
func Flow(s *session.S, areas []lang.Pipeline, e2e *run.Step) []run.Step {
	if k, _, ok := strings.Cut(s.Env.Get(rustpkg.ShardEnv), "/"); ok && k != "1" {
		return []run.Step{Setup(s, areas), TestRust(s, areas)}
	}
	prepare := run.Step{Name: "ci:prepare", Do: func(ctx context.Context, r *run.Runner) error {
		return r.Parallel(ctx, CodeQuality(s, areas), db.SetupStep(s, nil))
	}}
	steps := []run.Step{Setup(s, areas), BuildWorkers(s, areas), prepare, TestRust(s, areas), TestFramework(s, areas), TestIntegration(s, areas)}
	if e2e != nil {
		// The end-to-end share ends with a benchmark; its results (and an
		// earlier rust:bench's) are compared with the baseline: warnings only.
		steps = append(steps, *e2e, bench.CompareStep(s))
	}
	return steps
}

// MergedReport is where MergeReports writes the one JUnit report CI uploads.
func MergedReport(s *session.S) string { return s.Paths.Abs("target", "junit.xml") }

// MergeReports merges the areas' JUnit reports written during this
// session (older ones are left out) into MergedReport, labelled by area,
// and says what went in.
func MergeReports(s *session.S, r *run.Runner, areas []lang.Pipeline) error {
	var inputs []junit.Input
	for _, a := range areas {
		for _, p := range a.Reports(s) {
			if junit.Fresh(p, s.Start) == nil {
				inputs = append(inputs, junit.Input{Label: a.Name(), Path: p})
			}
		}
	}
	if len(inputs) == 0 || r.DryRun() {
		return nil
	}
	out := MergedReport(s)
	if err := junit.Merge(out, inputs); err != nil {
		return err
	}
	merged, err := junit.Read(out)
	if err != nil {
		return err
	}
	r.Infof("JUnit: %d reports merged into %s (%s)", len(inputs), out, merged.Summary())
	return nil
}

func fan(s *session.S, verb string, action lang.Action, areas []lang.Pipeline) []run.Step {
	return lang.Fan(s, verb, action, lang.Areas(areas)...)
}

func testCi(s *session.S, areas []lang.Pipeline) []run.Step {
	var steps []run.Step
	for _, a := range areas {
		steps = append(steps, a.TestCi(s)...)
	}
	return steps
}

func rust(areas []lang.Pipeline) []lang.Pipeline {
	return slices.DeleteFunc(slices.Clone(areas), func(a lang.Pipeline) bool { return a.Name() != "rust" })
}

func workers(areas []lang.Pipeline) []lang.Pipeline {
	return slices.DeleteFunc(slices.Clone(areas), func(a lang.Pipeline) bool { return a.Name() == "rust" })
}

func composite(name string, steps []run.Step) run.Step {
	return run.Step{Name: name, Do: run.SerialDo(steps)}
}
