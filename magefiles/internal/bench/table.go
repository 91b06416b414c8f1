package bench

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

// format prints a value in its unit, scaling nanoseconds to the unit a
// reader expects (812 ns, 1.43 µs, 2.10 ms).
func format(v float64, unit string) string {
	switch unit {
	case "ns":
		switch {
		case v >= 1e6:
			return fmt.Sprintf("%.2f ms", v/1e6)
		case v >= 1e3:
			return fmt.Sprintf("%.2f µs", v/1e3)
		default:
			return fmt.Sprintf("%.1f ns", v)
		}
	case "ms":
		return fmt.Sprintf("%.1f ms", v)
	default:
		return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
	}
}

// PrintRust prints rust.json as a table.
func PrintRust(w io.Writer, r RustReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tmedian\tmean\tstd dev\tsamples\titerations")
	for _, b := range r.Benchmarks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", b.Name, format(b.MedianNs, "ns"), format(b.MeanNs, "ns"),
			format(b.StdDevNs, "ns"), b.Samples, b.Iterations)
	}
	tw.Flush()
}

// PrintE2E prints e2e.json as a table.
func PrintE2E(w io.Writer, r E2EReport) {
	fmt.Fprintf(w, "%d %s tasks per namespace, %d at a time, status polled every %s\n",
		r.TasksPerNamespace, r.Handler, r.Concurrency, time.Duration(r.PollMs*float64(time.Millisecond)))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "namespace\ttasks\terrors\tp50\tp99\tmax\tmean\ttasks/s")
	for _, n := range r.Namespaces {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%.1f\n", n.Namespace, n.Tasks, n.Errors,
			format(n.P50Ms, "ms"), format(n.P99Ms, "ms"), format(n.MaxMs, "ms"), format(n.MeanMs, "ms"), n.TasksPerSecond)
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t\t\t\t\t%.1f\n", r.Total.Tasks, r.Total.Errors, r.Total.TasksPerSecond)
	tw.Flush()
}
