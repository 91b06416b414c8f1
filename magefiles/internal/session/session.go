// Package session bundles what every target needs: the repository paths,
// the layered environment and the command runner built from it.
package session

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-shellwords"

	"github.com/tasker-systems/tasker-build/magefiles/internal/cache"
	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/gha"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// S is one invocation's context.
type S struct {
	Paths workspace.Paths
	Env   *env.Env
	Run   *run.Runner
	Tools *toolchain.Installer
	// Cache replays the successes of unchanged actions (MAGE_NO_CACHE=1
	// turns it off; TASKER_REMOTE_CACHE shares it).
	Cache *cache.Cache
	// TestArgs are extra arguments for every test runner a target runs
	// (TASKER_TEST_ARGS, split like a shell would): a filter, --no-capture,
	// pytest's -k.
	TestArgs []string
	Start    time.Time

	sccache    *sccacheRun // nil: compiles do not go through sccache
	cargoFlags []string    // added to cargo commands (see useSccache)
}

// Open finds the repository root, loads the environment (exit 5 on a
// malformed .env) and builds the runner: dry-run from MAGE_DRY_RUN, GitHub
// output from GITHUB_ACTIONS, parallel steps from MAGE_JOBS, and redaction of
// every secret the environment holds. Descriptors mage inherited stay out
// of its children (see run.KeepInheritedFilesFromChildren). Tools the build installs itself
// (.tasker/tools/bin) are on the PATH children get, after the user's own.
func Open() (*S, error) {
	run.KeepInheritedFilesFromChildren()
	root, err := workspace.Root()
	if err != nil {
		return nil, err
	}
	e, err := env.Load(root, os.Environ())
	if err != nil {
		return nil, err
	}
	jobs := 2
	if v := e.Get("MAGE_JOBS"); v != "" {
		if jobs, err = strconv.Atoi(v); err != nil || jobs < 1 {
			return nil, fail.New(fail.Config, "MAGE_JOBS=%q is not a positive number; set it to e.g. 2", v)
		}
	}
	testArgs, err := shellwords.Parse(e.Get("TASKER_TEST_ARGS"))
	if err != nil {
		return nil, fail.New(fail.Config, "TASKER_TEST_ARGS=%q: %v; quote it like a shell command line", e.Get("TASKER_TEST_ARGS"), err)
	}
	s := New(root, e, run.Options{
		DryRun:    env.Bool(e, "MAGE_DRY_RUN"),
		KeepGoing: env.Bool(e, "MAGE_KEEP_GOING"),
		GitHub:    env.Bool(e, "GITHUB_ACTIONS"),
		Jobs:      jobs,
		Redact:    e.Redactor(),
	})
	s.TestArgs = testArgs
	if err := s.Cache.Configure(e.Get, func(name string) bool { return env.Bool(e, name) }); err != nil {
		return nil, err
	}
	return s, nil
}

// New is a session at root with environment e and a runner with options o
// (its Env comes from e).
func New(root string, e *env.Env, o run.Options) *S {
	paths := workspace.Paths{Root: root}
	tools := &toolchain.Installer{
		Dir:      paths.State("tools"),
		Index:    e.Get("PIP_INDEX_URL"),
		Root:     root,
		Auto:     env.Bool(e, "CI") || env.Bool(e, "TASKER_INSTALL"),
		Platform: toolchain.Here(),
	}
	if tools.Index == "" {
		tools.Index = toolchain.DefaultIndex
	}
	path := append(toolchain.PreferredDirs(tools.Platform), e.Get("PATH"), tools.BinDir())
	e.Set("PATH", strings.Join(path, string(os.PathListSeparator)))
	s := &S{Paths: paths, Env: e, Tools: tools, Start: time.Now(), Cache: cache.New(root, env.Bool(e, cache.NoCacheEnv))}
	o.Env = e.Environ()
	if SccacheEnabled(e) {
		o.Env = s.useSccache()
	}
	o.InstallHint = toolchain.HintForBin
	s.Run = run.New(o)
	return s
}

// Cmd builds a command that runs in dir, relative to the repository root.
// With sccache on, cargo and maturin commands get the target directory and
// colour as flags (see flagVars).
func (s *S) Cmd(dir string, argv ...string) run.Cmd {
	return run.Cmd{Argv: s.withCargoFlags(argv), Dir: s.Paths.Abs(dir)}
}

// PATH is the PATH children run with.
func (s *S) PATH() string { return s.Env.Get("PATH") }

// Need makes sure the named tools are usable with pathEnv ("" for the
// session's PATH): a missing one is installed under CI=true or
// TASKER_INSTALL=1, otherwise the error (exit 3) names the command.
func (s *S) Need(ctx context.Context, r *run.Runner, pathEnv string, tools ...string) error {
	if err := s.Tools.Need(ctx, r, s.orPATH(pathEnv), tools...); err != nil {
		return err
	}
	s.compilesNeeded(ctx, r, tools)
	return nil
}

// Install is Need for setup targets, which always install what they can.
func (s *S) Install(ctx context.Context, r *run.Runner, pathEnv string, tools ...string) error {
	return s.Tools.Install(ctx, r, s.orPATH(pathEnv), tools...)
}

func (s *S) orPATH(pathEnv string) string {
	if pathEnv == "" {
		return s.PATH()
	}
	return pathEnv
}

// TargetDir is Cargo's target directory, honouring CARGO_TARGET_DIR.
func (s *S) TargetDir(rel ...string) string {
	return s.Paths.Target(s.Env.Get("CARGO_TARGET_DIR"), rel...)
}

// Finish ends an invocation: when more than one step ran it prints the
// summary table, then sccache's hit rate when this run compiled through it
// (both also appended to $GITHUB_STEP_SUMMARY in Actions); it returns err
// unchanged.
func (s *S) Finish(title string, err error) error {
	table := len(s.Run.Results()) >= 2
	cache := s.sccacheLine(context.Background())
	if !table && cache == "" {
		return err
	}
	took := time.Since(s.Start)
	markdown := ""
	if table {
		s.Run.Summary(os.Stderr, took)
		markdown = s.Run.Markdown(title, took)
	}
	if cache != "" {
		fmt.Fprintln(os.Stderr, cache)
		markdown += "\n" + cache + "\n"
	}
	if path := s.Env.Get("GITHUB_STEP_SUMMARY"); path != "" && env.Bool(s.Env, "GITHUB_ACTIONS") {
		if werr := gha.AppendSummary(path, markdown); werr != nil {
			s.Run.Warnf("could not write the step summary to %s: %v", path, werr)
		}
	}
	return err
}

// On returns a copy of the session whose runner is r: Go work inside a step
// (database setup, say) then prints through the step's runner, prefixed and
// grouped like the step's commands.
func (s *S) On(r *run.Runner) *S {
	c := *s
	c.Run = r
	return &c
}
