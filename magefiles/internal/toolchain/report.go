package toolchain

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Report writes sts as a table grouped by area (areas in order of first
// appearance): tool, state, version, and for unusable tools what that means
// and the install command. It ends with "N ok, M missing, K degraded" (plus
// the optional tools not installed) and returns the number missing.
func Report(w io.Writer, sts []Status) (problems int) {
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AREA\tTOOL\tSTATE\tVERSION\tFROM, OR HOW TO INSTALL\t")
	count := map[string]int{}
	for _, area := range areas(sts) {
		label := area
		for _, s := range sts {
			if s.Tool.Area != area {
				continue
			}
			count[s.State()]++
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", label, s.Tool.Name, s.State(), orDash(s.Version), note(s))
			label = ""
		}
	}
	tw.Flush()
	for _, line := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
		fmt.Fprintln(w, strings.TrimRight(line, " ")) // tabwriter pads the last cell
	}
	fmt.Fprintf(w, "%d ok, %d missing, %d degraded", count[StateOK], count[StateMissing], count[StateDegraded])
	if n := count[StateOptional]; n > 0 {
		fmt.Fprintf(w, ", %d optional not installed", n)
	}
	fmt.Fprintln(w)
	return count[StateMissing]
}

// note says where a usable tool came from, and explains an unusable one:
// the fallback, the install command, and why a binary that was found does
// not count.
func note(s Status) string {
	if s.Err == nil {
		return s.Origin
	}
	n := ""
	if s.Tool.Degraded != "" {
		n = s.Tool.Degraded + "; "
	}
	if hint := s.Tool.Hint(); hint != "" {
		n += "install with " + hint
	}
	if s.Path != "" {
		n += " (" + s.Err.Error() + ")"
	}
	return n
}

// areas lists the areas of sts in order of first appearance.
func areas(sts []Status) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range sts {
		if !seen[s.Tool.Area] {
			seen[s.Tool.Area] = true
			out = append(out, s.Tool.Area)
		}
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
