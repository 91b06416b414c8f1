package rust

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/junit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// dryRun builds a session whose runner prints commands into a buffer.
func dryRun(t *testing.T, extraEnv ...string) (*session.S, *bytes.Buffer) {
	t.Helper()
	root, err := workspace.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return dryRunIn(t, root, extraEnv...)
}

// dryRunIn is dryRun rooted at root.
func dryRunIn(t *testing.T, root string, extraEnv ...string) (*session.S, *bytes.Buffer) {
	t.Helper()
	e, err := env.Load(t.TempDir(), append(os.Environ(), extraEnv...))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	return session.New(root, e, run.Options{Stdout: &out, Stderr: &out, DryRun: true}), &out
}

func TestWorkspaceAndCrateCommands(t *testing.T) {
	s, out := dryRun(t)
	ws := Workspace(s)
	pg, err := Crate(s, "pgmq")
	if err != nil {
		t.Fatal(err)
	}
	steps := []run.Step{ws.Lint(), ws.Format(), pg.Lint(), pg.Format(), pg.Clean(), ws.TestDocs(), ws.Docs()}
	if err := s.Run.Serial(context.Background(), steps...); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"rust:lint: cargo clippy " + wsArgs + " --all-targets --all-features -- -D warnings  (in " + s.Paths.Root + ")",
		"rust:format: cargo fmt --all -- --check",
		"pgmq:lint: cargo clippy -p tasker-pgmq --all-targets --all-features -- -D warnings",
		"pgmq:format: cargo fmt -p tasker-pgmq -- --check",
		"pgmq:clean: cargo clean -p tasker-pgmq",
		"rust:testDocs: cargo test " + wsArgs + " --doc",
		"rust:docs: 'RUSTDOCFLAGS=-D warnings' cargo doc " + wsArgs + " --no-deps --document-private-items",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
}

