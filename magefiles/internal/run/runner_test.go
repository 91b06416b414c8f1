package run

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// self is a command that runs this test binary in a helper mode.
func self(t *testing.T, mode string, env ...string) Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Cmd{Argv: []string{exe}, Dir: t.TempDir(), Env: append([]string{"RUN_HELPER=" + mode}, env...)}
}

func newTestRunner(o Options) (*Runner, *testkit.SyncBuffer) {
	buf := &testkit.SyncBuffer{}
	o.Stdout, o.Stderr = buf, buf
	if o.Env == nil {
		o.Env = os.Environ()
	}
	return New(o), buf
}

func readPids(t *testing.T, file string) []int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(file); err == nil && strings.HasSuffix(string(b), "\n") {
			var pids []int
			for _, f := range strings.Fields(string(b)) {
				p, _ := strconv.Atoi(f)
				pids = append(pids, p)
			}
			return pids
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("helper never wrote its pids")
	return nil
}

func assertGone(t *testing.T, pids []int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for _, pid := range pids {
		for Alive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if Alive(pid) {
			kill(pid)
			t.Errorf("pid %d is still alive after cancel", pid)
		}
	}
}

func TestCancelKillsChildAndGrandchild(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ignore string
	}{{"child obeys SIGINT", "0"}, {"child ignores SIGINT and SIGTERM", "1"}} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newTestRunner(Options{Grace: 200 * time.Millisecond})
			pidFile := filepath.Join(t.TempDir(), "pids")
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx, self(t, "spawn", "PID_FILE="+pidFile, "IGNORE_SIGNALS="+tc.ignore)) }()
			pids := readPids(t, pidFile)
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("want context.Canceled, got %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			assertGone(t, pids)
		})
	}
}

func TestGrandchildLeftBehindIsKilledWhenLeaderExits(t *testing.T) {
	r, _ := newTestRunner(Options{})
	pidFile := filepath.Join(t.TempDir(), "pids")
	start := time.Now()
	if err := r.Run(context.Background(), self(t, "spawn", "PID_FILE="+pidFile, "LEAVE=1")); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Run waited %s for a grandchild holding stdout", took)
	}
	assertGone(t, readPids(t, pidFile))
}

func TestExitCodeAndStreams(t *testing.T) {
	r, out := newTestRunner(Options{})
	err := r.Run(context.Background(), self(t, "exit", "CODE=7"))
	var xe *ExitError
	if !errors.As(err, &xe) || xe.Code != 7 {
		t.Fatalf("want exit code 7, got %v", err)
	}
	for _, want := range []string{"stdout line", "stderr line", "exited with code 7", "✘"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestExplicitEnvironment(t *testing.T) {
	r, _ := newTestRunner(Options{Env: []string{"PATH=" + os.Getenv("PATH"), "BASE=from-base", "OVER=base"}})
	for key, want := range map[string]string{"BASE": "from-base", "OVER": "cmd", "HOME": ""} {
		got, err := r.Output(context.Background(), self(t, "printenv", "KEY="+key, "OVER=cmd"))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q (children see only the explicit environment)", key, got, want)
		}
	}
}

func TestRelativeDirAndMissingProgram(t *testing.T) {
	r, _ := newTestRunner(Options{})
	if err := r.Run(context.Background(), Cmd{Argv: []string{"true"}, Dir: "rel"}); err == nil || !strings.Contains(err.Error(), "not absolute") {
		t.Fatalf("relative dir accepted: %v", err)
	}
	err := r.Run(context.Background(), Cmd{Argv: []string{"no-such-tool-xyz"}, Dir: t.TempDir()})
	if fail.Code(err) != fail.MissingTool || !strings.Contains(err.Error(), "no-such-tool-xyz") {
		t.Fatalf("missing program: want exit 3 naming it, got %d %v", fail.Code(err), err)
	}
	// With the tool registry's hint, the message carries the install command.
	r, _ = newTestRunner(Options{InstallHint: func(bin string) string { return "`get " + bin + "`" }})
	err = r.Run(context.Background(), Cmd{Argv: []string{"/opt/venv/bin/no-such-tool-xyz"}, Dir: t.TempDir()})
	if want := "no-such-tool-xyz is not installed or not on PATH; install with `get no-such-tool-xyz`"; fail.Code(err) != fail.MissingTool || !strings.Contains(err.Error(), want) {
		t.Fatalf("missing program with a hint: %d %v, want %q", fail.Code(err), err, want)
	}
}

func TestDryRunPrintsExactCommandsAndRunsNothing(t *testing.T) {
	r, out := newTestRunner(Options{DryRun: true, Redact: func(s string) string {
		return strings.ReplaceAll(s, "s3cret", "***")
	}})
	marker := filepath.Join(t.TempDir(), "ran")
	c := self(t, "touch", "TOUCH="+marker, "PGPASSWORD=s3cret")
	c.Argv = append(c.Argv, "--flag", "two words", "$HOME")
	if err := r.Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("dry run executed the command")
	}
	want := "[dry-run] RUN_HELPER=touch TOUCH=" + marker + " PGPASSWORD=*** " + c.Argv[0] + " --flag 'two words' '$HOME'  (in " + c.Dir + ")"
	if !strings.Contains(out.String(), want) {
		t.Fatalf("dry-run line\n got: %s\nwant: %s", out, want)
	}
}

