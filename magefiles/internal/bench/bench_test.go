package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/kit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/load"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

func baseline(metrics map[string]float64) Baseline {
	return Baseline{Threshold: 1.5, Metrics: metrics}
}

func names(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// Slower (or, for rates, lower) than the threshold allows is a regression;
// within it is nothing; faster is an improvement, never a warning.
func TestCompareFindsRegressionsOnly(t *testing.T) {
	b := baseline(map[string]float64{
		"rust/a/median_ns":          100,
		"rust/b/median_ns":          100,
		"rust/c/median_ns":          100,
		"e2e/rust/p50_ms":           20,
		"e2e/rust/tasks_per_second": 100,
		"e2e/ruby/tasks_per_second": 100,
		"e2e/ts/tasks_per_second":   100,
	})
	now := []Metric{
		{Name: "rust/a/median_ns", Value: 151, Unit: "ns"},                                     // 1.51x slower
		{Name: "rust/b/median_ns", Value: 149, Unit: "ns"},                                     // within
		{Name: "rust/c/median_ns", Value: 40, Unit: "ns"},                                      // 2.5x faster
		{Name: "e2e/rust/p50_ms", Value: 10, Unit: "ms"},                                       // faster
		{Name: "e2e/rust/tasks_per_second", Value: 60, Unit: "tasks/s", HigherIsBetter: true},  // 1.67x worse
		{Name: "e2e/ruby/tasks_per_second", Value: 300, Unit: "tasks/s", HigherIsBetter: true}, // better
		{Name: "e2e/ts/tasks_per_second", Value: 0, Unit: "tasks/s", HigherIsBetter: true},     // none at all
	}
	c := Compare(b, []string{KindRust, KindE2E}, now)
	if got, want := names(c.Regressions), []string{"rust/a/median_ns", "e2e/rust/tasks_per_second", "e2e/ts/tasks_per_second"}; !slices.Equal(got, want) {
		t.Errorf("regressions %q, want %q", got, want)
	}
	if got, want := names(c.Improvements), []string{"rust/c/median_ns", "e2e/rust/p50_ms", "e2e/ruby/tasks_per_second"}; !slices.Equal(got, want) {
		t.Errorf("improvements %q, want %q", got, want)
	}
	if c.Compared != 7 || len(c.Missing) != 0 || len(c.New) != 0 {
		t.Errorf("compared %d, missing %q, new %q", c.Compared, c.Missing, c.New)
	}
	w := c.Warnings()
	if len(w) != 3 {
		t.Fatalf("warnings %q, want one per regression", w)
	}
	for i, want := range []string{
		"rust/a/median_ns: baseline 100.0 ns, now 151.0 ns (1.51x worse)",
		"e2e/rust/tasks_per_second: baseline 100.0 tasks/s, now 60.0 tasks/s (1.67x worse)",
		"e2e/ts/tasks_per_second: baseline 100.0 tasks/s, now 0.0 tasks/s (none now)",
	} {
		if !strings.HasSuffix(w[i], want) {
			t.Errorf("warning %q, want it to end %q", w[i], want)
		}
	}
	if !math.IsInf(c.Regressions[2].Ratio, 1) {
		t.Errorf("a rate of zero: ratio %v", c.Regressions[2].Ratio)
	}
	if s := c.Summary(); s != "7 metrics compared with the baseline (threshold 1.5x): 3 regressions, 3 improvements" {
		t.Errorf("summary %q", s)
	}
}

// A baseline metric the run did not produce is reported, but only for the
// kinds that ran (no rust.json: its metrics are not missing); a metric the
// baseline lacks is new, not compared.
func TestCompareReportsMissingAndNew(t *testing.T) {
	b := baseline(map[string]float64{
		"rust/gone/median_ns": 100,
		"e2e/rust/p50_ms":     20,
		"e2e/python/p50_ms":   20,
		"e2e/zero/p50_ms":     0, // cannot be a ratio's base
	})
	now := []Metric{{Name: "e2e/rust/p50_ms", Value: 21, Unit: "ms"}, {Name: "e2e/ruby/p50_ms", Value: 5, Unit: "ms"},
		{Name: "e2e/zero/p50_ms", Value: 3, Unit: "ms"}}
	c := Compare(b, []string{KindE2E}, now)
	if !slices.Equal(c.Missing, []string{"e2e/python/p50_ms"}) {
		t.Errorf("missing %q, want only e2e/python/p50_ms", c.Missing)
	}
	if !slices.Equal(c.New, []string{"e2e/ruby/p50_ms", "e2e/zero/p50_ms"}) {
		t.Errorf("new %q", c.New)
	}
	if c.Compared != 1 || len(c.Regressions) != 0 {
		t.Errorf("compared %d, regressions %v", c.Compared, c.Regressions)
	}
	w := c.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "missing from this run: e2e/python/p50_ms") {
		t.Errorf("warnings %q", w)
	}
	if s := c.Summary(); !strings.HasSuffix(s, ", 1 missing, 2 not in the baseline yet") {
		t.Errorf("summary %q", s)
	}
	// The same results with rust.json present: its metrics are missing too.
	if c := Compare(b, []string{KindRust, KindE2E}, now); !slices.Equal(c.Missing, []string{"e2e/python/p50_ms", "rust/gone/median_ns"}) {
		t.Errorf("missing %q", c.Missing)
	}
}

func TestBaselineFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bench-baseline.json")
	if _, ok, err := ReadBaseline(path); ok || err != nil {
		t.Fatalf("no file: ok %v, err %v", ok, err)
	}
	if _, err := baselineAt(path); err == nil || !strings.Contains(err.Error(), "no baseline at "+path) {
		t.Errorf("baselineAt: %v", err)
	}
	for body, want := range map[string]string{
		`{"metrics":{}}`:                       "",
		`{"threshold":0.5,"metrics":{}}`:       "threshold 0.5 is below 1",
		`{"threshold":"x"}`:                    "bench-baseline.json: json: cannot unmarshal",
		`{"threshold":2,"metrics":{"a":1` + "": "unexpected end of JSON input",
	} {
		os.WriteFile(path, []byte(body), 0o644)
		b, ok, err := ReadBaseline(path)
		switch {
		case want == "" && (err != nil || !ok || b.Threshold != DefaultThreshold):
			t.Errorf("%s: %+v %v %v, want the default threshold", body, b, ok, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}

// Recording replaces the kinds that ran and keeps the others; the file is
// sorted JSON that reads back the same.
func TestRecordKeepsTheOtherKind(t *testing.T) {
	old := Baseline{Note: "n", Threshold: 2, Metrics: map[string]float64{
		"rust/a/median_ns": 1, "rust/old/median_ns": 1, "e2e/rust/p50_ms": 30}}
	e2e := E2EReport{Namespaces: []Namespace{{Namespace: "rust", Tasks: 10, P50Ms: 12, P99Ms: 20, TasksPerSecond: 90}},
		Total: Total{Tasks: 10, TasksPerSecond: 90}}
	when := time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC)
	nb := old.Record(Results{E2E: &e2e}, when, "abc123", "linux/amd64, 2 cores")
	want := map[string]float64{"rust/a/median_ns": 1, "rust/old/median_ns": 1, "e2e/rust/p50_ms": 12, "e2e/rust/p99_ms": 20,
		"e2e/rust/tasks_per_second": 90, "e2e/total/tasks_per_second": 90}
	if fmt.Sprint(nb.Metrics) != fmt.Sprint(want) || nb.Threshold != 2 || nb.Note != "n" || nb.Commit != "abc123" ||
		!nb.Recorded.Equal(when.Truncate(time.Second)) {
		t.Fatalf("recorded %+v", nb)
	}
	if len(old.Metrics) != 3 || old.Metrics["e2e/rust/p50_ms"] != 30 {
		t.Errorf("Record changed the old baseline: %v", old.Metrics)
	}
	rust := RustReport{Benchmarks: []RustBench{{Name: "a", MedianNs: 557.2948202123271}}}
	if nb := old.Record(Results{Rust: &rust}, when, "", ""); fmt.Sprint(nb.Metrics) != fmt.Sprint(map[string]float64{"rust/a/median_ns": 557.3, "e2e/rust/p50_ms": 30}) {
		t.Errorf("re-recording rust: %v (rust/old must go, e2e stay)", nb.Metrics)
	}
	path := filepath.Join(t.TempDir(), "b.json")
	if err := nb.Write(path); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if i, j := bytes.Index(raw, []byte(`"e2e/rust/p50_ms"`)), bytes.Index(raw, []byte(`"rust/a/median_ns"`)); i < 0 || j < i {
		t.Errorf("metrics not sorted by name:\n%s", raw)
	}
	back, ok, err := ReadBaseline(path)
	if err != nil || !ok || fmt.Sprint(back.Metrics) != fmt.Sprint(nb.Metrics) {
		t.Errorf("read back %+v %v", back, err)
	}
}

// copyTree copies testdata/criterion to a temporary directory (criterion's
// layout, with fresh modification times).
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// Real criterion output: each benchmark's id, estimates and iteration
// count; base/ (criterion's previous run) and directories older than the
// run are not this run's.
func TestReadCriterion(t *testing.T) {
	dir := copyTree(t, filepath.Join("testdata", "criterion"))
	since := time.Now().Add(-time.Minute)
	old := filepath.Join(dir, "dispatch", "step", "new", "benchmark.json")
	if err := os.Chtimes(old, since.Add(-time.Hour), since.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCriterion(dir, since)
	if err != nil {
		t.Fatal(err)
	}
	want := []RustBench{
		{Name: "messages/step_message_encode", MeanNs: 389.40542694773666, MedianNs: 391.06075574215856,
			StdDevNs: 23.39785817837277, Samples: 50, Iterations: 5162475},
		{Name: "queue/send_read_delete", MeanNs: 1478879.1436219967, MedianNs: 1478459.874814815,
			StdDevNs: 135339.2258536355, Samples: 30, Iterations: 2325},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got\n%+v\nwant\n%+v", got, want)
	}
	all, err := ReadCriterion(dir, time.Time{})
	if err != nil || len(all) != 3 || all[0].Name != "dispatch/step" {
		t.Errorf("since zero: %+v %v", all, err)
	}
	if none, err := ReadCriterion(filepath.Join(dir, "nothing-here"), since); err != nil || none != nil {
		t.Errorf("no directory: %v %v", none, err)
	}
	os.WriteFile(filepath.Join(dir, "queue", "send_read_delete", "new", "estimates.json"), []byte("{"), 0o644)
	if _, err := ReadCriterion(dir, since); err == nil || !strings.Contains(err.Error(), "estimates.json") {
		t.Errorf("a broken estimates.json: %v", err)
	}
}

func TestReportsRoundTripAndNameTheirMetrics(t *testing.T) {
	dir := t.TempDir()
	if r, err := ReadResults(dir); err != nil || len(r.Kinds()) != 0 {
		t.Fatalf("empty dir: %+v %v", r, err)
	}
	when := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	rust := RustReport{Kind: KindRust, Created: when, Benchmarks: []RustBench{{Name: "messages/x", MeanNs: 2, MedianNs: 1}}}
	e2e := E2EReport{Kind: KindE2E, Created: when, Namespaces: []Namespace{
		{Namespace: "rust", Tasks: 3, P50Ms: 1, P99Ms: 2, TasksPerSecond: 50},
		{Namespace: "ruby", Tasks: 3, Errors: 1, P50Ms: 1, P99Ms: 2, TasksPerSecond: 10},
	}, Total: Total{Tasks: 6, Errors: 1, TasksPerSecond: 30}}
	if err := writeJSON(filepath.Join(dir, RustFile), rust); err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(filepath.Join(dir, E2EFile), e2e); err != nil {
		t.Fatal(err)
	}
	r, err := ReadResults(dir)
	if err != nil || !slices.Equal(r.Kinds(), []string{KindRust, KindE2E}) || !r.Created[KindE2E].Equal(when) {
		t.Fatalf("%+v %v", r, err)
	}
	var got []string
	for _, m := range r.Metrics() {
		got = append(got, fmt.Sprintf("%s=%g", m.Name, m.Value))
	}
	// ruby failed a task: none of its figures, and no total rate either.
	want := []string{"rust/messages/x/median_ns=1", "e2e/rust/p50_ms=1", "e2e/rust/p99_ms=2", "e2e/rust/tasks_per_second=50"}
	if !slices.Equal(got, want) {
		t.Errorf("metrics %q, want %q", got, want)
	}
	os.WriteFile(filepath.Join(dir, RustFile), []byte("not json"), 0o644)
	if _, err := ReadResults(dir); err == nil || !strings.Contains(err.Error(), RustFile) {
		t.Errorf("a broken rust.json: %v", err)
	}
}

func TestTablesAndUnits(t *testing.T) {
	for v, want := range map[float64]string{812: "812.0 ns", 1430: "1.43 µs", 2.1e6: "2.10 ms"} {
		if got := format(v, "ns"); got != want {
			t.Errorf("format(%g ns) = %q, want %q", v, got, want)
		}
	}
	var out bytes.Buffer
	PrintE2E(&out, E2EReport{Handler: "sum", TasksPerNamespace: 2, Concurrency: 1, PollMs: 5,
		Namespaces: []Namespace{{Namespace: "python", Tasks: 2, P50Ms: 18.25, P99Ms: 21, MaxMs: 21, MeanMs: 19, TasksPerSecond: 51.5}},
		Total:      Total{Tasks: 2, TasksPerSecond: 51.5}})
	for _, want := range []string{"2 sum tasks per namespace, 1 at a time, status polled every 5ms",
		"namespace  tasks  errors  p50      p99", "python     2      0       18.2 ms  21.0 ms", "total      2      0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	PrintRust(&out, RustReport{Benchmarks: []RustBench{{Name: "queue/send_read_delete", MedianNs: 1.48e6, MeanNs: 1.5e6, StdDevNs: 1.3e5, Samples: 30, Iterations: 2325}}})
	if !strings.Contains(out.String(), "queue/send_read_delete  1.48 ms  1.50 ms  130.00 µs  30       2325") {
		t.Errorf("table:\n%s", out.String())
	}
}

func TestOptionsFromTheEnvironment(t *testing.T) {
	s, _ := kit.TestSession(t, t.TempDir())
	if o, err := OptionsFrom(s.Env); err != nil || o != DefaultOptions {
		t.Errorf("unset: %+v %v", o, err)
	}
	s, _ = kit.TestSession(t, t.TempDir(), TasksEnv+"=7", ConcurrencyEnv+"=3")
	if o, err := OptionsFrom(s.Env); err != nil || o.Tasks != 7 || o.Concurrency != 3 {
		t.Errorf("7 and 3: %+v %v", o, err)
	}
	for _, bad := range []string{TasksEnv + "=0", TasksEnv + "=10001", TasksEnv + "=many", ConcurrencyEnv + "=65"} {
		s, _ := kit.TestSession(t, t.TempDir(), bad)
		if _, err := OptionsFrom(s.Env); fail.Code(err) != fail.Config || !strings.Contains(err.Error(), "want a number from") {
			t.Errorf("%s: %v, want exit 5", bad, err)
		}
	}
}

// Measure against an orchestration API stand-in: every namespace gets its
// own figures, a failing namespace its errors and first error, and the
// warm-up round trips are not counted.
func TestMeasureSummarisesEachNamespace(t *testing.T) {
	var submitted atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			var body struct{ Namespace string }
			json.NewDecoder(r.Body).Decode(&body)
			n := submitted.Add(1)
			if body.Namespace == "ruby" {
				n = -n // the stand-in's ruby tasks fail
			}
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"task_id":%d}`, n)
			return
		}
		time.Sleep(time.Millisecond)
		if strings.HasPrefix(r.URL.Path, "/v1/tasks/-") {
			fmt.Fprint(w, `{"status":"error","result":null,"error":"ruby says no"}`)
			return
		}
		fmt.Fprint(w, `{"status":"complete","result":{"sum":42},"error":null}`)
	}))
	defer srv.Close()
	api := load.NewAPI(srv.URL, 2)
	r := run.New(run.Options{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	rep := Measure(context.Background(), r, api, []string{"rust", "ruby", "python"}, Options{Tasks: 8, Concurrency: 2})
	if got := submitted.Load(); got != 3+8+3+3+8 { // ruby stops at its warm-up
		t.Errorf("%d tasks submitted, want warm-ups and 8 per healthy namespace", got)
	}
	if len(rep.Namespaces) != 3 || rep.TasksPerNamespace != 8 || rep.Concurrency != 2 || rep.PollMs != 5 {
		t.Fatalf("%+v", rep)
	}
	for _, n := range []Namespace{rep.Namespaces[0], rep.Namespaces[2]} {
		if n.Tasks != 8 || n.Errors != 0 || n.P50Ms <= 0 || n.P50Ms > n.P99Ms || n.P99Ms > n.MaxMs || n.TasksPerSecond <= 0 {
			t.Errorf("%+v", n)
		}
	}
	ruby := rep.Namespaces[1]
	if ruby.Errors != 8 || !strings.Contains(ruby.FirstError, "warm-up: ruby/sum: task") || !strings.Contains(ruby.FirstError, "ended error: ruby says no") {
		t.Errorf("ruby: %+v", ruby)
	}
	if rep.Total.Tasks != 24 || rep.Total.Errors != 8 || rep.Total.TasksPerSecond <= 0 {
		t.Errorf("total %+v", rep.Total)
	}
}

// ci:flow's step: skipped without results; with them, one warning per
// regression and success, unless FailEnv asks for a failure.
// rust:benchBaseline writes what the comparison then reads.
func TestCompareStepWarnsAndRecordBaselineRecords(t *testing.T) {
	root := t.TempDir()
	step := func(vars ...string) (string, error) {
		s, out := kit.TestSession(t, root, vars...)
		err := s.Run.Serial(context.Background(), CompareStep(s))
		return out.String(), err
	}
	if out, err := step(); err != nil || !strings.Contains(out, "no results under "+filepath.Join(root, "target", "bench")) {
		t.Fatalf("no results: %v\n%s", err, out)
	}
	e2e := E2EReport{Kind: KindE2E, Created: time.Now(), Namespaces: []Namespace{{Namespace: "rust", Tasks: 5, P50Ms: 10, P99Ms: 12, TasksPerSecond: 100}},
		Total: Total{Tasks: 5, TasksPerSecond: 100}}
	if err := writeJSON(filepath.Join(root, "target", "bench", E2EFile), e2e); err != nil {
		t.Fatal(err)
	}
	if out, err := step(); err != nil || !strings.Contains(out, "no baseline at "+filepath.Join(root, BaselineFile)) {
		t.Fatalf("no baseline: %v\n%s", err, out)
	}
	s, out := kit.TestSession(t, root)
	if err := s.Run.Serial(context.Background(), RecordBaseline(s)); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := step(); err != nil || !strings.Contains(out, "4 metrics compared with the baseline (threshold 1.5x): 0 regressions") {
		t.Fatalf("against itself: %v\n%s", err, out)
	}
	e2e.Namespaces[0].P99Ms = 30 // 2.5x the baseline
	writeJSON(filepath.Join(root, "target", "bench", E2EFile), e2e)
	out2, err := step()
	if err != nil || !strings.Contains(out2, "warning: slower than the baseline: e2e/rust/p99_ms: baseline 12.0 ms, now 30.0 ms (2.50x worse)") {
		t.Fatalf("a regression must warn, not fail: %v\n%s", err, out2)
	}
	if out, err := step(FailEnv + "=1"); fail.Code(err) != fail.Failed || !strings.Contains(err.Error(), "1 benchmarks slower than the baseline") {
		t.Fatalf("%s=1: %v\n%s", FailEnv, err, out)
	}
}
