package svc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// harness is a Supervisor with its state in a temporary directory, the
// output it printed, and the directory where helpers record their pids.
type harness struct {
	t    *testing.T
	s    *Supervisor
	out  *testkit.SyncBuffer
	pids string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	out := &testkit.SyncBuffer{}
	h := &harness{t: t, out: out, pids: filepath.Join(dir, "pids"), s: &Supervisor{
		R:      run.New(run.Options{Stdout: out, Stderr: out, Env: os.Environ()}),
		RunDir: filepath.Join(dir, "run"),
		LogDir: filepath.Join(dir, "logs"),
		Grace:  2 * time.Second,
	}}
	if err := os.Mkdir(h.pids, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // safety net: nothing a test started survives it
		for _, pid := range h.helperPids() {
			_ = run.SignalGroup(pid, syscall.SIGKILL)
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
		if t.Failed() {
			t.Logf("supervisor output:\n%s", out)
		}
	})
	return h
}

func (h *harness) spec(name string, port int, env ...string) Spec {
	return helperSpec(name, port, h.pids, env...)
}

// helperPids lists every helper process started during the test.
func (h *harness) helperPids() []int {
	entries, _ := os.ReadDir(h.pids)
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// assertClean checks that no helper process is alive, the ports are free
// and no pid file is left. Start and Stop wait for all of that before they
// return, so this checks at once.
func (h *harness) assertClean(ports ...int) {
	h.t.Helper()
	for _, pid := range h.helperPids() {
		if run.Alive(pid) {
			h.t.Errorf("helper pid %d (%s) is still alive", pid, run.Command(pid))
		}
	}
	for _, port := range ports {
		if err := CheckPort(port); err != nil {
			h.t.Errorf("port still bound: %v", err)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(h.s.RunDir, "*.json")); len(files) > 0 {
		h.t.Errorf("pid files left: %v", files)
	}
}

func (h *harness) record(name string) record {
	h.t.Helper()
	rec, err := readRecord(h.s.pidPath(name))
	if err != nil {
		h.t.Fatal(err)
	}
	return rec
}

// eventually polls cond for up to 30 s (a loaded 2-core machine is slow).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !waitFor(context.Background(), 30*time.Second, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

func wantErr(t *testing.T, err error, code int, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got nil")
	}
	if got := fail.Code(err); got != code {
		t.Errorf("exit code %d, want %d (%v)", got, code, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error lacks %q:\n%v", p, err)
		}
	}
}

func TestHealthyServiceStartsAndStopCleansUp(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	port := testkit.FreePort(t)
	if err := h.s.Start(ctx, []Spec{h.spec("good", port)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.out.String(), "good healthy in ") {
		t.Errorf("no progress line with timing:\n%s", h.out)
	}
	rec := h.record("good")
	if rec.Port != port || rec.Pgid != rec.Pid || rec.Ticks == 0 || len(rec.Argv) != 1 || rec.Log != h.s.logPath("good") || time.Since(rec.Started) > time.Minute {
		t.Errorf("pid file: %+v", rec)
	}

	var busy *PortBusyError
	if err := CheckPort(port); !errors.As(err, &busy) || busy.Owner == nil || busy.Owner.Pid != rec.Pid {
		t.Errorf("CheckPort while serving: %v (owner should be pid %d)", err, rec.Pid)
	}
	rows, err := h.s.Status(ctx, "good", "other")
	if err != nil || len(rows) != 2 || rows[0].Health != Healthy || rows[0].Pid != rec.Pid || rows[1].Health != NotRunning {
		t.Errorf("Status = %+v, %v", rows, err)
	}
	var table bytes.Buffer
	PrintStatus(&table, rows)
	if !strings.Contains(table.String(), "healthy") || !strings.Contains(table.String(), "not running") {
		t.Errorf("status table:\n%s", &table)
	}
	var logs bytes.Buffer
	if err := h.s.Logs(ctx, &logs, 5, false, "good"); err != nil || !strings.Contains(logs.String(), "listening on 127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("Logs = %q, %v", &logs, err)
	}

	wantErr(t, h.s.Start(ctx, []Spec{h.spec("good", port)}), fail.Failed, "good is already running", "nothing was started")

	if err := h.s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	h.assertClean(port)
	if !strings.Contains(h.out.String(), "stopped good (pid "+strconv.Itoa(rec.Pid)) {
		t.Errorf("no stop line:\n%s", h.out)
	}
	if rows, _ := h.s.Status(ctx, "good"); rows[0].Health != NotRunning {
		t.Errorf("after Stop: %+v", rows)
	}
	if err := h.s.Stop(ctx); err != nil || !strings.Contains(h.out.String(), "no services are running") {
		t.Errorf("Stop with nothing running: %v\n%s", err, h.out)
	}
}

func TestUnhealthyServiceFailsWithinItsOwnTimeout(t *testing.T) {
	h := newHarness(t)
	good, bad := testkit.FreePort(t), testkit.FreePort(t)
	bs := h.spec("bad", bad, "CODE=503")
	bs.Timeout = time.Second
	begin := time.Now()
	err := h.s.Start(context.Background(), []Spec{h.spec("good", good), bs})
	took := time.Since(begin)
	wantErr(t, err, fail.Failed, "bad did not become healthy within 1s", "HTTP 503", "listening on")
	// good has 60 s: only bad's own second counts (plus spawn and cleanup time).
	if took < time.Second || took > 20*time.Second {
		t.Errorf("Start failed after %s; want about bad's timeout of 1s", took)
	}
	h.assertClean(good, bad)
}

func TestRedirectOnABusyPortIsReportedNotAccepted(t *testing.T) {
	h := newHarness(t)
	port, other := testkit.FreePort(t), testkit.FreePort(t)
	squatter := helperSpec("squatter", port, "", "REDIRECT=1")
	cmd := exec.Command(squatter.Cmd.Argv[0])
	cmd.Env = append(os.Environ(), squatter.Cmd.Env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := fmt.Sprintf("http://127.0.0.1:%d/health", port)
	var probe error
	eventually(t, "the squatter to answer", func() bool {
		var pe *ProbeError
		probe = Probe(context.Background(), url, "orchestration", "")
		return errors.As(probe, &pe) && pe.Answered
	})
	if !strings.Contains(probe.Error(), "HTTP 301") {
		t.Errorf("probe of a redirect: %v", probe)
	}

	err := h.s.Start(context.Background(), []Spec{h.spec("first", other), h.spec("orchestration", port)})
	wantErr(t, err, fail.Failed, "nothing was started", fmt.Sprintf("port %d is already in use by pid %d", port, cmd.Process.Pid))
	if pids := h.helperPids(); len(pids) != 0 {
		t.Errorf("processes were started: %v", pids)
	}
	h.assertClean(other)
}

// A healthy answer from another instance of the service (another start's
// process on the port) is not accepted as this start's service.
func TestHealthFromAnotherInstanceIsNotAccepted(t *testing.T) {
	h := newHarness(t)
	port := testkit.FreePort(t)
	sp := h.spec("orchestration", port)
	sp.Cmd.Env = append(sp.Cmd.Env, "INSTANCE=someone-else")
	sp.Timeout = time.Second
	err := h.s.Start(context.Background(), []Spec{sp})
	wantErr(t, err, fail.Failed, "orchestration did not become healthy", `from another orchestration (instance "someone-else"`)
	h.assertClean(port)
}

func TestHealthNamingAnotherServiceIsNotAccepted(t *testing.T) {
	h := newHarness(t)
	port := testkit.FreePort(t)
	sp := h.spec("mine", port, "SERVICE=other") // the later SERVICE wins
	sp.Timeout = 2 * time.Second
	wantErr(t, h.s.Start(context.Background(), []Spec{sp}), fail.Failed, `from service "other", want "mine"`)
	h.assertClean(port)
}

func TestExitBeforeHealthyFailsFastWithTheLog(t *testing.T) {
	h := newHarness(t)
	port := testkit.FreePort(t)
	begin := time.Now()
	err := h.s.Start(context.Background(), []Spec{h.spec("crasher", port, "EXIT=3")})
	wantErr(t, err, fail.Failed, "crasher exited with code 3 before it became healthy", "fatal: boom")
	if took := time.Since(begin); took > 30*time.Second {
		t.Errorf("took %s: should not wait for the 60s timeout", took)
	}
	h.assertClean(port)
}

func TestDependentsStartAfterTheirDependencyIsHealthy(t *testing.T) {
	h := newHarness(t)
	pa, pb, pc := testkit.FreePort(t), testkit.FreePort(t), testkit.FreePort(t)
	marker := filepath.Join(t.TempDir(), "c-started")
	// a listens only once c has started: so c, which does not depend on a,
	// must start in parallel with a. b refuses to start unless a is healthy.
	a := h.spec("a", pa, "WAIT_FILE="+marker)
	b := h.spec("b", pb, fmt.Sprintf("REQUIRE=http://127.0.0.1:%d/health", pa))
	b.After = []string{"a"}
	c := h.spec("c", pc, "TOUCH="+marker)
	if err := h.s.Start(context.Background(), []Spec{b, a, c}); err != nil {
		t.Fatal(err)
	}
	out := h.out.String()
	if ah, bs := strings.Index(out, "a healthy in"), strings.Index(out, "SERVICE=b "); ah < 0 || bs < ah {
		t.Errorf("b was spawned before a was healthy:\n%s", out)
	}
	if err := h.s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.assertClean(pa, pb, pc)
}

func TestCancelMidStartLeavesNothing(t *testing.T) {
	h := newHarness(t)
	pa, pb := testkit.FreePort(t), testkit.FreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.s.Start(ctx, []Spec{h.spec("a", pa), h.spec("b", pb, "CODE=503")}) }()
	eventually(t, "a healthy and b spawned", func() bool {
		_, err := os.Stat(h.s.pidPath("b"))
		return err == nil && strings.Contains(h.out.String(), "a healthy in")
	})
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("want context.Canceled, got %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Start did not return after cancel")
	}
	h.assertClean(pa, pb)
}

func TestStopCleansUpAfterTheStarterWasKilled(t *testing.T) {
	h := newHarness(t)
	h.s.Grace = 300 * time.Millisecond // a ignores SIGTERM: this is how long until SIGKILL
	pa, pb := testkit.FreePort(t), testkit.FreePort(t)
	exe, _ := os.Executable()
	starter := exec.Command(exe)
	starter.Env = append(os.Environ(), "SVC_HELPER=start", "PIDS="+h.pids, "RUN_DIR="+h.s.RunDir, "LOG_DIR="+h.s.LogDir,
		fmt.Sprintf("PORTS=%d,%d", pa, pb))
	var starterOut testkit.SyncBuffer
	starter.Stdout, starter.Stderr = &starterOut, &starterOut
	if err := starter.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both pid files", func() bool {
		_, errA := os.Stat(h.s.pidPath("a"))
		_, errB := os.Stat(h.s.pidPath("b"))
		return errA == nil && errB == nil
	})
	_ = starter.Process.Signal(syscall.SIGKILL)
	_ = starter.Wait()
	a, b := h.record("a"), h.record("b")
	if !run.Alive(a.Pid) || !run.Alive(b.Pid) {
		t.Fatalf("services died with their starter:\n%s", &starterOut)
	}
	if len(h.helperPids()) < 4 { // starter, a, a's grandchild, b
		eventually(t, "a's grandchild", func() bool { return len(h.helperPids()) >= 4 })
	}

	if err := h.s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.assertClean(pa, pb)
	for _, name := range []string{"a", "b"} {
		if !strings.Contains(h.out.String(), "stopped "+name) {
			t.Errorf("no stop line for %s:\n%s", name, h.out)
		}
	}
}

