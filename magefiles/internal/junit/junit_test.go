package junit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Shapes the runners really write: pytest (testsuites > testsuite), rspec
// style (a lone testsuite) and node's reporter (nested suites, no totals).
const pytest = `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="3" time="0.5">
<testcase classname="tests.test_handlers" name="test_sum" file="tests/test_handlers.py" line="10" time="0.01"/>
<testcase classname="tests.test_handlers" name="test_reverse" file="tests/test_handlers.py" line="20" time="0.02"><failure message="assert 'cba' == 'abc'">tests/test_handlers.py:22: AssertionError</failure></testcase>
<testcase classname="tests.test_integration" name="test_round_trip" time="0"><skipped message="DATABASE_URL is not set"/></testcase>
</testsuite></testsuites>`

const lone = `<testsuite name="rspec" tests="1" failures="0" errors="1" skipped="0" file="spec/a_spec.rb">
<testcase classname="spec.a_spec" name="loads" time="0.1"><error message="LoadError">boom</error></testcase></testsuite>`

const node = `<testsuites><testsuite name="ffi"><testsuite name="node"><testcase name="claims" classname="test" time="0.2" file="/w/dist/test/ffi.test.js"/></testsuite></testsuite></testsuites>`

func file(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadFailuresAndNames(t *testing.T) {
	s, err := Read(file(t, "py.xml", pytest))
	if err != nil {
		t.Fatal(err)
	}
	f := s.Failed()
	if len(f) != 1 || f[0].ID() != "tests.test_handlers::test_reverse" || f[0].Line != 20 || !strings.Contains(f[0].Problem().Message, "cba") {
		t.Fatalf("failures = %+v", f)
	}
	if got := s.Summary(); got != "3 tests, 1 failed, 1 skipped" {
		t.Fatalf("summary = %q", got)
	}
	l, err := Read(file(t, "rb.xml", lone))
	if err != nil {
		t.Fatal(err)
	}
	if f := l.Failed(); len(f) != 1 || f[0].File != "spec/a_spec.rb" {
		t.Fatalf("lone suite failures = %+v", f)
	}
	if _, err := Read(file(t, "bad.xml", "not xml")); err == nil || !strings.Contains(err.Error(), "not a JUnit report") {
		t.Fatalf("bad report: %v", err)
	}
}

func TestMergeRelabelsAndRecountsNestedSuites(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sub", "all.xml")
	err := Merge(out, []Input{
		{Label: "python", Path: file(t, "py.xml", pytest)},
		{Label: "ruby", Path: file(t, "rb.xml", lone)},
		{Label: "typescript/node", Path: file(t, "node.xml", node)},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Tests != 5 || m.Failures != 1 || m.Errors != 1 || m.Skipped != 1 {
		t.Fatalf("totals = %d tests %d failures %d errors %d skipped", m.Tests, m.Failures, m.Errors, m.Skipped)
	}
	var names []string
	for _, su := range m.Suites {
		names = append(names, su.Name)
	}
	if strings.Join(names, "|") != "python: pytest|ruby: rspec|typescript/node: ffi" {
		t.Fatalf("suite names = %v", names)
	}
	if err := Merge(out, []Input{{Path: "/nonexistent.xml"}}); err == nil {
		t.Fatal("merging a missing report succeeded")
	}
}

func TestFreshRejectsMissingAndOldReports(t *testing.T) {
	p := file(t, "r.xml", pytest)
	if err := Fresh(p, time.Now()); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	if err := Fresh(p, time.Now()); err == nil || !strings.Contains(err.Error(), "earlier run") {
		t.Fatalf("old report: %v", err)
	}
	if err := Fresh(p+".missing", time.Now()); err == nil || !strings.Contains(err.Error(), "wrote no JUnit report") {
		t.Fatalf("missing report: %v", err)
	}
}

// node's reporter writes tests outside a describe block right under
// <testsuites>; they count, and are merged, like any other (they were
// read as 0 tests, and CI's merged report lacked them).
func TestCasesOutsideASuiteCount(t *testing.T) {
	dir := t.TempDir()
	node := filepath.Join(dir, "node.xml")
	os.WriteFile(node, []byte(`<?xml version="1.0" encoding="utf-8"?>
<testsuites>
	<testcase name="loads the library" time="0.04" classname="test"/>
	<testcase name="refuses NUL" time="0.01" classname="test"><failure message="boom" type="Error">x</failure></testcase>
</testsuites>`), 0o644)
	s, err := Read(node)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Summary(); got != "2 tests, 1 failed, 0 skipped" {
		t.Fatalf("read %q", got)
	}
	out := filepath.Join(dir, "merged.xml")
	if err := Merge(out, []Input{{Label: "node", Path: node}}); err != nil {
		t.Fatal(err)
	}
	m, err := Read(out)
	if err != nil || m.Summary() != "2 tests, 1 failed, 0 skipped" || len(m.Failed()) != 1 || m.Failed()[0].Name != "refuses NUL" {
		t.Fatalf("merged: %v %v", m.Summary(), err)
	}
}
