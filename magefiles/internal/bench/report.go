// Package bench records and compares benchmark results: the crates'
// criterion benchmarks (rust:bench) and task round trips through the
// running stack (rust:benchE2e). Each run writes JSON under target/bench/
// and prints a table; both are compared with one committed baseline
// (.config/bench-baseline.json), and a metric worse than the baseline's
// threshold is a warning, never a failure unless asked for (FailEnv).
package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The result files, under the target directory's bench/.
const (
	RustFile = "rust.json"
	E2EFile  = "e2e.json"
)

// Kinds of results; every metric name starts with its kind and a slash.
const (
	KindRust = "rust"
	KindE2E  = "e2e"
)

// Metric is one number a run produced, named for the baseline:
// "rust/messages/step_message_encode/median_ns", "e2e/python/p99_ms".
type Metric struct {
	Name           string
	Value          float64
	Unit           string // "ns", "ms", "tasks/s"
	HigherIsBetter bool
}

// RustReport is rust.json: one entry per criterion benchmark of the run.
type RustReport struct {
	Kind       string      `json:"kind"`
	Created    time.Time   `json:"created"`
	Benchmarks []RustBench `json:"benchmarks"`
}

// RustBench is one criterion benchmark's estimates (per iteration).
type RustBench struct {
	Name       string  `json:"name"` // criterion's id: "messages/step_message_encode"
	MeanNs     float64 `json:"mean_ns"`
	MedianNs   float64 `json:"median_ns"`
	StdDevNs   float64 `json:"std_dev_ns"`
	Samples    int     `json:"samples"`
	Iterations int64   `json:"iterations"`
}

// Metrics are the medians: on a shared two-core machine a few slow
// samples move the mean far more than the median.
func (r RustReport) Metrics() []Metric {
	var out []Metric
	for _, b := range r.Benchmarks {
		out = append(out, Metric{Name: KindRust + "/" + b.Name + "/median_ns", Value: b.MedianNs, Unit: "ns"})
	}
	return out
}

// E2EReport is e2e.json: task round trips per worker namespace.
type E2EReport struct {
	Kind              string      `json:"kind"`
	Created           time.Time   `json:"created"`
	Handler           string      `json:"handler"`
	TasksPerNamespace int         `json:"tasks_per_namespace"`
	Concurrency       int         `json:"concurrency"`
	PollMs            float64     `json:"poll_ms"`
	Namespaces        []Namespace `json:"namespaces"`
	Total             Total       `json:"total"`
}

// Namespace is one worker namespace's round trips: submit a task to the
// orchestration API, poll until it is final.
type Namespace struct {
	Namespace      string  `json:"namespace"`
	Tasks          int     `json:"tasks"`
	Errors         int     `json:"errors"`
	FirstError     string  `json:"first_error,omitempty"`
	P50Ms          float64 `json:"p50_ms"`
	P99Ms          float64 `json:"p99_ms"`
	MaxMs          float64 `json:"max_ms"`
	MeanMs         float64 `json:"mean_ms"`
	Seconds        float64 `json:"seconds"`
	TasksPerSecond float64 `json:"tasks_per_second"`
}

// Total sums the namespaces, run one after another.
type Total struct {
	Tasks          int     `json:"tasks"`
	Errors         int     `json:"errors"`
	Seconds        float64 `json:"seconds"`
	TasksPerSecond float64 `json:"tasks_per_second"`
}

// Metrics are each namespace's p50, p99 and rate, and the total rate. A
// namespace with failed tasks has none: its figures mean nothing, and the
// comparison lists them as missing.
func (r E2EReport) Metrics() []Metric {
	var out []Metric
	for _, n := range r.Namespaces {
		if n.Errors > 0 {
			continue
		}
		p := KindE2E + "/" + n.Namespace + "/"
		out = append(out,
			Metric{Name: p + "p50_ms", Value: n.P50Ms, Unit: "ms"},
			Metric{Name: p + "p99_ms", Value: n.P99Ms, Unit: "ms"},
			Metric{Name: p + "tasks_per_second", Value: n.TasksPerSecond, Unit: "tasks/s", HigherIsBetter: true})
	}
	if r.Total.Errors == 0 && r.Total.Tasks > 0 {
		out = append(out, Metric{Name: KindE2E + "/total/tasks_per_second", Value: r.Total.TasksPerSecond, Unit: "tasks/s", HigherIsBetter: true})
	}
	return out
}

// Results are the result files found in a directory.
type Results struct {
	Rust *RustReport
	E2E  *E2EReport
	// Created says when each file present was written, for the comparison's
	// header ("rust.json of 2 h ago").
	Created map[string]time.Time
}

// Kinds lists the kinds present.
func (r Results) Kinds() []string {
	var out []string
	if r.Rust != nil {
		out = append(out, KindRust)
	}
	if r.E2E != nil {
		out = append(out, KindE2E)
	}
	return out
}

// Metrics are every present report's metrics.
func (r Results) Metrics() []Metric {
	var out []Metric
	if r.Rust != nil {
		out = append(out, r.Rust.Metrics()...)
	}
	if r.E2E != nil {
		out = append(out, r.E2E.Metrics()...)
	}
	return out
}

// ReadResults reads rust.json and e2e.json from dir; a missing file is
// simply absent, an unreadable one an error naming it.
func ReadResults(dir string) (Results, error) {
	res := Results{Created: map[string]time.Time{}}
	var rust RustReport
	ok, err := readJSON(filepath.Join(dir, RustFile), &rust)
	if err != nil {
		return res, err
	}
	if ok {
		res.Rust = &rust
		res.Created[KindRust] = rust.Created
	}
	var e2e E2EReport
	if ok, err = readJSON(filepath.Join(dir, E2EFile), &e2e); err != nil {
		return res, err
	}
	if ok {
		res.E2E = &e2e
		res.Created[KindE2E] = e2e.Created
	}
	return res, nil
}

func readJSON(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w (delete it or run the benchmark again)", path, err)
	}
	return true, nil
}

// writeJSON writes v indented, through a temporary file so a reader never
// sees half a report.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
