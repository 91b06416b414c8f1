package coverage

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

var areas = []string{"rust", "python", "ruby", "typescript"}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadThresholds(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ThresholdsFile)
	th, err := LoadThresholds(path, areas)
	if err != nil || len(th.Lines) != 0 {
		t.Fatalf("no file: %+v, %v; want no thresholds", th, err)
	}
	writeFile(t, path, `{"comment": "why", "lines": {"rust": 70, "python": 92.5}}`)
	if th, err = LoadThresholds(path, areas); err != nil || th.Lines["python"] != 92.5 {
		t.Fatalf("valid file: %+v, %v", th, err)
	}
	bad := map[string]string{
		`{"lines": {"pyhton": 90}}`: `unknown area "pyhton"`,
		`{"lines": {"ruby": 101}}`:  "not a percentage",
		`{"lines": {"ruby": -1}}`:   "not a percentage",
		`{"line": {"ruby": 90}}`:    "unknown field",
		`{"lines": {"ruby": "90"}}`: "cannot unmarshal",
	}
	for text, want := range bad {
		writeFile(t, path, text)
		if _, err := LoadThresholds(path, areas); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", text, err, want)
		}
	}
}

func report(t *testing.T, text string) Report {
	t.Helper()
	rep, err := Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestSummaryMissesNameAreaFigureAndThreshold(t *testing.T) {
	reports := map[string]Report{
		"rust":   report(t, "SF:a\nDA:1,1\nDA:2,1\nDA:3,0\nend_of_record\n"), // 66.6%
		"python": report(t, "SF:b\nDA:1,1\nend_of_record\n"),                 // 100%
	}
	th := Thresholds{Lines: map[string]float64{"rust": 66.7, "python": 100, "ruby": 90}}
	sum := Summarize(areas, reports, th)
	if len(sum.Rows) != 2 || sum.Total != (Totals{Hit: 3, Found: 4}) {
		t.Fatalf("summary = %+v", sum)
	}
	misses := sum.Misses()
	want := "rust line coverage 66.6% (2 of 3 lines) is below its threshold 66.7% (coverage-thresholds.json)"
	if len(misses) != 1 || misses[0] != want {
		t.Errorf("misses = %q, want [%q]", misses, want)
	}
	var text bytes.Buffer
	sum.Text(&text)
	for _, w := range []string{"rust    2/3", "66.6%", "66.7%", "below", "python  1/1", "100.0%", "total   3/4", "75.0%"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("table lacks %q:\n%s", w, text.String())
		}
	}
	md := sum.Markdown()
	for _, w := range []string{"### Coverage", "| rust | 2/3 | 66.6% | 66.7% | ❌ below |", "| python | 1/1 | 100.0% | 100% | ✅ ok |", "| **total** | 3/4 | 75.0% |"} {
		if !strings.Contains(md, w) {
			t.Errorf("markdown lacks %q:\n%s", w, md)
		}
	}
}

// fakeSession is a session on a throwaway root with env's variables and
// the runner's output in out.
func fakeSession(t *testing.T, out *bytes.Buffer, vars ...string) *session.S {
	t.Helper()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "go.mod"), "module example\n")
	e, err := env.Load(root, vars)
	if err != nil {
		t.Fatal(err)
	}
	return session.New(root, e, run.Options{Stdout: out, Stderr: out})
}

func TestSummariseFailsPerMissedThresholdAndWritesTheStepSummary(t *testing.T) {
	var out bytes.Buffer
	stepSummary := filepath.Join(t.TempDir(), "summary.md")
	s := fakeSession(t, &out, "GITHUB_STEP_SUMMARY="+stepSummary)
	writeFile(t, s.Paths.Abs(ThresholdsFile), `{"lines": {"rust": 80, "python": 50, "ruby": 99}}`)
	writeFile(t, Path(s, "rust"), "SF:crates/a/src/lib.rs\nDA:1,1\nDA:2,0\nend_of_record\n")
	writeFile(t, Path(s, "python"), "SF:workers/python/python/p.py\nDA:1,1\nend_of_record\n")
	writeFile(t, Path(s, "ruby"), "SF:workers/ruby/lib/r.rb\nDA:1,1\nDA:2,1\nDA:3,0\nend_of_record\n")

	err := s.Run.Serial(context.Background(), Summarise(s, []string{"rust", "python", "ruby"}, false))
	if fail.Code(err) != fail.Failed {
		t.Fatalf("exit code %d (%v), want %d", fail.Code(err), err, fail.Failed)
	}
	for _, w := range []string{
		"rust line coverage 50.0% (1 of 2 lines) is below its threshold 80%",
		"ruby line coverage 66.6% (2 of 3 lines) is below its threshold 99%",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), "python line coverage") {
		t.Errorf("python met its threshold, yet: %v", err)
	}
	md, rerr := os.ReadFile(stepSummary)
	if rerr != nil || !strings.Contains(string(md), "| ruby | 2/3 | 66.6% | 99% | ❌ below |") {
		t.Errorf("step summary = %q, %v", md, rerr)
	}
	merged, rerr := ReadFile(MergedPath(s))
	if rerr != nil || len(merged) != 3 || merged.Totals() != (Totals{Hit: 4, Found: 6}) {
		t.Errorf("merged lcov = %+v, %v", merged, rerr)
	}
	if !strings.Contains(out.String(), "total   4/6") {
		t.Errorf("the table is not printed:\n%s", out.String())
	}
}

