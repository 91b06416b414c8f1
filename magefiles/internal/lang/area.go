// Package lang defines what the root aggregates (mage check, test, build,
// fix, setup, clean) fan out to: one Area per part of the monorepo. The Rust
// workspace is an Area; each language worker (Python, Ruby, TypeScript)
// implements Worker, which adds the worker-only actions.
package lang

import (
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// Area plans its share of each root action as runner steps, run in order.
type Area interface {
	Name() string
	Setup(s *session.S) []run.Step
	Build(s *session.S) []run.Step
	Check(s *session.S) []run.Step
	Test(s *session.S) []run.Step
	Fix(s *session.S) []run.Step
	Clean(s *session.S) []run.Step
}

// Action selects one of an Area's plans.
type Action func(Area, *session.S) []run.Step

// The root actions, as method expressions.
var (
	Setup Action = Area.Setup
	Build Action = Area.Build
	Check Action = Area.Check
	Test  Action = Area.Test
	Fix   Action = Area.Fix
	Clean Action = Area.Clean
)

// Fan turns each area's plan for action into one composite step named
// "<area>:<verb>" whose inner steps run in order; the caller runs the
// composites serially or in parallel. Areas with nothing to do are left out.
func Fan(s *session.S, verb string, action Action, areas ...Area) []run.Step {
	var out []run.Step
	for _, a := range areas {
		steps := action(a, s)
		if len(steps) == 0 {
			continue
		}
		if len(steps) == 1 {
			out = append(out, steps[0])
			continue
		}
		out = append(out, run.Step{Name: a.Name() + ":" + verb, Do: run.SerialDo(steps)})
	}
	return out
}