func step(name string, heavy bool, fn func(ctx context.Context) error) Step {
	return Step{Name: name, Heavy: heavy, Do: func(ctx context.Context, _ *Runner) error { return fn(ctx) }}
}

func TestParallelFailFastNamesTheFailedTask(t *testing.T) {
	r, _ := newTestRunner(Options{Jobs: 3, Grace: 100 * time.Millisecond})
	start := time.Now()
	err := r.Parallel(context.Background(),
		step("rust:lint", false, func(context.Context) error { return errors.New("clippy found 2 errors") }),
		Step{Name: "rust:test", Do: func(ctx context.Context, r *Runner) error {
			return r.Run(ctx, self(t, "sleep"))
		}},
	)
	if err == nil || !strings.HasPrefix(err.Error(), "rust:lint: ") {
		t.Fatalf("error should name the failed task, got %v", err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Fatalf("sibling not cancelled promptly: %s", took)
	}
	got := map[string]Status{}
	for _, res := range r.Results() {
		got[res.Name] = res.Status
	}
	if got["rust:lint"] != Failed || got["rust:test"] != Cancelled {
		t.Fatalf("results = %v", got)
	}
}

func TestHeavyStepsNeverOverlap(t *testing.T) {
	r, _ := newTestRunner(Options{Jobs: 4})
	var mu sync.Mutex
	running, maxRunning := 0, 0
	heavy := func(ctx context.Context) error {
		mu.Lock()
		running++
		if running > maxRunning {
			maxRunning = running
		}
		mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	}
	light := 0
	err := r.Parallel(context.Background(),
		step("a", true, heavy), step("b", true, heavy), step("c", true, heavy),
		step("d", false, func(context.Context) error { mu.Lock(); light++; mu.Unlock(); return nil }),
	)
	if err != nil || maxRunning != 1 || light != 1 {
		t.Fatalf("err=%v maxRunning=%d light=%d", err, maxRunning, light)
	}
}

func TestNestedHeavyStepsDoNotDeadlock(t *testing.T) {
	r, _ := newTestRunner(Options{})
	done := make(chan error, 1)
	go func() {
		done <- r.Serial(context.Background(), Step{Name: "outer", Heavy: true, Do: func(ctx context.Context, r *Runner) error {
			return r.Serial(ctx, step("inner", true, func(context.Context) error { return nil }))
		}})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nested heavy step deadlocked")
	}
}

func TestSerialStopsAtFirstFailureAndSummarises(t *testing.T) {
	r, out := newTestRunner(Options{})
	err := r.Serial(context.Background(),
		step("rust:format", false, func(context.Context) error { return nil }),
		step("rust:lint", false, func(context.Context) error { return errors.New("boom") }),
		step("rust:test", false, func(context.Context) error { t.Error("ran after a failure"); return nil }),
		Step{Name: "deno", Do: func(context.Context, *Runner) error { return Skip("deno not installed") }},
	)
	if err == nil {
		t.Fatal("want error")
	}
	var buf bytes.Buffer
	r.Summary(&buf, 1500*time.Millisecond)
	table := buf.String()
	for _, want := range []string{"task", "result", "duration", "rust:format", "ok", "rust:lint", "FAILED", "rust:test", "skipped", "not run: rust:lint failed", "1 ok, 1 failed, 2 skipped in 1.50s"} {
		if !strings.Contains(table, want) {
			t.Errorf("summary lacks %q:\n%s", want, table)
		}
	}
	_ = out
}

func TestSkipIsNeverCountedAsPassed(t *testing.T) {
	r, _ := newTestRunner(Options{})
	if err := r.Serial(context.Background(), Step{Name: "typescript:testFfi:deno", Do: func(context.Context, *Runner) error {
		return Skip("deno is not installed")
	}}); err != nil {
		t.Fatal(err)
	}
	res := r.Results()
	if len(res) != 1 || res[0].Status != Skipped || res[0].Note != "deno is not installed" {
		t.Fatalf("results = %+v", res)
	}
}

func TestGitHubGroupsAndMarkdown(t *testing.T) {
	r, out := newTestRunner(Options{GitHub: true})
	_ = r.Serial(context.Background(),
		Step{Name: "rust:format", Do: func(ctx context.Context, r *Runner) error { return r.Run(ctx, self(t, "exit", "CODE=0")) }},
		Step{Name: "rust:lint", Do: func(ctx context.Context, r *Runner) error { return r.Run(ctx, self(t, "exit", "CODE=1")) }},
	)
	log := out.String()
	if !strings.Contains(log, "::group::rust:format\n") || strings.Count(log, "::endgroup::\n") != 2 {
		t.Fatalf("groups missing:\n%s", log)
	}
	if i, j := strings.Index(log, "::group::rust:lint"), strings.LastIndex(log, "stderr line"); i < 0 || j < i {
		t.Fatalf("step output not inside its group:\n%s", log)
	}
	md := r.Markdown("ci:flow", 3*time.Second)
	for _, want := range []string{"| task | result | duration | note |", "| rust:format | ✅ ok |", "| rust:lint | ❌ FAILED |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestParallelOutputIsPrefixed(t *testing.T) {
	r, out := newTestRunner(Options{Jobs: 2})
	err := r.Parallel(context.Background(),
		Step{Name: "python:lint", Do: func(ctx context.Context, r *Runner) error { return r.Run(ctx, self(t, "exit", "CODE=0")) }},
		Step{Name: "ruby:lint", Do: func(ctx context.Context, r *Runner) error { return r.Run(ctx, self(t, "exit", "CODE=0")) }},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasPrefix(line, "[python:lint] ") && !strings.HasPrefix(line, "[ruby:lint] ") {
			t.Errorf("unprefixed line in parallel output: %q", line)
		}
	}
	if !strings.Contains(out.String(), "[ruby:lint] stdout line") {
		t.Fatalf("child output not prefixed:\n%s", out)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{"plain": "plain", "": "''", "a b": "'a b'", "it's": `'it'\''s'`, "$HOME": "'$HOME'", "-D": "-D", "k=v": "k=v"} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{420 * time.Millisecond: "0.42s", 12300 * time.Millisecond: "12.3s", 123 * time.Second: "2m03s"} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%s) = %s, want %s", d, got, want)
		}
	}
}

