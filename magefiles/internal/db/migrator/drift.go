package migrator

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/source"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// Drifted reports whether applied migrations differ from the directory:
// versions with no file, or files changed since they were applied.
func Drifted(st source.Status) bool { return len(st.Missing)+len(st.Drift) > 0 }

// DriftLines lists every applied migration that differs from the
// directory, missing and changed together, in version order, one line
// each; file shows a file name.
func DriftLines(st source.Status, file func(name string) string) []string {
	type line struct {
		v    int64
		text string
	}
	var lines []line
	for _, r := range st.Missing {
		what := fmt.Sprint(r.Version)
		if r.Description != "" {
			what += " (" + r.Description + ")"
		}
		lines = append(lines, line{r.Version, what + ": applied, and its file is gone"})
	}
	for _, x := range st.Drift {
		lines = append(lines, line{x.Version, file(x.Up) + ": changed since it was applied (checksum differs)"})
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].v < lines[j].v })
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.text
	}
	return out
}

// DriftSummary counts what DriftLines lists: "2 applied migrations have
// no file and 1 changed since it was applied".
func DriftSummary(st source.Status) string {
	var parts []string
	switch n := len(st.Missing); {
	case n == 1:
		parts = append(parts, "1 applied migration has no file")
	case n > 1:
		parts = append(parts, fmt.Sprintf("%d applied migrations have no file", n))
	}
	switch n := len(st.Drift); {
	case n == 1:
		parts = append(parts, "1 changed since it was applied")
	case n > 1:
		parts = append(parts, fmt.Sprintf("%d changed since they were applied", n))
	}
	return strings.Join(parts, " and ")
}

// DriftFix is what to do about drift; reset spells db:reset.
func DriftFix(dir, reset string) string {
	return fmt.Sprintf("restore the applied files as they were (git log -p -- %s shows them) and put changes in new migrations; or, on a dev database, run %s", dir, reset)
}

// DriftError is drift as an error (nil without drift): the summary, then
// every line, then the fix. note adds what the layout's own tool does.
func DriftError(st source.Status, addr, dir string, file func(string) string, reset, note string) error {
	if !Drifted(st) {
		return nil
	}
	if note != "" {
		note = " (" + note + ")"
	}
	return fail.New(fail.Failed, "the migrations applied to %s differ from %s: %s%s:\n  %s\n  fix: %s",
		addr, dir, DriftSummary(st), note, strings.Join(DriftLines(st, file), "\n  "), DriftFix(dir, reset))
}

// Drift is DriftError for this migrator's database and directory.
func (o Options) Drift(st source.Status, note string) error {
	dir := o.Dir.Path
	if o.Show != nil {
		dir = o.Show(dir)
	}
	return DriftError(st, o.URL.Addr(), dir, o.File, o.Command("db:reset"), note)
}
