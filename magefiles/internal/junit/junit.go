// Package junit reads, checks and merges the JUnit XML reports the test
// runners write (nextest, pytest, rspec, bun, node, deno), so CI has one
// report and failures can be named and annotated.
package junit

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Suites is a report: the <testsuites> root (a lone <testsuite> root is
// read as one suite).
type Suites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr,omitempty"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Time     float64  `xml:"time,attr"`
	Suites   []Suite  `xml:"testsuite"`
	// Loose are cases right under the root, outside any suite: node's
	// reporter writes tests that are not in a describe block that way.
	// Read moves them into a suite of their own.
	Loose []Case `xml:"testcase"`
}

// Suite is one <testsuite>.
type Suite struct {
	Name     string  `xml:"name,attr"`
	Tests    int     `xml:"tests,attr"`
	Failures int     `xml:"failures,attr"`
	Errors   int     `xml:"errors,attr"`
	Skipped  int     `xml:"skipped,attr"`
	Time     float64 `xml:"time,attr"`
	File     string  `xml:"file,attr,omitempty"`
	Suites   []Suite `xml:"testsuite"` // nested suites (node's reporter nests them)
	Cases    []Case  `xml:"testcase"`
}

// Case is one <testcase>.
type Case struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	Time      float64  `xml:"time,attr"`
	File      string   `xml:"file,attr,omitempty"`
	Line      int      `xml:"line,attr,omitempty"`
	Failure   *Problem `xml:"failure"`
	Error     *Problem `xml:"error"`
	Skipped   *Problem `xml:"skipped"`
}

// Problem is a <failure>, <error> or <skipped> element.
type Problem struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// Failed reports whether the case failed or errored.
func (c Case) Failed() bool { return c.Failure != nil || c.Error != nil }

// Problem is the failure or error, if any.
func (c Case) Problem() *Problem {
	if c.Failure != nil {
		return c.Failure
	}
	return c.Error
}

// ID names the case as a person would look for it: "classname::name".
func (c Case) ID() string {
	if c.Classname == "" {
		return c.Name
	}
	return c.Classname + "::" + c.Name
}

// Read parses a report.
func Read(path string) (Suites, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Suites{}, err
	}
	var s Suites
	if err := xml.Unmarshal(b, &s); err == nil {
		if len(s.Loose) > 0 {
			s.Suites = append(s.Suites, Suite{Name: "tests", Cases: s.Loose})
			s.Loose = nil
		}
		return s, nil
	}
	var one Suite
	if err := xml.Unmarshal(b, &one); err != nil {
		return Suites{}, fmt.Errorf("%s is not a JUnit report: %w", path, err)
	}
	return Suites{Suites: []Suite{one}}, nil
}

// Cases lists every test case, nested suites included, with the suite's
// file filled in where the case has none.
func (s Suites) Cases() []Case {
	var out []Case
	var walk func(Suite)
	walk = func(su Suite) {
		for _, c := range su.Cases {
			if c.File == "" {
				c.File = su.File
			}
			out = append(out, c)
		}
		for _, n := range su.Suites {
			walk(n)
		}
	}
	for _, su := range s.Suites {
		walk(su)
	}
	return out
}

// Failed lists the failed cases.
func (s Suites) Failed() []Case {
	var out []Case
	for _, c := range s.Cases() {
		if c.Failed() {
			out = append(out, c)
		}
	}
	return out
}

// Fresh checks that path exists and was written at or after since (so a
// report left by an earlier run is never taken for this one's).
func Fresh(path string, since time.Time) error {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("the test run wrote no JUnit report at %s", path)
	}
	if err != nil {
		return err
	}
	if info.ModTime().Before(since.Add(-time.Second)) {
		return fmt.Errorf("the JUnit report %s is from an earlier run (%s)", path, info.ModTime().Format(time.RFC3339))
	}
	return nil
}

// Merge writes one report at out holding every suite of the inputs, each
// renamed "<label>: <suite>" where a label is given, with totals
// recomputed from the cases.
func Merge(out string, inputs []Input) error {
	merged := Suites{Name: "tasker"}
	for _, in := range inputs {
		s, err := Read(in.Path)
		if err != nil {
			return err
		}
		for _, su := range s.Suites {
			if in.Label != "" {
				su.Name = in.Label + ": " + su.Name
			}
			merged.Suites = append(merged.Suites, su)
		}
	}
	merged.total()
	b, err := xml.MarshalIndent(merged, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, append([]byte(xml.Header), append(b, '\n')...), 0o644)
}

// Input is one report to merge.
type Input struct {
	Label string // e.g. the language or runtime; "" keeps suite names
	Path  string
}

func (s *Suites) total() {
	s.Tests, s.Failures, s.Errors, s.Skipped, s.Time = 0, 0, 0, 0, 0
	for _, c := range s.Cases() {
		s.Tests++
		s.Time += c.Time
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
	}
	s.Time, _ = strconv.ParseFloat(strconv.FormatFloat(s.Time, 'f', 3, 64), 64)
}

// Summary is "12 tests, 1 failed, 2 skipped".
func (s Suites) Summary() string {
	c := s
	c.total()
	return fmt.Sprintf("%d tests, %d failed, %d skipped", c.Tests, c.Failures+c.Errors, c.Skipped)
}
