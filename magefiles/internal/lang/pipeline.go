package lang

import (
	"path/filepath"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// Pipeline is an Area's share of CI: what ci:codeQuality, ci:testRust /
// ci:testFramework and ci:testIntegration run for it, and the JUnit
// reports those write (merged into one report at the end).
type Pipeline interface {
	Area
	Quality(s *session.S) []run.Step
	TestCi(s *session.S) []run.Step
	Integration(s *session.S, databaseURL string) []run.Step
	Reports(s *session.S) []string
}

func (a workerArea) Quality(s *session.S) []run.Step {
	return concat(a.w.Format(s), a.w.Lint(s), a.w.Typecheck(s))
}

func (a workerArea) TestCi(s *session.S) []run.Step { return concat(a.w.Verify(s), a.w.TestCi(s)) }

func (a workerArea) Integration(s *session.S, url string) []run.Step {
	return a.w.TestIntegration(s, url)
}

func (a workerArea) Reports(s *session.S) []string {
	return []string{ReportPath(s.Paths.Root, a.w.Name(), "framework"), ReportPath(s.Paths.Root, a.w.Name(), "integration")}
}

// ReportPath is where a worker's JUnit report of kind ("framework",
// "integration") goes: <root>/target/<worker>-<kind>-results.xml.
func ReportPath(root, worker, kind string) string {
	return filepath.Join(root, "target", worker+"-"+kind+"-results.xml")
}

// Areas views pipelines as plain areas.
func Areas(ps []Pipeline) []Area {
	out := make([]Area, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}
