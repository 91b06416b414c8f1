package rust

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"time"

	"github.com/BurntSushi/toml"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/junit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// Profile selects how tests run.
type Profile struct {
	Name        string   // nextest profile: "" (default), "ci" or "local"
	Integration bool     // run only the tests marked #[ignore] because they need PostgreSQL
	E2E         bool     // run only the end-to-end tests (tests/e2e), against running services
	Client      bool     // run only tasker-client's API tests, against a running orchestration
	Env         []string // extra environment, e.g. a per-run DATABASE_URL
}

// Test runs the scope's tests with cargo-nextest. Without nextest it warns
// and falls back to `cargo test` (doctor shows this as degraded).
func (sc Scope) Test(p Profile) run.Step {
	action := "test"
	switch {
	case p.E2E:
		action = "testE2e"
	case p.Integration:
		action = "testIntegration"
	case p.Name == "ci":
		action = "testCi"
	}
	return run.Step{Name: sc.name(action), Heavy: true, Do: func(ctx context.Context, r *run.Runner) error {
		if err := sc.s.Need(ctx, r, "", "cargo"); err != nil {
			return err
		}
		dist, err := sc.distribution()
		if err != nil {
			return err
		}
		args := append(sc.nextestArgs(p, dist), sc.s.TestArgs...)
		if missing := sc.s.Need(ctx, r, "", "cargo-nextest"); missing != nil {
			if p.Name == "ci" || p.Client || dist != (distribution{}) {
				return missing // JUnit, shards and archives need nextest
			}
			r.Warnf("%v; falling back to `cargo test`", missing)
			args = append(sc.cargoTestArgs(p), sc.s.TestArgs...)
		}
		c := sc.s.Cmd(".", args...)
		c.Env = p.Env
		if p.Integration || p.E2E { // they depend on a database's state, not only on files
			return r.Run(ctx, c)
		}
		var outputs []string
		if p.Name == "ci" {
			report, err := JUnitPath(sc.s.Paths.Abs(".config", "nextest.toml"), sc.s.Paths.Root, "ci")
			if err != nil {
				return err
			}
			if report != "" {
				outputs = []string{sc.s.Paths.Rel(report)}
			}
		}
		return sc.cached(ctx, r, action, []string{"cargo-nextest"}, c, outputs...)
	}}
}

// e2ePackage holds the end-to-end tests; they are ignored like the
// integration tests but need the services running, so integration runs
// leave them out and E2E runs select only them (a nextest filterset).
const e2ePackage = "tasker-e2e"

// clientAPI are tasker-client's API tests: ignored too, they need a
// running orchestration (client:testIntegration starts one).
const clientAPI = "tasker-client::api"

func (sc Scope) nextestArgs(p Profile, d distribution) []string {
	args := append([]string{"cargo", "nextest"}, sc.with("run")...)
	switch {
	case d.archive != "": // the archive holds what was selected when it was built
		args = []string{"cargo", "nextest", "run", "--archive-file", d.archive, "--workspace-remap", sc.s.Paths.Root}
	case p.E2E:
		args = []string{"cargo", "nextest", "run", "-p", e2ePackage}
	}
	if p.Name != "" {
		args = append(args, "--profile", p.Name)
	}
	switch {
	case p.E2E:
		args = append(args, "--run-ignored", "only", "-E", "package("+e2ePackage+")")
	case p.Client:
		args = append(args, "--run-ignored", "only", "-E", "binary_id("+clientAPI+")")
	case p.Integration:
		args = append(args, "--run-ignored", "only", "-E", "not package("+e2ePackage+") and not binary_id("+clientAPI+")")
	}
	if d.shard != "" {
		args = append(args, "--partition", "slice:"+d.shard)
	}
	return args
}

// Environment variables that spread a test run over machines.
const (
	ShardEnv   = "TASKER_SHARD"        // "K/N": run the K-th of N slices of the tests
	ArchiveEnv = "TASKER_TEST_ARCHIVE" // a nextest archive (ci:buildTests) to run instead of building
)

// distribution is where this run's tests come from and which of them run.
type distribution struct{ shard, archive string }

// distribution reads ShardEnv and ArchiveEnv (exit 5 when malformed or
// missing).
func (sc Scope) distribution() (distribution, error) {
	d := distribution{shard: sc.s.Env.Get(ShardEnv), archive: sc.s.Env.Get(ArchiveEnv)}
	if d.shard != "" {
		k, n, ok := strings.Cut(d.shard, "/")
		ki, err1 := strconv.Atoi(k)
		ni, err2 := strconv.Atoi(n)
		if !ok || err1 != nil || err2 != nil || ki < 1 || ki > ni {
			return d, fail.New(fail.Config, "%s=%q: want K/N with 1 <= K <= N, e.g. 1/4", ShardEnv, d.shard)
		}
	}
	if d.archive != "" {
		if !filepath.IsAbs(d.archive) {
			d.archive = sc.s.Paths.Abs(d.archive)
		}
		if _, err := os.Stat(d.archive); err != nil {
			return d, fail.New(fail.Config, "%s=%s: no such archive; build it with `mage ci:buildTests`", ArchiveEnv, d.archive)
		}
	}
	return d, nil
}

// ArchivePath is where Archive writes the test archive.
func (sc Scope) ArchivePath() string { return sc.s.TargetDir("nextest", "tests.tar.zst") }

