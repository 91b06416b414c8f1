package kit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/annotate"
	"github.com/tasker-systems/tasker-build/magefiles/internal/cache"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/junit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// JUnitPath is where the worker's CI test report goes, under the root's
// target/: "target/python-framework-results.xml" for kind "framework".
func (k Kit) JUnitPath(kind string) string {
	return lang.ReportPath(k.S.Paths.Root, k.Ext.Worker, kind)
}

// Reported runs c, which writes a JUnit report at path, then checks the
// report is this run's, prints its totals and, when c failed, names the
// failed tests in the error (and, in GitHub Actions, annotates them; the
// report's relative file paths are taken against the worker's directory).
func (k Kit) Reported(ctx context.Context, r *run.Runner, path string, c run.Cmd) error {
	start := time.Now()
	runErr := r.Run(ctx, c)
	if r.DryRun() || ctx.Err() != nil {
		return runErr
	}
	if err := junit.Fresh(path, start); err != nil {
		if runErr != nil {
			return runErr
		}
		return fail.New(fail.Failed, "%v", err)
	}
	report, err := junit.Read(path)
	if err != nil {
		return fail.New(fail.Failed, "%v", err)
	}
	r.Infof("JUnit report: %s (%s)", path, report.Summary())
	if runErr == nil {
		return nil
	}
	if r.GitHub() {
		for _, a := range annotate.Tests(report.Failed(), k.S.Paths.Root, k.Dir, k.ZeroBasedLines) {
			fmt.Fprintln(r.Stdout(), a)
		}
	}
	var names []string
	for _, c := range report.Failed() {
		names = append(names, c.ID())
	}
	if len(names) == 0 {
		return runErr
	}
	return fail.Wrap(fail.Failed, runErr, "failed: %s", strings.Join(names, ", "))
}

// Report is a step that runs the command c makes for a JUnit path (the
// worker's report of kind: "framework" or "integration") with extra env,
// then checks and summarises the report (see Reported).
func (k Kit) Report(action, kind string, tools, env []string, c func(path string) run.Cmd) run.Step {
	path := k.JUnitPath(kind)
	cmd := c(path)
	cmd.Env = append(cmd.Env, env...)
	extra := func() cache.Spec { return cache.Spec{Cmds: []run.Cmd{cmd}, Outputs: []string{k.S.Paths.Rel(path)}} }
	return k.Cached(action, false, tools, extra, func(ctx context.Context, r *run.Runner) error {
		return k.Reported(ctx, r, path, cmd)
	})
}
