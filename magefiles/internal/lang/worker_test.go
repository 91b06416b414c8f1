package lang

import (
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// named is a worker whose every action is one step named after it.
type named struct{}

func step(name string) []run.Step { return []run.Step{{Name: name}} }

func (named) Name() string                                  { return "w" }
func (named) Setup(*session.S) []run.Step                   { return step("setup") }
func (named) Build(*session.S) []run.Step                   { return step("build") }
func (named) BuildRelease(*session.S) []run.Step            { return step("buildRelease") }
func (named) Format(*session.S) []run.Step                  { return step("format") }
func (named) FormatFix(*session.S) []run.Step               { return step("formatFix") }
func (named) Lint(*session.S) []run.Step                    { return step("lint") }
func (named) LintFix(*session.S) []run.Step                 { return step("lintFix") }
func (named) Typecheck(*session.S) []run.Step               { return step("typecheck") }
func (named) Verify(*session.S) []run.Step                  { return step("verify") }
func (named) Test(*session.S) []run.Step                    { return step("test") }
func (named) TestFfi(*session.S) []run.Step                 { return step("testFfi") }
func (named) TestCi(*session.S) []run.Step                  { return step("testCi") }
func (named) TestIntegration(*session.S, string) []run.Step { return step("testIntegration") }
func (named) Coverage(*session.S) []run.Step                { return step("coverage") }
func (named) Clean(*session.S) []run.Step                   { return step("clean") }
func (named) Run(*session.S) []run.Step                     { return step("run") }
func (named) Serve(*session.S) run.Cmd                      { return run.Cmd{} }

func names(steps []run.Step) string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Name)
	}
	return strings.Join(out, " ")
}

// Every worker orders its work the same way: setup first, and build plus
// the freshness check before anything that loads the extension.
func TestPrerequisites(t *testing.T) {
	w := named{}
	cases := map[string][]run.Step{
		"setup format":            Plan(w, nil, Worker.Format),
		"setup build verify test": Loaded(w, nil, Worker.Test),
		"setup format lint typecheck build verify test": WorkerCheck(w, nil),
		"setup formatFix lintFix":                       WorkerFix(w, nil),
		"setup build":                                   AsArea(w).Build(nil),
		"format lint typecheck":                         AsArea(w).Quality(nil),
		"verify testCi":                                 AsArea(w).TestCi(nil),
	}
	for want, got := range cases {
		if names(got) != want {
			t.Errorf("got %q, want %q", names(got), want)
		}
	}
}
