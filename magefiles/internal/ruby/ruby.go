// Package ruby plans the Ruby worker's tasks (workers/ruby): the magnus
// extension built with cargo (no rb_sys gem: RubyGems may be unreachable)
// and copied where `require` finds it, rubocop and rspec, with gems from
// the machine (Debian packages) resolved by bundler offline.
package ruby

import (
	"context"
	"runtime"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db"
	"github.com/tasker-systems/tasker-build/magefiles/internal/kit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/stamp"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// Worker is the Ruby worker.
type Worker struct{}

var _ lang.Worker = Worker{}

const (
	dir = "workers/ruby"
	// junitFormatter is the repository's rspec JUnit formatter (no gem needed).
	junitFormatter = "./spec/support/junit_formatter.rb"
)

// installed is where `require "tasker_worker_rb/tasker_worker_rb"` loads
// the extension from.
var installed = dir + "/lib/tasker_worker_rb/" + extensionFile(runtime.GOOS)

// extensionFile is the extension's name where Ruby looks for it on goos:
// Ruby's DLEXT is "bundle" on macOS, "so" elsewhere (cargo's .dylib is
// copied to a .bundle).
func extensionFile(goos string) string {
	if goos == "darwin" {
		return "tasker_worker_rb.bundle"
	}
	return "tasker_worker_rb.so"
}

func k(s *session.S) kit.Kit {
	return kit.Kit{S: s, Ext: workspace.ExtensionFor("ruby"), Dir: dir,
		KeyTools: []string{"ruby", "bundler"},
		Built:    func() []string { return []string{installed} },
	}
}

// cmd is a command in workers/ruby; bundler's root warning is silenced.
func cmd(s *session.S, argv ...string) run.Cmd {
	c := k(s).Cmd(argv...)
	c.Env = append(c.Env, "BUNDLE_SILENCE_ROOT_WARNING=1")
	return c
}

func rspec(s *session.S, args ...string) run.Cmd {
	return cmd(s, append(append([]string{"bundle", "exec", "rspec"}, args...), s.TestArgs...)...)
}

// probe prints the build id and the file of the extension Ruby loads.
func probe(s *session.S) kit.Probe {
	return func() run.Cmd {
		return cmd(s, "ruby", "-Ilib", "-e", `require "tasker_worker_rb/tasker_worker_rb"; `+
			`puts "#{TaskerWorkerRb::Native::BUILD_ID} #{$LOADED_FEATURES.find { |f| f.end_with?("tasker_worker_rb.#{RbConfig::CONFIG["DLEXT"]}") }}"`)
	}
}

func (Worker) Name() string { return "ruby" }

// Setup installs Ruby, its headers, the gems and libclang where they are
// missing (system packages), then resolves the Gemfile against the
// installed gems (bundle install --local: nothing is downloaded); skipped
// while the Gemfile, its lock, ruby and bundler are unchanged.
func (Worker) Setup(s *session.S) []run.Step {
	kt := k(s)
	key := func() (string, error) {
		return stamp.Hash(s.Paths.Abs(dir), nil, []string{"Gemfile", "Gemfile.lock", "tasker_worker_rb.gemspec"}, kt.ToolKey("ruby", "bundle"))
	}
	return []run.Step{kt.Setup(toolchain.InArea("ruby"), key, nil, func(ctx context.Context, r *run.Runner, _ string) error {
		return bundle(ctx, r, s)
	})}
}

// bundle resolves the Gemfile offline. Gemfile.lock is written for Debian
// 12's gems; where another distribution ships other versions, the lock is
// re-resolved against the gems installed here, and the change is named.
func bundle(ctx context.Context, r *run.Runner, s *session.S) error {
	if _, err := r.Output(ctx, cmd(s, "bundle", "check")); err != nil && !r.DryRun() {
		r.Warnf("%s/Gemfile.lock names gems that are not installed here (%v); re-resolving it against the installed gems: review it with `git diff %s/Gemfile.lock`", dir, err, dir)
		if err := r.Run(ctx, cmd(s, "bundle", "lock", "--local", "--update")); err != nil {
			return err
		}
	}
	return r.Run(ctx, cmd(s, "bundle", "install", "--local"))
}

// Build compiles the extension with cargo (the Rust sources' build id
// compiled in) and installs it into lib/; skipped while Ruby already loads
// that build.
func (Worker) Build(s *session.S) []run.Step {
	return []run.Step{k(s).Build([]string{"ruby", "cargo"}, probe(s), compile(s, false))}
}

// BuildRelease compiles the extension with the release profile and installs it.
func (Worker) BuildRelease(s *session.S) []run.Step {
	return []run.Step{k(s).Release([]string{"ruby", "cargo"}, compile(s, true))}
}

// compile builds the extension and installs it where `require` finds it.
// rb-sys needs Ruby's headers and libclang, checked only when it compiles
// (each check runs ruby), not on every up-to-date build.
func compile(s *session.S, release bool) func(context.Context, *run.Runner, string) error {
	kt := k(s)
	profile := "debug"
	if release {
		profile = "release"
	}
	return func(ctx context.Context, r *run.Runner, id string) error {
		if err := s.Need(ctx, r, kt.PATH(), "ruby-headers", "libclang"); err != nil {
			return err
		}
		if err := r.Run(ctx, kt.Cargo(id, release)); err != nil {
			return err
		}
		return kt.Install(r, kt.Library(profile), installed)
	}
}

// Format checks layout with rubocop's Layout cops (the crate's formatting
// is part of rust:format).
func (Worker) Format(s *session.S) []run.Step {
	return []run.Step{k(s).Tool("format", []string{"rubocop"}, cmd(s, "rubocop", "--only", "Layout"))}
}

func (Worker) FormatFix(s *session.S) []run.Step {
	return []run.Step{k(s).Tool("formatFix", []string{"rubocop"}, cmd(s, "rubocop", "--only", "Layout", "--autocorrect"))}
}

// Lint runs rubocop and clippy on the extension crate. rubocop runs
// without bundler: Debian's gem layout makes bundler resolve one of its
// dependencies remotely (see the Gemfile).
func (Worker) Lint(s *session.S) []run.Step {
	kt := k(s)
	return []run.Step{kt.Tool("lint", []string{"rubocop"}, cmd(s, "rubocop")), kt.Lint()}
}

func (Worker) LintFix(s *session.S) []run.Step {
	return []run.Step{k(s).Tool("lintFix", []string{"rubocop"}, cmd(s, "rubocop", "--autocorrect"))}
}

// Typecheck is reported as skipped: the Ruby worker has no type checker.
func (Worker) Typecheck(s *session.S) []run.Step {
	return []run.Step{k(s).Do("typecheck", false, nil, func(context.Context, *run.Runner) error {
		return run.Skip("no type checker for Ruby here")
	})}
}

func (Worker) Verify(s *session.S) []run.Step {
	return []run.Step{k(s).Verify([]string{"ruby"}, probe(s))}
}

// Test runs the unit and FFI specs (integration specs: testIntegration).
func (Worker) Test(s *session.S) []run.Step {
	return []run.Step{k(s).Tool("test", []string{"bundler"}, rspec(s, "--tag", "~integration"))}
}

func (Worker) TestFfi(s *session.S) []run.Step {
	return []run.Step{k(s).Tool("testFfi", []string{"bundler"}, rspec(s, "--tag", "ffi"))}
}

// junit adds the repository's JUnit formatter (writing path) to progress output.
func junit(path string) []string {
	return []string{"--require", junitFormatter, "--format", "progress", "--format", "TaskerWorkerRb::JUnitFormatter", "--out", path}
}

// TestCi runs the unit and FFI specs with a JUnit report.
func (Worker) TestCi(s *session.S) []run.Step {
	return []run.Step{k(s).Report("testCi", "framework", []string{"bundler"}, nil, func(path string) run.Cmd {
		return rspec(s, append([]string{"--tag", "~integration"}, junit(path)...)...)
	})}
}

func (Worker) TestIntegration(s *session.S, databaseURL string) []run.Step {
	env := db.ChildEnv(databaseURL) // split: PGMQ_DATABASE_URL names the queue's clone
	return []run.Step{k(s).Report("testIntegration", "integration", []string{"bundler"}, env, func(path string) run.Cmd {
		return rspec(s, append([]string{"--tag", "integration"}, junit(path)...)...)
	})}
}

// Clean removes the extension's build outputs and the installed copy.
func (Worker) Clean(s *session.S) []run.Step { return []run.Step{k(s).Clean(installed)} }

func (w Worker) Run(s *session.S) []run.Step {
	return []run.Step{k(s).Tool("run", []string{"ruby"}, w.Serve(s))}
}

// Serve is bin/tasker-worker-rb.
func (Worker) Serve(s *session.S) run.Cmd { return cmd(s, "ruby", "bin/tasker-worker-rb") }
