package bench

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// BaselineFile is the committed baseline, relative to the root.
const BaselineFile = ".config/bench-baseline.json"

// DefaultThreshold is how much worse than the baseline a metric may be
// before it is reported: generous, because a shared two-core machine
// easily varies by a third between runs.
const DefaultThreshold = 1.5

// Baseline is the committed reference: each metric's value when it was
// recorded (rust:benchBaseline), and the threshold for regressions.
type Baseline struct {
	Note      string             `json:"note,omitempty"`
	Recorded  time.Time          `json:"recorded"`
	Commit    string             `json:"commit,omitempty"`
	Machine   string             `json:"machine,omitempty"`
	Threshold float64            `json:"threshold"`
	Metrics   map[string]float64 `json:"metrics"`
}

// ReadBaseline reads the baseline at path; ok is false when there is none.
func ReadBaseline(path string) (b Baseline, ok bool, err error) {
	ok, err = readJSON(path, &b)
	if err != nil || !ok {
		return b, ok, err
	}
	if b.Threshold == 0 {
		b.Threshold = DefaultThreshold
	}
	if b.Threshold < 1 {
		return b, true, fmt.Errorf("%s: threshold %g is below 1 (1.5 reports metrics 1.5x worse)", path, b.Threshold)
	}
	return b, true, nil
}

// Record replaces the baseline's metrics of the kinds results holds with
// their current values, keeping the other kinds' (re-recording only the
// end-to-end figures keeps the crates' ones).
func (b Baseline) Record(results Results, now time.Time, commit, machine string) Baseline {
	out := b
	out.Metrics = map[string]float64{}
	kinds := results.Kinds()
	for name, v := range b.Metrics {
		if !slices.Contains(kinds, kindOf(name)) {
			out.Metrics[name] = v
		}
	}
	for _, m := range results.Metrics() {
		out.Metrics[m.Name] = round(m.Value)
	}
	if out.Threshold == 0 {
		out.Threshold = DefaultThreshold
	}
	out.Recorded, out.Commit, out.Machine = now.UTC().Truncate(time.Second), commit, machine
	return out
}

// round keeps four significant digits: run-to-run noise is far larger,
// and short numbers keep the committed file readable.
func round(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	return r
}

// Write writes the baseline to path (metrics sorted by name, so a new
// baseline is a readable diff).
func (b Baseline) Write(path string) error { return writeJSON(path, b) }

// Change is one metric against its baseline; Ratio is how many times worse
// it is (above 1) or better (below 1), whichever way the metric improves.
type Change struct {
	Name      string
	Base, Now float64
	Unit      string
	Ratio     float64
}

func (c Change) String() string {
	return fmt.Sprintf("%s: baseline %s, now %s (%s)", c.Name, format(c.Base, c.Unit), format(c.Now, c.Unit), c.describe())
}

func (c Change) describe() string {
	switch {
	case math.IsInf(c.Ratio, 1):
		return "none now"
	case c.Ratio >= 1:
		return fmt.Sprintf("%.2fx worse", c.Ratio)
	default:
		return fmt.Sprintf("%.2fx better", 1/c.Ratio)
	}
}

// Comparison is a run's metrics against the baseline.
type Comparison struct {
	Threshold    float64
	Compared     int
	Regressions  []Change // worse than the threshold
	Improvements []Change // better than the threshold
	Missing      []string // in the baseline for a kind that ran, not in the results
	New          []string // in the results, not in the baseline
}

// Compare compares metrics with the baseline. Only the baseline's metrics
// of the given kinds (those that ran) can be missing.
func Compare(b Baseline, kinds []string, metrics []Metric) Comparison {
	c := Comparison{Threshold: b.Threshold}
	if c.Threshold == 0 {
		c.Threshold = DefaultThreshold
	}
	seen := map[string]bool{}
	for _, m := range metrics {
		seen[m.Name] = true
		base, ok := b.Metrics[m.Name]
		if !ok || base <= 0 {
			c.New = append(c.New, m.Name)
			continue
		}
		c.Compared++
		ch := Change{Name: m.Name, Base: base, Now: m.Value, Unit: m.Unit, Ratio: ratio(base, m.Value, m.HigherIsBetter)}
		switch {
		case ch.Ratio > c.Threshold:
			c.Regressions = append(c.Regressions, ch)
		case ch.Ratio < 1/c.Threshold:
			c.Improvements = append(c.Improvements, ch)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(b.Metrics)) {
		if !seen[name] && slices.Contains(kinds, kindOf(name)) {
			c.Missing = append(c.Missing, name)
		}
	}
	return c
}

// ratio is how many times worse now is than base (base > 0).
func ratio(base, now float64, higherIsBetter bool) float64 {
	if !higherIsBetter {
		return now / base
	}
	if now <= 0 {
		return math.Inf(1)
	}
	return base / now
}

func kindOf(name string) string {
	kind, _, _ := strings.Cut(name, "/")
	return kind
}

// Warnings are the comparison's lines to warn with: one per regression and
// one per missing metric.
func (c Comparison) Warnings() []string {
	var out []string
	for _, r := range c.Regressions {
		out = append(out, "slower than the baseline: "+r.String())
	}
	for _, m := range c.Missing {
		out = append(out, "missing from this run: "+m+" (in the baseline; renamed, removed or failed? `mage rust:benchBaseline` records the current set)")
	}
	return out
}

// Summary is the comparison in one line.
func (c Comparison) Summary() string {
	s := fmt.Sprintf("%d metrics compared with the baseline (threshold %.2gx): %d regressions, %d improvements",
		c.Compared, c.Threshold, len(c.Regressions), len(c.Improvements))
	if len(c.Missing) > 0 {
		s += fmt.Sprintf(", %d missing", len(c.Missing))
	}
	if len(c.New) > 0 {
		s += fmt.Sprintf(", %d not in the baseline yet", len(c.New))
	}
	return s
}

// ErrNoBaseline says there is no baseline to compare with.
var ErrNoBaseline = errors.New("no baseline")

// baselineAt reads the baseline at path, ErrNoBaseline when there is none.
func baselineAt(path string) (Baseline, error) {
	b, ok, err := ReadBaseline(path)
	if err == nil && !ok {
		err = fmt.Errorf("%w at %s", ErrNoBaseline, path)
	}
	return b, err
}

// machine describes this machine for the baseline.
func machine(goos, goarch string, cpus int) string {
	return fmt.Sprintf("%s/%s, %d cores", goos, goarch, cpus)
}
