package coverage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

// ThresholdsFile is the committed file of minimum line coverage per area,
// at the repository root.
const ThresholdsFile = "coverage-thresholds.json"

// Thresholds are the minimum line coverage, in percent, per area.
type Thresholds struct {
	Comment string             `json:"comment,omitempty"`
	Lines   map[string]float64 `json:"lines"`
}

// LoadThresholds reads path: no file means no thresholds; an area not in
// areas, a value outside 0-100 or an unknown field is an error (a typo
// must not switch a check off silently).
func LoadThresholds(path string, areas []string) (Thresholds, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Thresholds{}, nil
	}
	if err != nil {
		return Thresholds{}, err
	}
	var t Thresholds
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Thresholds{}, fmt.Errorf("%s: %w", path, err)
	}
	for _, area := range slices.Sorted(maps.Keys(t.Lines)) {
		v := t.Lines[area]
		if !slices.Contains(areas, area) {
			return Thresholds{}, fmt.Errorf("%s: unknown area %q; areas: %s", path, area, strings.Join(areas, ", "))
		}
		if v < 0 || v > 100 {
			return Thresholds{}, fmt.Errorf("%s: %s: %v is not a percentage from 0 to 100", path, area, v)
		}
	}
	return t, nil
}

// Row is one area's line of the summary.
type Row struct {
	Area   string
	Totals Totals
	Min    float64 // its threshold; meaningful when HasMin
	HasMin bool
}

// Met reports whether the area meets its threshold (always, without one).
// It compares the exact share, not the rounded figure.
func (r Row) Met() bool { return !r.HasMin || r.Totals.Percent() >= r.Min }

// Summary is every area's figure and the total over all of them.
type Summary struct {
	Rows  []Row
	Total Totals
}

// Summarize makes the summary of reports (area → report), areas in the
// order given, with their thresholds.
func Summarize(areas []string, reports map[string]Report, th Thresholds) Summary {
	var s Summary
	for _, a := range areas {
		rep, ok := reports[a]
		if !ok {
			continue
		}
		row := Row{Area: a, Totals: rep.Totals()}
		row.Min, row.HasMin = th.Lines[a]
		s.Rows = append(s.Rows, row)
		s.Total.add(row.Totals)
	}
	return s
}

// Misses are one line per area below its threshold, naming the area, its
// figure and the threshold.
func (s Summary) Misses() []string {
	var out []string
	for _, r := range s.Rows {
		if !r.Met() {
			out = append(out, fmt.Sprintf("%s line coverage %s (%d of %d lines) is below its threshold %s (%s)",
				r.Area, Percent(r.Totals.Percent()), r.Totals.Hit, r.Totals.Found, threshold(r.Min), ThresholdsFile))
		}
	}
	return out
}

// threshold shows a threshold as written: 85%, 72.5%.
func threshold(v float64) string { return strings.TrimSuffix(fmt.Sprintf("%g", v), ".0") + "%" }

func (r Row) cells() (lines, pct, min, result string) {
	lines = fmt.Sprintf("%d/%d", r.Totals.Hit, r.Totals.Found)
	pct = Percent(r.Totals.Percent())
	min, result = "-", "ok"
	if r.HasMin {
		min = threshold(r.Min)
	}
	if !r.Met() {
		result = "below"
	}
	return
}

// Text writes the summary as an aligned table.
func (s Summary) Text(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "area\tlines covered\tline %\tthreshold\tresult")
	for _, r := range s.Rows {
		lines, pct, min, result := r.cells()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Area, lines, pct, min, result)
	}
	fmt.Fprintf(tw, "total\t%d/%d\t%s\t\t\n", s.Total.Hit, s.Total.Found, Percent(s.Total.Percent()))
	tw.Flush()
}

// Markdown is the summary as a GitHub-flavoured table for
// $GITHUB_STEP_SUMMARY.
func (s Summary) Markdown() string {
	var b strings.Builder
	b.WriteString("### Coverage\n\n| area | lines covered | line % | threshold | result |\n|---|---:|---:|---:|---|\n")
	for _, r := range s.Rows {
		lines, pct, min, result := r.cells()
		icon := "✅"
		if result != "ok" {
			icon = "❌"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s %s |\n", r.Area, lines, pct, min, icon, result)
	}
	fmt.Fprintf(&b, "| **total** | %d/%d | %s | | |\n", s.Total.Hit, s.Total.Found, Percent(s.Total.Percent()))
	return b.String()
}
