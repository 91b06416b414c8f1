package svc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

func TestProbe(t *testing.T) {
	answer := func(code int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			fmt.Fprint(w, body)
		}
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string // "" for healthy
	}{
		{"healthy", answer(200, `{"status":"healthy","service":"orchestration","instance":"a1","checks":{}}`), ""},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/login", http.StatusMovedPermanently)
		}, `HTTP 301 redirect to "/login"`},
		{"unhealthy", answer(503, `{"status":"unhealthy","service":"orchestration","instance":"a1"}`), `HTTP 503, status "unhealthy"`},
		{"another service", answer(200, `{"status":"healthy","service":"rust-worker"}`), `from service "rust-worker", want "orchestration"`},
		{"another instance", answer(200, `{"status":"healthy","service":"orchestration","instance":"b2"}`), `from another orchestration (instance "b2", not the one this start spawned)`},
		{"no instance", answer(200, `{"status":"healthy","service":"orchestration"}`), `instance "", not the one`},
		{"200 but unhealthy", answer(200, `{"status":"starting","service":"orchestration","instance":"a1"}`), `status "starting"`},
		{"not JSON", answer(200, `<html>It works!</html>`), "not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			err := Probe(context.Background(), srv.URL+"/health", "orchestration", "a1")
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want healthy, got %v", err)
				}
				return
			}
			var pe *ProbeError
			if !errors.As(err, &pe) || !pe.Answered || !strings.Contains(pe.Reason, tc.want) {
				t.Fatalf("want an answered ProbeError containing %q, got %#v", tc.want, err)
			}
		})
	}

	t.Run("nothing listening", func(t *testing.T) {
		err := Probe(context.Background(), fmt.Sprintf("http://127.0.0.1:%d/health", testkit.FreePort(t)), "x", "")
		var pe *ProbeError
		if !errors.As(err, &pe) || pe.Answered || !strings.Contains(pe.Reason, "connection refused") {
			t.Fatalf("want an unanswered ProbeError, got %#v", err)
		}
	})
}

func TestPortOwnerFindsTheListeningProcess(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	var busy *PortBusyError
	if err := CheckPort(port); !errors.As(err, &busy) || busy.Port != port {
		t.Fatalf("CheckPort of a bound port: %v", err)
	}
	if _, readable := run.StartTicks(os.Getpid()); readable { // the process table tells owners
		if busy.Owner == nil || busy.Owner.Pid != os.Getpid() || !strings.Contains(busy.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
			t.Errorf("owner: %v", busy)
		}
	}
	l.Close()
	if err := CheckPort(port); err != nil {
		t.Errorf("CheckPort after close: %v", err)
	}
	if _, ok := PortOwner(port); ok {
		t.Error("PortOwner found an owner for a free port")
	}
}

func TestPidFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "orchestration.json")
	rec := record{Name: "orchestration", Pid: 4242, Pgid: 4242, Port: 8080, Argv: []string{"bin", "--flag"},
		Started: time.Now().Round(0).Truncate(time.Second), Ticks: 77, Log: "/x.log", Service: "orchestration", HealthPath: "/health"}
	if err := writeRecord(path, rec); err != nil {
		t.Fatal(err)
	}
	got, err := readRecord(path)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(rec) || !got.Started.Equal(rec.Started) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, rec)
	}
	if matches, _ := filepath.Glob(path + ".tmp"); len(matches) > 0 {
		t.Error("temporary file left behind")
	}
	for _, bad := range []string{"{", `{"pid":0,"pgid":0}`, `{"pid":1,"pgid":1}`} {
		_ = os.WriteFile(path, []byte(bad), 0o600)
		if _, err := readRecord(path); err == nil || !strings.Contains(err.Error(), "malformed pid file") {
			t.Errorf("%s: want a malformed pid file error, got %v", bad, err)
		}
	}
}