func TestWithoutNextestTestsFallBackWithAWarning(t *testing.T) {
	bin := t.TempDir()
	// A PATH with cargo but no cargo-nextest.
	if err := os.WriteFile(filepath.Join(bin, "cargo"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Rooted elsewhere, so that no cargo-nextest installed into this
	// checkout's .tasker/tools is found.
	// Not CI, where the missing tool would be installed instead.
	s, out := dryRunIn(t, t.TempDir(), "PATH="+bin, "CI=", "TASKER_INSTALL=")
	if err := s.Run.Serial(context.Background(), Workspace(s).Test(Profile{})); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "warning: missing tool cargo-nextest: install with `mage install cargo-nextest` or `cargo install cargo-nextest --locked`; falling back to `cargo test`") ||
		!strings.Contains(out.String(), "cargo test "+wsArgs+" --lib --bins --tests") {
		t.Fatalf("no visible fallback:\n%s", out)
	}
	// The ci profile needs nextest's JUnit: no silent fallback there.
	err := s.Run.Serial(context.Background(), Workspace(s).Test(Profile{Name: "ci"}))
	if fail.Code(err) != fail.MissingTool || !strings.Contains(err.Error(), "cargo install cargo-nextest") {
		t.Fatalf("ci profile without nextest: want exit 3 with the hint, got %v", err)
	}
}

func TestIntegrationRunsOnlyIgnoredTestsWithTheDatabase(t *testing.T) {
	bin := t.TempDir()
	for _, b := range []string{"cargo", "cargo-nextest"} {
		if err := os.WriteFile(filepath.Join(bin, b), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s, out := dryRun(t, "PATH="+bin)
	if err := s.Run.Serial(context.Background(), Workspace(s).Integration("postgresql://tasker:pw@127.0.0.1:5/clone_1")); err != nil {
		t.Fatal(err)
	}
	// The end-to-end and the client's API tests are ignored too, but need running services.
	if want := "DATABASE_URL=postgresql://tasker:pw@127.0.0.1:5/clone_1 cargo nextest run " + wsArgs + " --run-ignored only -E 'not package(tasker-e2e) and not binary_id(tasker-client::api)'"; !strings.Contains(out.String(), want) {
		t.Fatalf("dry run lacks %q:\n%s", want, out)
	}
	out.Reset()
	if err := s.Run.Serial(context.Background(), ClientTests(s, "http://127.0.0.1:9")); err != nil {
		t.Fatal(err)
	}
	if want := "TASKER_CLIENT_URL=http://127.0.0.1:9 cargo nextest run -p tasker-client --profile client --run-ignored only -E 'binary_id(tasker-client::api)'"; !strings.Contains(out.String(), want) {
		t.Fatalf("dry run lacks %q:\n%s", want, out)
	}
}

func TestUnknownCrateIsAConfigError(t *testing.T) {
	s, _ := dryRun(t)
	if _, err := Crate(s, "tasker-nope"); fail.Code(err) != fail.Config {
		t.Fatalf("want exit 5, got %v", err)
	}
}

func TestJUnitPathFollowsTheStoreDir(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "nextest.toml")
	toml := "[profile.default]\nfail-fast = true\n\n[profile.ci]\nretries = 1\n\n[profile.ci.junit]\n# where\npath = \"junit.xml\"\n"
	if err := os.WriteFile(cfg, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := JUnitPath(cfg, "/repo", "ci")
	if err != nil || got != "/repo/target/nextest/ci/junit.xml" {
		t.Fatalf("got %q, %v", got, err)
	}
	if got, _ := JUnitPath(cfg, "/repo", "default"); got != "" {
		t.Fatalf("default profile has no junit, got %q", got)
	}
	if err := os.WriteFile(cfg, []byte("[store]\ndir = \"build/nt\"\n"+toml), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := JUnitPath(cfg, "/repo", "ci"); got != "/repo/build/nt/ci/junit.xml" {
		t.Fatalf("[store] dir ignored: %q", got)
	}
}

// nextest accepts any TOML spelling of the setting; so does the build
// (a line regex rejected single quotes and inline tables with exit 5).
func TestJUnitPathReadsAnyTOMLSpelling(t *testing.T) {
	for name, src := range map[string]string{
		"single quotes": "[profile.ci.junit]\npath = 'junit.xml'\n",
		"inline table":  "[profile.ci]\njunit = { path = \"junit.xml\" }\n",
		"dotted key":    "[profile.ci]\njunit.path = \"junit.xml\"\n",
	} {
		cfg := filepath.Join(t.TempDir(), "nextest.toml")
		if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := JUnitPath(cfg, "/repo", "ci"); err != nil || got != "/repo/target/nextest/ci/junit.xml" {
			t.Errorf("%s: got %q, %v", name, got, err)
		}
	}
	cfg := filepath.Join(t.TempDir(), "nextest.toml")
	if err := os.WriteFile(cfg, []byte("[profile.ci\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := JUnitPath(cfg, "/repo", "ci"); fail.Code(err) != fail.Config || !strings.Contains(err.Error(), cfg) {
		t.Errorf("malformed TOML: %v, want exit 5 naming the file", err)
	}
}

func TestRepositoryNextestConfigWritesJUnitForCI(t *testing.T) {
	root, err := workspace.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	got, err := JUnitPath(filepath.Join(root, ".config", "nextest.toml"), root, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "target", "nextest", "ci", "junit.xml"); got != want {
		t.Fatalf("ci JUnit lands at %s, want %s (a doubled path is never uploaded)", got, want)
	}
}

// wsArgs is the workspace selection: every member but the language workers' extensions.
const wsArgs = "--workspace --exclude tasker-worker-python --exclude tasker-worker-ruby --exclude tasker-worker-typescript"

// The test binaries are built once into a nextest archive; the shards run
// from it on their own (as CI's parallel jobs do, each on its own machine)
// and together run exactly the tests an unsharded run does, none twice.
func TestShardsFromAnArchiveCoverTheRunOnce(t *testing.T) {
	testkit.NeedTool(t, "cargo")
	root, err := workspace.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	session := func(vars ...string) *session.S {
		e, err := env.Load(t.TempDir(), append(os.Environ(), vars...))
		if err != nil {
			t.Fatal(err)
		}
		return session.New(root, e, run.Options{Stdout: io.Discard, Stderr: io.Discard})
	}
	// runCi runs rust:testCi with vars and returns the test cases its JUnit lists.
	runCi := func(vars ...string) []string {
		t.Helper()
		s := session(append(vars, "MAGE_NO_CACHE=1")...) // nextest itself, not a replay
		if err := s.Run.Serial(context.Background(), Workspace(s).TestCi()); err != nil {
			t.Fatalf("rust:testCi %v: %v", vars, err)
		}
		path, _ := JUnitPath(filepath.Join(root, ".config", "nextest.toml"), root, "ci")
		report, err := junit.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range report.Cases() {
			ids = append(ids, c.ID())
		}
		slices.Sort(ids)
		return ids
	}
	s := session()
	if _, err := toolchain.LookPath(s.PATH(), "cargo-nextest"); err != nil {
		testkit.Missing(t, "cargo-nextest is not installed", "`go tool mage setup` installs it")
	}
	if err := s.Run.Serial(context.Background(), Workspace(s).Archive()); err != nil {
		t.Fatalf("archiving the tests: %v", err)
	}
	archive := "TASKER_TEST_ARCHIVE=" + Workspace(s).ArchivePath()
	all := runCi()
	var shards []string
	for _, k := range []string{"1/2", "2/2"} {
		part := runCi(archive, "TASKER_SHARD="+k)
		if len(part) == 0 || len(part) == len(all) {
			t.Errorf("shard %s ran %d of %d tests", k, len(part), len(all))
		}
		shards = append(shards, part...)
	}
	slices.Sort(shards)
	if !slices.Equal(shards, all) {
		t.Fatalf("the shards ran %d tests, the whole run %d; they differ (or one ran twice)", len(shards), len(all))
	}
	bad := session("TASKER_SHARD=3/2")
	if err := bad.Run.Serial(context.Background(), Workspace(bad).TestCi()); fail.Code(err) != fail.Config || !strings.Contains(err.Error(), "TASKER_SHARD") {
		t.Errorf("TASKER_SHARD=3/2: %v, want exit 5 naming it", err)
	}
}

// The action cache's key of a Rust step covers the crates it compiles:
// every workspace member for the workspace (test suites included: a change
// in tests/e2e reruns rust:lint), one crate's own files and its workspace
// dependencies' for a crate, never another crate's.
func TestCacheKeysCoverTheCratesTheStepCompiles(t *testing.T) {
	testkit.NeedTool(t, "cargo")
	s, _ := dryRun(t)
	paths := func(sc Scope) map[string]bool {
		t.Helper()
		sp, err := sc.spec(context.Background(), "lint", nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, in := range sp.Inputs {
			out[in.Path] = true
		}
		return out
	}
	ws := paths(Workspace(s))
	for _, want := range []string{"tests/e2e", "crates/tasker-client", "crates/tasker-shared", "workers/rust", "workers/python", "Cargo.lock", ".config", "db"} {
		if !ws[want] {
			t.Errorf("the workspace's key lacks %s: %v", want, ws)
		}
	}
	worker, err := Crate(s, "worker")
	if err != nil {
		t.Fatal(err)
	}
	got := paths(worker)
	for _, want := range []string{"crates/tasker-worker", "crates/tasker-shared", "crates/tasker-pgmq", "Cargo.lock"} {
		if !got[want] {
			t.Errorf("worker's key lacks %s: %v", want, got)
		}
	}
	for _, not := range []string{"crates/tasker-orchestration", "tests/e2e", "workers/rust", "workers/python"} {
		if got[not] {
			t.Errorf("worker's key has %s, which it does not compile", not)
		}
	}
}