func TestSummariseNeedsEveryAreasReportUnlessPartial(t *testing.T) {
	var out bytes.Buffer
	s := fakeSession(t, &out)
	writeFile(t, Path(s, "rust"), "SF:crates/a/src/lib.rs\nDA:1,1\nend_of_record\n")
	err := s.Run.Serial(context.Background(), Summarise(s, []string{"rust", "python"}, false))
	if fail.Code(err) != fail.Failed || !strings.Contains(err.Error(), "python has no coverage report at target/coverage/python.lcov") {
		t.Errorf("a missing report: %v", err)
	}
	if err := s.Run.Serial(context.Background(), Summarise(s, []string{"rust", "python"}, true)); err != nil {
		t.Errorf("partial summary: %v", err)
	}
	// after a failure that left no report at all, the summary is skipped
	// (the failure is the error that counts)
	if err := s.Run.Serial(context.Background(), Summarise(s, []string{"python"}, true)); err != nil {
		t.Errorf("partial summary of nothing: %v", err)
	}
	// a typo in the thresholds is a configuration error, not a pass
	writeFile(t, s.Paths.Abs(ThresholdsFile), `{"lines": {"rsut": 80}}`)
	if err := s.Run.Serial(context.Background(), Summarise(s, []string{"rust"}, false)); fail.Code(err) != fail.Config {
		t.Errorf("a bad thresholds file: exit %d (%v), want %d", fail.Code(err), err, fail.Config)
	}
}

func TestCollectKeepsTheMeasuredFilesNamedFromTheRoot(t *testing.T) {
	var out bytes.Buffer
	s := fakeSession(t, &out)
	raw := t.TempDir()
	bun, deno := filepath.Join(raw, "bun.lcov"), filepath.Join(raw, "deno.lcov")
	writeFile(t, bun, "SF:src/core.ts\nDA:1,1\nDA:3,1\nend_of_record\nSF:test/helper.ts\nDA:1,1\nend_of_record\n")
	writeFile(t, deno, "SF:"+s.Paths.Abs("w", "src", "core.ts")+"\nDA:1,1\nDA:2,0\nDA:3,1\nend_of_record\n"+
		"SF:"+s.Paths.Abs("w", "src", "deno.ts")+"\nDA:1,0\nend_of_record\n")
	src := Source{Area: "typescript", Base: s.Paths.Abs("w"), Keep: []string{"w/src"}}

	merged, err := Collect(s, src, []string{bun, deno})
	if err != nil || merged != (Totals{Hit: 2, Found: 4}) { // core.ts: union of lines 1-3; deno.ts
		t.Errorf("line-by-line merge = %+v, %v; want 2 of 4", merged, err)
	}
	src.FirstWins = true
	first, err := Collect(s, src, []string{bun, deno})
	if err != nil || first != (Totals{Hit: 2, Found: 3}) { // core.ts from bun only; deno.ts from deno
		t.Errorf("first wins = %+v, %v; want 2 of 3", first, err)
	}
	rep, err := ReadFile(Path(s, "typescript"))
	if err != nil || strings.Join(rep.Paths(), " ") != "w/src/core.ts w/src/deno.ts" {
		t.Errorf("report files = %v, %v", rep.Paths(), err)
	}
	src.Keep = []string{"elsewhere"}
	if _, err := Collect(s, src, []string{bun}); err == nil || !strings.Contains(err.Error(), "no executable lines") {
		t.Errorf("nothing measured: %v", err)
	}
}