// Archive builds the scope's test binaries once and packs them with
// nextest (`cargo nextest archive`), so other machines can run slices of
// them (ShardEnv, ArchiveEnv) without compiling.
func (sc Scope) Archive() run.Step {
	step := sc.cargo("archiveTests", []string{"cargo-nextest"}, append([]string{"nextest"}, sc.with("archive", "--archive-file", sc.ArchivePath())...)...)
	archive := step.Do
	step.Do = func(ctx context.Context, r *run.Runner) error {
		if err := os.MkdirAll(filepath.Dir(sc.ArchivePath()), 0o755); err != nil { // nextest does not create it
			return err
		}
		return archive(ctx, r)
	}
	return step
}

// cargoTestArgs is the fallback: the same tests nextest would run (no doc
// tests, which have their own step).
func (sc Scope) cargoTestArgs(p Profile) []string {
	args := append([]string{"cargo"}, sc.with("test", "--lib", "--bins", "--tests")...)
	switch {
	case p.E2E:
		args = []string{"cargo", "test", "-p", e2ePackage, "--tests"}
	case p.Client:
		args = []string{"cargo", "test", "-p", "tasker-client", "--test", "api"}
	case p.Integration && sc.crate == nil:
		args = append(args, "--exclude", e2ePackage, "--exclude", "tasker-client") // the client's ignored tests are its API tests
	}
	if p.Integration || p.E2E {
		args = append(args, "--", "--ignored")
	}
	return args
}

// JUnitPath is where nextest writes the JUnit report of profile: the
// profile's directory in nextest's store (<root>/target/nextest/<profile>,
// or [store] dir) joined with [profile.<profile>.junit] path. nextest keeps
// its store under the workspace root even when CARGO_TARGET_DIR is set. It
// returns "" when the profile writes no report.
func JUnitPath(configFile, root, profile string) (string, error) {
	var cfg struct {
		Store struct {
			Dir string `toml:"dir"`
		} `toml:"store"`
		Profile map[string]struct {
			Junit struct {
				Path string `toml:"path"`
			} `toml:"junit"`
		} `toml:"profile"`
	}
	if _, err := toml.DecodeFile(configFile, &cfg); err != nil {
		return "", fail.Wrap(fail.Config, err, "%s", configFile)
	}
	rel := cfg.Profile[profile].Junit.Path
	if rel == "" {
		return "", nil
	}
	if filepath.IsAbs(rel) {
		return rel, nil
	}
	store := cfg.Store.Dir
	if store == "" {
		store = filepath.Join("target", "nextest")
	}
	if !filepath.IsAbs(store) {
		store = filepath.Join(root, store)
	}
	return filepath.Join(store, profile, rel), nil
}

// Run runs the scope's binary in the foreground until it exits or the
// target is cancelled (Ctrl-C stops it cleanly).
func (sc Scope) Run(release bool) run.Step {
	args := []string{"run", "-p", sc.crate.Package}
	action := "run"
	if release {
		args = append(args, "--release")
		action = "runRelease"
	}
	return sc.cargo(action, nil, args...)
}

// TestCi runs the tests with nextest's ci profile and fails unless nextest
// wrote the JUnit report during this run; it prints the report's path.
func (sc Scope) TestCi() run.Step { return sc.reported("ci", sc.Test(Profile{Name: "ci"})) }

// ClientTests runs tasker-client's API tests (ignored by default) against
// the orchestration at url, with nextest's client profile and its own
// JUnit report (tasker-core's test-client-ci).
func ClientTests(s *session.S, url string) run.Step {
	c, _ := workspace.CrateByKey("client") // generated from the workspace: always there
	sc := Scope{s: s, crate: &c}
	return sc.reported("client", sc.Test(Profile{Name: "client", Integration: true, Client: true, Env: []string{"TASKER_CLIENT_URL=" + url}}))
}

// reported runs inner, a nextest run with profile, and fails unless nextest
// wrote the profile's JUnit report during this run.
func (sc Scope) reported(profile string, inner run.Step) run.Step {
	return run.Step{Name: inner.Name, Heavy: true, Do: func(ctx context.Context, r *run.Runner) error {
		report, err := JUnitPath(sc.s.Paths.Abs(".config", "nextest.toml"), sc.s.Paths.Root, profile)
		if err != nil {
			return err
		}
		if report == "" {
			return fail.New(fail.Config, ".config/nextest.toml: profile %s has no [profile.%s.junit] path; CI needs a JUnit report", profile, profile)
		}
		started := time.Now()
		err = inner.Do(ctx, r)
		if r.DryRun() {
			return err
		}
		if stale := junit.Fresh(report, started); stale != nil {
			return errors.Join(err, fmt.Errorf("%w; check [profile.%s.junit] in .config/nextest.toml", stale, profile))
		}
		r.Infof("JUnit report: %s", report)
		return err
	}}
}

// Integration runs the tests that need PostgreSQL against databaseURL.
func (sc Scope) Integration(databaseURL string) run.Step {
	// split: PGMQ_DATABASE_URL names the queue's clone made with databaseURL
	return sc.Test(Profile{Integration: true, Env: db.ChildEnv(databaseURL)})
}

// E2E runs the end-to-end tests against the services listening at the
// configured ports (env adds e.g. ORCHESTRATION_PORT).
func (sc Scope) E2E(env []string) run.Step {
	return sc.Test(Profile{E2E: true, Env: env})
}