func TestBackoffDoublesUpToMax(t *testing.T) {
	b := Backoff{Min: 50 * time.Millisecond, Max: time.Second}
	var got []time.Duration
	for range 7 {
		got = append(got, b.Next())
	}
	want := "[50ms 100ms 200ms 400ms 800ms 1s 1s]"
	if fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

func TestPlanValidatesAndOrders(t *testing.T) {
	sp := func(name string, port int, after ...string) Spec {
		return Spec{Name: name, Port: port, After: after, Cmd: run.Cmd{Argv: []string{"true"}, Dir: "/"}}
	}
	specs, err := plan([]Spec{sp("w1", 2, "o"), sp("o", 1), sp("w2", 3, "w1", "o")})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, s := range specs {
		order = append(order, s.Name)
	}
	if strings.Join(order, " ") != "o w1 w2" {
		t.Errorf("order %v", order)
	}
	if s := specs[0]; s.HealthPath != "/health" || s.Service != "o" || s.Timeout != defaultTimeout {
		t.Errorf("defaults not applied: %+v", s)
	}
	for _, tc := range []struct {
		specs []Spec
		want  string
	}{
		{[]Spec{sp("a", 1, "b"), sp("b", 2, "a")}, "cycle: a → b → a"},
		{[]Spec{sp("a", 1, "x")}, `starts after "x"`},
		{[]Spec{sp("a", 1), sp("b", 1)}, "both use port 1"},
		{[]Spec{sp("a", 1), sp("a", 2)}, "listed twice"},
		{[]Spec{sp("a", 0)}, "invalid port"},
		{[]Spec{sp("../a", 1)}, "invalid service name"},
		{[]Spec{{Name: "a", Port: 1, Cmd: run.Cmd{Argv: []string{"x"}, Dir: "rel"}}}, "absolute working directory"},
	} {
		_, err := plan(tc.specs)
		if fail.Code(err) != fail.Config || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want a config error containing %q, got %v", tc.want, err)
		}
	}
}

func TestTail(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := range 5000 {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	path := filepath.Join(dir, "big.log")
	content := strings.Join(lines, "\n") + "\n"
	_ = os.WriteFile(path, []byte(content), 0o644)
	for _, n := range []int{0, 1, 3, 2000, 5000, 9000} {
		got, err := tail(path, 0, n)
		want := lines[max(0, len(lines)-n):]
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("tail %d: got %d lines (%v), want %d", n, len(got), err, len(want))
		}
	}
	offset := int64(strings.Index(content, "line 4998\n"))
	if got, _ := tail(path, offset, 10); strings.Join(got, "|") != "line 4998|line 4999" {
		t.Errorf("tail from offset: %v", got)
	}
	if got, _ := tail(path, int64(len(content)), 10); len(got) != 0 {
		t.Errorf("nothing after the end, got %v", got)
	}
	if _, err := tail(filepath.Join(dir, "missing.log"), 0, 3); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing log: %v", err)
	}
}

func TestLogsTailsAndFollows(t *testing.T) {
	h := newHarness(t)
	_ = os.MkdirAll(h.s.LogDir, 0o755)
	_ = os.WriteFile(h.s.logPath("a"), []byte("a1\na2\na3\n"), 0o644)
	_ = os.WriteFile(h.s.logPath("b"), []byte("b1\n"), 0o644)

	var out bytes.Buffer
	if err := h.s.Logs(context.Background(), &out, 2, false); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("==> a (%s) <==\na2\na3\n==> b (%s) <==\nb1\n", h.s.logPath("a"), h.s.logPath("b"))
	if out.String() != want {
		t.Errorf("Logs:\n%s\nwant:\n%s", &out, want)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var followed testkit.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- h.s.Logs(ctx, &followed, 1, true, "a", "b") }()
	eventually(t, "the initial tail", func() bool { return strings.HasSuffix(followed.String(), "<==\nb1\n") })
	f, err := os.OpenFile(h.s.logPath("b"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, "b2\nb3 partial")
	eventually(t, "the followed line", func() bool { return strings.Contains(followed.String(), "b | b2\n") })
	fmt.Fprint(f, " done\n")
	f.Close()
	eventually(t, "the completed line", func() bool { return strings.Contains(followed.String(), "b | b3 partial done\n") })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(followed.String(), "b | b1") {
		t.Errorf("follow repeated an old line:\n%s", &followed)
	}
}

func TestStopWithNothingRunningNamesTheService(t *testing.T) {
	out := &bytes.Buffer{}
	s := &Supervisor{R: run.New(run.Options{Stdout: out, Stderr: out}), RunDir: t.TempDir()}
	if err := s.Stop(context.Background(), "orchestration"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "orchestration is not running") {
		t.Errorf("output: %s", out)
	}
}

func TestUptime(t *testing.T) {
	for d, want := range map[time.Duration]string{
		42 * time.Second:               "42s",
		12*time.Minute + 3*time.Second: "12m03s",
		3*time.Hour + 12*time.Minute:   "3h12m",
	} {
		if got := uptime(d); got != want {
			t.Errorf("uptime(%s) = %s, want %s", d, got, want)
		}
	}
}
