package run

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Summary prints the recorded steps as a table (task, result, duration) with
// a closing line of totals. It prints nothing when no step ran.
func (r *Runner) Summary(w io.Writer, total time.Duration) {
	results := r.Results()
	if len(results) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\ntask\tresult\tduration\tnote")
	for _, res := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", indent(res), res.Status, durationOrDash(res), r.o.Redact(res.Note))
	}
	tw.Flush()
	line := Totals(results, total)
	if r.o.DryRun {
		line += " (dry run: commands were printed, not run)"
	}
	fmt.Fprintln(w, line)
}

// Markdown renders the results as a GitHub-flavoured table for
// $GITHUB_STEP_SUMMARY.
func (r *Runner) Markdown(title string, total time.Duration) string {
	results := r.Results()
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n| task | result | duration | note |\n|---|---|---|---|\n", title)
	icon := map[Status]string{Passed: "✅", Failed: "❌", Skipped: "⏭️", Cancelled: "⏹️", Cached: "♻️"}
	for _, res := range results {
		note := strings.ReplaceAll(r.o.Redact(res.Note), "|", `\|`)
		fmt.Fprintf(&b, "| %s | %s %s | %s | %s |\n", strings.ReplaceAll(indent(res), " ", "&nbsp;"), icon[res.Status], res.Status, durationOrDash(res), note)
	}
	fmt.Fprintf(&b, "\n%s\n", Totals(results, total))
	return b.String()
}

// indent shows a nested step under the step that ran it.
func indent(res Result) string { return strings.Repeat("  ", res.Depth) + res.Name }

// Totals is the one-line tally: "7 ok, 1 failed, 2 skipped in 1m12s".
func Totals(results []Result, total time.Duration) string {
	counts := map[Status]int{}
	for _, res := range results {
		counts[res.Status]++
	}
	var parts []string
	var saved time.Duration
	for _, res := range results {
		saved += res.Saved
	}
	for _, st := range []Status{Passed, Cached, Failed, Skipped, Cancelled} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], strings.ToLower(string(st))))
		}
	}
	line := strings.Join(parts, ", ") + " in " + Duration(total)
	if saved > 0 {
		line += " (the cache saved " + Duration(saved) + ")"
	}
	return line
}

func durationOrDash(res Result) string {
	if res.Status == Skipped && res.Duration < time.Millisecond || res.Status == Cancelled && res.Duration == 0 {
		return "-"
	}
	return Duration(res.Duration)
}
