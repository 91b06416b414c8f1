package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

var (
	root string // the repository
	mage string // the compiled magefiles
)

func TestMain(m *testing.M) {
	var err error
	if root, err = workspace.FindRoot("."); err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "mage-cli-test")
	if err != nil {
		panic(err)
	}
	mage = filepath.Join(dir, "mage")
	build := exec.Command("go", "tool", "mage", "-compile", mage)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		panic("compiling the magefiles: " + err.Error() + "\n" + string(out))
	}
	restore := leaveRepoClusterAsFound(root)
	code := m.Run()
	if err := restore(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the repository's cluster the tests started:", err)
		code = max(code, 1)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code   int
	stdout string
	stderr string
}

// invoke runs the compiled mage in dir with env layered over the test's environment.
func invoke(t testing.TB, dir string, env []string, args ...string) result {
	t.Helper()
	var res result
	var err error
	res.code, res.stdout, res.stderr, err = testkit.Exec(context.Background(), dir, env, append([]string{mage}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (r result) expect(t testing.TB, code int, wants ...string) {
	t.Helper()
	all := r.stdout + r.stderr
	if r.code != code {
		t.Errorf("exit code %d, want %d\n%s", r.code, code, all)
	}
	for _, w := range wants {
		if !strings.Contains(all, w) {
			t.Errorf("output lacks %q:\n%s", w, all)
		}
	}
}

// fakeRoot is a throwaway repository root holding only go.mod and a .env.
func fakeRoot(t *testing.T, dotenv string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+workspace.Module+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(dotenv), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestListShowsEveryNamespace(t *testing.T) {
	res := invoke(t, root, nil, "-l")
	res.expect(t, 0, "rust:check", "rust:testIntegration", "pgmq:test", "shared:lint", "client:check",
		"worker:clean", "orchestration:run", "rustWorker:runRelease", "doctor", "env", "preCommit", "prePush")
}

func TestAliasesResolve(t *testing.T) {
	res := invoke(t, root, nil, "-h", "check")
	res.expect(t, 0, "Aliases: c")
}

func TestEnvRedactsAndNamesSources(t *testing.T) {
	dir := fakeRoot(t, "DATABASE_URL=postgresql://tasker:hunter2-secret@db.internal:5432/app\nRUST_LOG=debug\n")
	res := invoke(t, dir, []string{"TASKER_ROOT=" + dir, "RUST_LOG=info", "API_TOKEN=tok-12345"}, "env")
	res.expect(t, 0, "postgresql://tasker:***@db.internal:5432/app", "RUST_LOG", "info", "process", ".env", "TASKER_ENV", "default")
	if strings.Contains(res.stdout+res.stderr, "hunter2-secret") {
		t.Fatalf("password printed:\n%s", res.stdout)
	}
}

func TestMalformedDotenvIsExit5WithFileAndLine(t *testing.T) {
	dir := fakeRoot(t, "TASKER_ENV=test\nRUST_LOG=warn\nthis line is wrong\n")
	res := invoke(t, dir, []string{"TASKER_ROOT=" + dir}, "env")
	res.expect(t, 5, filepath.Join(dir, ".env")+":3:")
}

func TestUnknownCrateIsExit5ListingValidNames(t *testing.T) {
	res := invoke(t, root, nil, "rust:testCrate", "nope")
	res.expect(t, 5, `unknown crate "nope"`, "pgmq", "rustWorker", "orchestration")
}

func TestMissingToolIsExit3WithTheInstallCommand(t *testing.T) {
	res := invoke(t, root, []string{"PATH=/nonexistent"}, "rust:lint")
	res.expect(t, 3, "missing tool cargo", "rustup")
	if strings.Contains(res.stdout+res.stderr, "▶") {
		t.Fatalf("a command started although a tool was missing:\n%s", res.stderr)
	}
}

func TestSameCommandsFromASubdirectory(t *testing.T) {
	dry := []string{"MAGE_DRY_RUN=1"}
	fromRoot := invoke(t, root, dry, "rust:check")
	fromCrate := invoke(t, filepath.Join(root, "crates", "tasker-pgmq"), dry, "rust:check")
	fromRoot.expect(t, 0, "[dry-run] rust:lint: cargo clippy --workspace", "(in "+root+")")
	if fromRoot.stderr != fromCrate.stderr && stripTimes(fromRoot.stderr) != stripTimes(fromCrate.stderr) {
		t.Fatalf("different plans:\nroot:\n%s\ncrate:\n%s", fromRoot.stderr, fromCrate.stderr)
	}
}

func stripTimes(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if !strings.Contains(line, " in ") || strings.Contains(line, "(in ") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func TestDoctorReportsDegradedAndMissing(t *testing.T) {
	dir := t.TempDir()
	// A PATH holding only cargo (linked from the real one) and go.
	for _, bin := range []string{"cargo", "go"} {
		p, err := exec.LookPath(bin)
		if err != nil {
			t.Skipf("%s not installed", bin)
		}
		if err := os.Symlink(p, filepath.Join(dir, bin)); err != nil {
			t.Fatal(err)
		}
	}
	res := invoke(t, root, []string{"PATH=" + dir}, "doctor")
	res.expect(t, 0, "uv", "degraded", "python environments are made with venv and pip", "rubocop", "missing",
		"`gem install rubocop --version 1.39.0`", "found in "+dir)
}

// A real target end to end: rustfmt checks the real workspace.
func TestRealFormatCheck(t *testing.T) {
	if _, err := exec.LookPath("cargo"); err != nil {
		t.Skip("cargo not installed")
	}
	res := invoke(t, root, []string{"MAGE_NO_CACHE=1"}, "rust:format")
	res.expect(t, 0, "▶ rust:format: cargo fmt --all -- --check", "✔ rust:format: cargo fmt --all …")
}

// A real target's success is replayed from the action cache while nothing
// it reads changes; MAGE_NO_CACHE=1 runs it anyway.
func TestRealTargetIsReplayedFromTheCache(t *testing.T) {
	if _, err := exec.LookPath("cargo"); err != nil {
		t.Skip("cargo not installed")
	}
	invoke(t, root, nil, "rust:format").expect(t, 0) // records it, or finds it recorded
	res := invoke(t, root, nil, "rust:format")
	res.expect(t, 0, "↺ rust:format cached (local), saved ")
	if strings.Contains(res.stdout+res.stderr, "▶ rust:format") {
		t.Errorf("the cached step ran its command:\n%s", res.stderr)
	}
	invoke(t, root, []string{"MAGE_NO_CACHE=1"}, "rust:format").expect(t, 0, "▶ rust:format: cargo fmt --all -- --check")
}

// The JUnit file rust:testCi reports must be the one nextest wrote in this
// run (tasker-core's config once wrote it to a doubled path CI never uploaded).
func TestCIJUnitIsTheFileNextestWrote(t *testing.T) {
	// where the targets look: PATH, then what setup installed into .tasker/tools
	tools := os.Getenv("PATH") + string(os.PathListSeparator) + filepath.Join(root, ".tasker", "tools", "bin")
	if _, err := toolchain.LookPath(tools, "cargo-nextest"); err != nil {
		testkit.Missing(t, "cargo-nextest is not installed", "`go tool mage setup` installs it")
	}
	before := time.Now()
	res := invoke(t, root, nil, "rust:testCi")
	res.expect(t, 0, "JUnit report: ")
	_, after, _ := strings.Cut(res.stderr, "JUnit report: ")
	path := strings.TrimSpace(strings.SplitN(after, "\n", 2)[0])
	if want := filepath.Join(root, "target", "nextest", "ci", "junit.xml"); path != want {
		t.Errorf("reported %s, want %s", path, want)
	}
	st, err := os.Stat(path)
	if err != nil || st.ModTime().Before(before.Add(-time.Second)) {
		t.Fatalf("reported JUnit %s was not written by this run: %v", path, err)
	}
	b, _ := os.ReadFile(path)
	for _, want := range []string{"<testsuites", "tasker-pgmq", "tasker-worker-rust"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JUnit lacks %q", want)
		}
	}
}

// TASKER_TEST_ARGS reaches each language's test runner, split like a shell
// line; a line that does not split is exit 5.
func TestExtraArgumentsReachTheTestRunners(t *testing.T) {
	args := []string{"MAGE_DRY_RUN=1", `TASKER_TEST_ARGS=-k "sum and not fail"`}
	cases := map[string]string{
		"python:test": `pytest -m 'not integration' -k 'sum and not fail'`,
		"rust:test":   `-k 'sum and not fail'`,
		"ruby:test":   `rspec --tag '~integration' -k 'sum and not fail'`,
	}
	for target, want := range cases {
		invoke(t, root, args, target).expect(t, 0, want)
	}
	invoke(t, root, []string{`TASKER_TEST_ARGS=-k "open`}, "python:test").expect(t, 5, "TASKER_TEST_ARGS")
}

// MAGE_SINCE narrows the root aggregates to the areas a change reaches:
// with nothing changed since HEAD none runs, each named as skipped; a ref
// that is not a commit is exit 5.
func TestSinceRunsOnlyAffectedAreas(t *testing.T) {
	invoke(t, root, []string{"MAGE_SINCE=no-such-ref", "MAGE_DRY_RUN=1"}, "check").expect(t, 5, "MAGE_SINCE")
	if out, err := exec.Command("git", "-C", root, "status", "--porcelain").Output(); err != nil || len(out) > 0 {
		t.Skip("the checkout has uncommitted changes; the rest needs a clean tree")
	}
	res := invoke(t, root, []string{"MAGE_SINCE=HEAD", "MAGE_DRY_RUN=1"}, "check")
	res.expect(t, 0, "not affected since HEAD: rust (skipped)", "not affected since HEAD: python (skipped)")
	if strings.Contains(res.stderr, "[dry-run]") {
		t.Errorf("a step ran although nothing changed:\n%s", res.stderr)
	}
}