// A pid file that cannot prove which process it means (no start time, as
// older pid files had, or a group its process does not lead) is never
// acted on: the live processes it names survive Stop.
func TestStopNeverSignalsAnUnverifiedPidFile(t *testing.T) {
	h := newHarness(t)
	victim, ticks := startBystander(t)
	other, _ := startBystander(t)
	stale := []record{
		{Name: "no-ticks", Pid: victim.Process.Pid, Pgid: victim.Process.Pid, Port: testkit.FreePort(t), Started: time.Now()},
		{Name: "other-group", Pid: victim.Process.Pid, Pgid: other.Process.Pid, Port: testkit.FreePort(t), Ticks: ticks, Started: time.Now()},
	}
	for _, rec := range stale {
		if err := writeRecord(h.s.pidPath(rec.Name), rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !run.Alive(victim.Process.Pid) || !run.Alive(other.Process.Pid) {
		t.Fatalf("Stop signalled a process an unverified pid file named:\n%s", h.out)
	}
	if n := strings.Count(h.out.String(), "cannot prove which process it means; signalled nothing"); n != 2 {
		t.Errorf("%d warnings, want 2:\n%s", n, h.out)
	}
	h.assertClean()
}

func TestStopLeavesAReusedPidAlone(t *testing.T) {
	h := newHarness(t)
	victim, ticks := startBystander(t)
	exe, _ := os.Executable()
	exited := exec.Command(exe)
	exited.Env = append(os.Environ(), "SVC_HELPER=bogus")
	_ = exited.Run()

	port := testkit.FreePort(t)
	stale := []record{
		{Name: "ghost", Pid: victim.Process.Pid, Pgid: victim.Process.Pid, Port: port, Ticks: ticks + 100, Started: time.Now()},
		{Name: "gone", Pid: exited.Process.Pid, Pgid: exited.Process.Pid, Port: port, Ticks: 1, Started: time.Now()},
	}
	for _, rec := range stale {
		if err := writeRecord(h.s.pidPath(rec.Name), rec); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := h.s.Status(context.Background())
	if err != nil || len(rows) != 2 || rows[0].Health != Down || rows[1].Health != Down {
		t.Errorf("status of stale pid files: %+v, %v", rows, err)
	}

	if err := h.s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !run.Alive(victim.Process.Pid) {
		t.Fatal("Stop killed a process that merely reused a recorded pid")
	}
	for _, want := range []string{"ghost: pid " + strconv.Itoa(victim.Process.Pid) + " now belongs to another process", "gone (pid"} {
		if !strings.Contains(h.out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, h.out)
		}
	}
	h.assertClean()
}

func TestDryRunStartsNothing(t *testing.T) {
	h := newHarness(t)
	out := &testkit.SyncBuffer{}
	h.s.R = run.New(run.Options{Stdout: out, Stderr: out, Env: os.Environ(), DryRun: true})
	b := h.spec("b", testkit.FreePort(t))
	b.After = []string{"a"}
	if err := h.s.Start(context.Background(), []Spec{b, h.spec("a", testkit.FreePort(t))}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "SERVICE=a ") || !strings.Contains(lines[1], "SERVICE=b ") {
		t.Errorf("dry run should print a, then b:\n%s", out)
	}
	if len(h.helperPids()) != 0 {
		t.Error("dry run started a process")
	}
	h.assertClean()

	// A dry-run Stop signals nothing.
	victim, ticks := startBystander(t)
	rec := record{Name: "a", Pid: victim.Process.Pid, Pgid: victim.Process.Pid, Port: testkit.FreePort(t), Ticks: ticks}
	if err := writeRecord(h.s.pidPath("a"), rec); err != nil {
		t.Fatal(err)
	}
	if err := h.s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := readRecord(h.s.pidPath("a")); err != nil || !run.Alive(victim.Process.Pid) || !strings.Contains(out.String(), "[dry-run] would stop a") {
		t.Errorf("dry-run Stop acted (pid file: %v, alive: %v):\n%s", err, run.Alive(victim.Process.Pid), out)
	}
}

// Two starts at once in one checkout (two terminals): one starts the
// services, the other waits for it and then finds them running; a stop
// afterwards leaves no process and no bound port. (Both used to exit 0, the
// loser deleting the winner's pid files and leaving its services orphaned.)
func TestConcurrentStartsOneWins(t *testing.T) {
	h := newHarness(t)
	ports := []int{testkit.FreePort(t), testkit.FreePort(t)}
	specs := func() []Spec {
		b := h.spec("b", ports[1])
		b.After = []string{"a"}
		return []Spec{h.spec("a", ports[0]), b}
	}
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- h.s.Start(context.Background(), specs()) }()
	}
	var failures []error
	for range 2 {
		if err := <-errs; err != nil {
			failures = append(failures, err)
		}
	}
	if len(failures) != 1 || !strings.Contains(failures[0].Error(), "is already running") {
		t.Fatalf("want exactly one start refused as already running, got %v", failures)
	}
	if !strings.Contains(h.out.String(), "• waiting for ") {
		t.Errorf("the second start did not say what it waited for:\n%s", h.out)
	}
	for _, n := range []string{"a", "b"} {
		if rec := h.record(n); identify(rec) != running {
			t.Errorf("%s is not running after the starts: %+v", n, rec)
		}
	}
	if err := h.s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.assertClean(ports...)
}