func TestStepErrorKeepsTheExitCode(t *testing.T) {
	r, _ := newTestRunner(Options{})
	err := r.Serial(context.Background(), step("db:reset", false, func(context.Context) error {
		return fail.New(fail.Refused, "refusing to drop a production database")
	}))
	if fail.Code(err) != fail.Refused || !strings.HasPrefix(err.Error(), "db:reset: ") {
		t.Fatalf("want exit 4 named after the step, got %d %v", fail.Code(err), err)
	}
}

func TestSummaryIndentsNestedSteps(t *testing.T) {
	r, _ := newTestRunner(Options{})
	ok := func(context.Context) error { return nil }
	if err := r.Serial(context.Background(), Step{Name: "ci:testRust", Do: SerialDo([]Step{step("rust:testCi", false, ok)})}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	r.Summary(&buf, time.Second)
	if !strings.Contains(buf.String(), "\nci:testRust ") || !strings.Contains(buf.String(), "\n  rust:testCi ") {
		t.Fatalf("nesting not shown:\n%s", buf.String())
	}
}

// Parallel parents whose children start in interleaved order: each child
// is listed under its own parent (typescript:typecheck once appeared under
// ruby:check).
func TestSummaryNestsUnderTheRightParent(t *testing.T) {
	r, _ := newTestRunner(Options{Jobs: 2})
	started := make(chan struct{})
	parent := func(name, child string, first bool) Step {
		return Step{Name: name, Do: func(ctx context.Context, r *Runner) error {
			if first {
				<-started // the other parent's child starts first
			}
			return r.Serial(ctx, Step{Name: child, Do: func(context.Context, *Runner) error {
				if !first {
					close(started)
				}
				return nil
			}})
		}}
	}
	if err := r.Parallel(context.Background(), parent("ruby:check", "ruby:lint", true), parent("typescript:check", "typescript:typecheck", false)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, res := range r.Results() {
		names = append(names, indent(res))
	}
	want := []string{"ruby:check", "  ruby:lint", "typescript:check", "  typescript:typecheck"}
	if !slices.Equal(names, want) {
		t.Fatalf("summary order %q, want %q", names, want)
	}
}

func TestPathOverridesAreShownShort(t *testing.T) {
	r, out := newTestRunner(Options{Env: []string{"PATH=/usr/bin:/bin"}, DryRun: true})
	c := Cmd{Argv: []string{"ruff", "check"}, Dir: "/w", Env: []string{"PATH=/w/.venv/bin:/usr/bin:/bin", "X=1"}}
	if err := r.Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "'PATH=/w/.venv/bin:$PATH' X=1 ruff check") {
		t.Fatalf("got %q", out.String())
	}
}

// With KeepGoing every step runs and every failure is reported; the error
// is the first failure's (so its exit code).
func TestKeepGoingRunsEveryStep(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		r, _ := newTestRunner(Options{KeepGoing: true, Jobs: 2})
		fails := func(code int) func(context.Context) error {
			return func(context.Context) error { return fail.New(code, "boom %d", code) }
		}
		ok := func(context.Context) error { return nil }
		steps := []Step{step("a", false, fails(fail.Refused)), step("b", false, ok), step("c", false, fails(fail.Failed))}
		run := r.Serial
		if parallel {
			run = r.Parallel
		}
		err := run(context.Background(), steps...)
		if fail.Code(err) != fail.Refused {
			t.Errorf("parallel=%v: exit %d (%v), want the first failure's %d", parallel, fail.Code(err), err, fail.Refused)
		}
		var got []string
		for _, res := range r.Results() {
			got = append(got, res.Name+"="+string(res.Status))
		}
		if want := []string{"a=FAILED", "b=ok", "c=FAILED"}; !slices.Equal(got, want) {
			t.Errorf("parallel=%v: %q, want %q", parallel, got, want)
		}
	}
}
