// Package coverage reads, merges and judges line coverage: every area
// (Rust, Python, Ruby, TypeScript) writes lcov under target/coverage/,
// the summary adds them up per area and checks each against its minimum
// in coverage-thresholds.json.
package coverage

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/atomicfile"
)

// File is one source file's line coverage.
type File struct {
	// Lines maps each executable line (lcov's DA records) to its hits.
	Lines map[int]int64
	// Found and Hit are LF and LH, used only for a record without DA
	// lines (lcov allows summaries alone).
	Found, Hit int
}

// Totals are lines found (executable) and hit (run at least once).
type Totals struct{ Hit, Found int }

// Percent is the share of lines hit, 0 for no lines.
func (t Totals) Percent() float64 {
	if t.Found == 0 {
		return 0
	}
	return 100 * float64(t.Hit) / float64(t.Found)
}

// String is "412/480 (85.8%)".
func (t Totals) String() string {
	return fmt.Sprintf("%d/%d (%s)", t.Hit, t.Found, Percent(t.Percent()))
}

// Percent formats a percentage with one decimal, rounded down so that a
// figure shown as meeting a threshold never rounds up past it.
func Percent(p float64) string {
	return strconv.FormatFloat(float64(int64(p*10))/10, 'f', 1, 64) + "%"
}

func (t *Totals) add(o Totals) { t.Hit += o.Hit; t.Found += o.Found }

// Totals counts the file's lines: from its DA lines, else from LF/LH.
func (f *File) Totals() Totals {
	if len(f.Lines) == 0 {
		return Totals{Hit: f.Hit, Found: f.Found}
	}
	t := Totals{Found: len(f.Lines)}
	for _, n := range f.Lines {
		if n > 0 {
			t.Hit++
		}
	}
	return t
}

// merge adds o's hits to f: executable lines are the union (an
// instrumenter may count a line the other does not), hits are summed.
func (f *File) merge(o *File) {
	if len(o.Lines) == 0 && len(f.Lines) == 0 {
		f.Found, f.Hit = max(f.Found, o.Found), max(f.Hit, o.Hit)
		return
	}
	if f.Lines == nil {
		f.Lines = map[int]int64{}
	}
	for line, n := range o.Lines {
		f.Lines[line] = saturate(f.Lines[line], n)
	}
}

// saturate adds hit counts without wrapping (counters can be huge).
func saturate(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return 1<<63 - 1
}

// Report is the coverage of a set of files, keyed by source path.
type Report map[string]*File

// Parse reads lcov. It keeps SF, DA, LF and LH and ignores the other
// records (functions, branches, test names); a file that appears twice is
// merged. Malformed records are errors naming their line.
func Parse(r io.Reader) (Report, error) {
	rep := Report{}
	var cur *File
	var curPath string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		key, val, _ := strings.Cut(line, ":")
		if line == "end_of_record" {
			key = line
		}
		if cur == nil && key != "SF" && (key == "DA" || key == "LF" || key == "LH" || key == "end_of_record") {
			return nil, fmt.Errorf("line %d: %s outside a record (no SF before it)", n, key)
		}
		var err error
		switch key {
		case "SF":
			if val == "" {
				return nil, fmt.Errorf("line %d: SF without a path", n)
			}
			if cur != nil {
				return nil, fmt.Errorf("line %d: SF before the end_of_record of %s", n, curPath)
			}
			cur, curPath = &File{Lines: map[int]int64{}}, val
		case "DA":
			err = cur.da(val)
		case "LF":
			cur.Found, err = strconv.Atoi(val)
		case "LH":
			cur.Hit, err = strconv.Atoi(val)
		case "end_of_record":
			rep.add(curPath, cur)
			cur = nil
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %q: %v", n, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("the record of %s has no end_of_record", curPath)
	}
	return rep, nil
}

// da reads "line,hits[,checksum]".
func (f *File) da(val string) error {
	parts := strings.Split(val, ",")
	if len(parts) < 2 {
		return fmt.Errorf("want DA:<line>,<hits>")
	}
	line, err := strconv.Atoi(parts[0])
	if err != nil || line < 1 {
		return fmt.Errorf("bad line number %q", parts[0])
	}
	hits, err := strconv.ParseUint(parts[1], 10, 64)
	if err != nil {
		// Some tools write -1 for lines they could not count: not run.
		if i, ierr := strconv.ParseInt(parts[1], 10, 64); ierr == nil && i < 0 {
			hits = 0
		} else {
			return fmt.Errorf("bad hit count %q", parts[1])
		}
	}
	f.Lines[line] = saturate(f.Lines[line], int64(min(hits, 1<<63-1)))
	return nil
}

// ReadFile parses the lcov file at path.
func ReadFile(path string) (Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}

func (rep Report) add(path string, f *File) {
	if old, ok := rep[path]; ok {
		old.merge(f)
		return
	}
	rep[path] = f
}

// Merge adds every file of o to rep.
func (rep Report) Merge(o Report) {
	for path, f := range o {
		c := &File{Lines: maps.Clone(f.Lines), Found: f.Found, Hit: f.Hit}
		rep.add(path, c)
	}
}

// Without is the part of rep whose files o does not have.
func (rep Report) Without(o Report) Report {
	out := Report{}
	for path, f := range rep {
		if _, ok := o[path]; !ok {
			out[path] = f
		}
	}
	return out
}

// Totals adds up every file.
func (rep Report) Totals() Totals {
	var t Totals
	for _, f := range rep {
		t.add(f.Totals())
	}
	return t
}

// Paths are the report's files, sorted.
func (rep Report) Paths() []string { return slices.Sorted(maps.Keys(rep)) }

// Rebase names every file relative to root, with forward slashes: a
// relative SF is taken against base (the directory the tool ran in), so
// reports written from different directories agree on names. Files
// outside root keep their absolute path.
func (rep Report) Rebase(base, root string) Report {
	out := Report{}
	for path, f := range rep {
		abs := path
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(base, filepath.FromSlash(path))
		}
		name := filepath.Clean(abs)
		if rel, err := filepath.Rel(root, name); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			name = filepath.ToSlash(rel)
		}
		out.add(name, f)
	}
	return out
}

// Keep is the part of the report under one of the root-relative
// directories dirs ("workers/python/python/"); all of it for none.
func (rep Report) Keep(dirs ...string) Report {
	if len(dirs) == 0 {
		return rep
	}
	out := Report{}
	for path, f := range rep {
		for _, d := range dirs {
			if strings.HasPrefix(path, strings.TrimSuffix(d, "/")+"/") {
				out[path] = f
				break
			}
		}
	}
	return out
}

// Write writes the report as lcov: files sorted, DA lines in order, then
// LF and LH.
func (rep Report) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, path := range rep.Paths() {
		f := rep[path]
		fmt.Fprintf(bw, "SF:%s\n", path)
		for _, line := range slices.Sorted(maps.Keys(f.Lines)) {
			fmt.Fprintf(bw, "DA:%d,%d\n", line, f.Lines[line])
		}
		t := f.Totals()
		fmt.Fprintf(bw, "LF:%d\nLH:%d\nend_of_record\n", t.Found, t.Hit)
	}
	return bw.Flush()
}

// WriteFile writes the report to path atomically (a reader never sees
// half a report), making its directory.
func (rep Report) WriteFile(path string) error {
	return atomicfile.Write(path, 0o644, rep.Write)
}
