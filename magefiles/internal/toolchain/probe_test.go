package toolchain

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

func TestRequire(t *testing.T) {
	dir := t.TempDir()
	fake(t, dir, "cargo-nextest", "")
	empty := t.TempDir()
	cases := []struct {
		name    string
		pathEnv string
		tools   []string
		want    string // the error; "" = none
	}{
		{"found", dir, []string{"cargo-nextest"}, ""},
		{"none asked", empty, nil, ""},
		{"missing", empty, []string{"cargo-nextest"},
			"missing tool cargo-nextest: install with `mage install cargo-nextest` or `cargo install cargo-nextest --locked`"},
		{"several missing", empty, []string{"cargo-nextest", "clippy"},
			"missing tool cargo-nextest: install with `mage install cargo-nextest` or `cargo install cargo-nextest --locked`; missing tool clippy: install with `rustup component add clippy`"},
		{"only the missing one named", dir, []string{"cargo-nextest", "clippy"},
			"missing tool clippy: install with `rustup component add clippy`"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Require(c.pathEnv, c.tools...)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want == "":
			case err == nil || err.Error() != c.want:
				t.Errorf("got %v\nwant %s", err, c.want)
			case fail.Code(err) != fail.MissingTool:
				t.Errorf("code %d, want %d", fail.Code(err), fail.MissingTool)
			}
		})
	}
	if err := Require(dir, "no-such-tool"); err == nil || fail.Code(err) == fail.MissingTool {
		t.Errorf("unknown tool: %v", err)
	}
}

func TestProbeRealTool(t *testing.T) {
	goTool := Tool{Name: "go", Bin: "go", VersionArgs: []string{"version"}, Area: "rust"}
	st := Probe(context.Background(), runner(), t.TempDir(), "", goTool)
	if st.State() != StateOK || st.Path == "" || !regexp.MustCompile(`^go version go1\.\d+`).MatchString(st.Version) {
		t.Fatalf("go: %+v", st)
	}
}

func TestProbe(t *testing.T) {
	dir := t.TempDir()
	fake(t, dir, "good", `echo "good 1.2.3"; echo second line; echo noise >&2`)
	fake(t, dir, "broken", `echo "good: component not installed" >&2; exit 1`)
	fake(t, dir, "silent", "")
	cases := []struct {
		bin, state, version string
		found               bool
	}{
		{"good", StateOK, "good 1.2.3", true},
		{"broken", StateMissing, "", true},
		{"silent", StateOK, "", true},
		{"absent", StateMissing, "", false},
	}
	for _, c := range cases {
		t.Run(c.bin, func(t *testing.T) {
			st := Probe(context.Background(), runner(), dir, dir, Tool{Name: c.bin, Bin: c.bin, VersionArgs: []string{"--version"}})
			if st.State() != c.state || st.Version != c.version || (st.Path != "") != c.found {
				t.Errorf("got %+v (state %s)", st, st.State())
			}
		})
	}
	st := Probe(context.Background(), runner(), dir, dir, Tool{Name: "absent", Bin: "absent"})
	if !errors.Is(st.Err, exec.ErrNotFound) {
		t.Errorf("absent: %v", st.Err)
	}
}

func TestProbeTimesOut(t *testing.T) {
	defer func(d time.Duration) { probeTimeout = d }(probeTimeout)
	probeTimeout = 200 * time.Millisecond
	dir := t.TempDir()
	fake(t, dir, "hang", "exec sleep 30")
	r := run.New(run.Options{Stdout: io.Discard, Stderr: io.Discard, Grace: 100 * time.Millisecond})
	start := time.Now()
	st := Probe(context.Background(), r, dir, dir+":/bin:/usr/bin", Tool{Name: "hang", Bin: "hang"})
	if st.Err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("hung probe: %+v after %s", st, time.Since(start))
	}
}

func TestDoctorKeepsRegistryOrder(t *testing.T) {
	dir := t.TempDir()
	fake(t, dir, "cargo", "echo cargo 9.9.9")
	fake(t, dir, "ruby", "echo ruby 3.3")
	in := &Installer{Root: dir, Dir: t.TempDir(), Platform: Here()}
	sts := Doctor(context.Background(), runner(), in, dir)
	if len(sts) != len(Tools) {
		t.Fatalf("%d statuses for %d tools", len(sts), len(Tools))
	}
	for i, st := range sts {
		if st.Tool.Name != Tools[i].Name {
			t.Errorf("%d: %s, want %s", i, st.Tool.Name, Tools[i].Name)
		}
	}
	for name, want := range map[string]string{"cargo": "cargo 9.9.9", "ruby": "ruby 3.3"} {
		if st := statusOf(sts, name); st.State() != StateOK || st.Version != want || st.Origin != "found in "+dir {
			t.Errorf("%s: %+v", name, st)
		}
	}
	if st := statusOf(sts, "rubocop"); st.State() != StateMissing {
		t.Errorf("rubocop: %+v", st)
	}
}

func TestState(t *testing.T) {
	gone := errors.New("not found")
	cases := []struct {
		tool Tool
		err  error
		want string
	}{
		{Tool{}, nil, StateOK},
		{Tool{}, gone, StateMissing},
		{Tool{Optional: true}, gone, StateOptional},
		{Tool{Degraded: "falls back"}, gone, StateDegraded},
		{Tool{Optional: true, Degraded: "falls back"}, gone, StateDegraded},
		{Tool{Optional: true}, nil, StateOK},
	}
	for _, c := range cases {
		if got := (Status{Tool: c.tool, Err: c.err}).State(); got != c.want {
			t.Errorf("%+v, %v: %s, want %s", c.tool, c.err, got, c.want)
		}
	}
}

func TestReport(t *testing.T) {
	gone := &exec.Error{Name: "x", Err: exec.ErrNotFound}
	sts := []Status{
		{Tool: mustFind(t, "cargo"), Path: "/bin/cargo", Version: "cargo 1.89.0"},
		{Tool: mustFind(t, "cargo-nextest"), Err: gone},
		{Tool: mustFind(t, "cargo-audit"), Err: gone},
		{Tool: mustFind(t, "rspec"), Err: gone},
		{Tool: mustFind(t, "rubocop"), Path: "/shims/rubocop", Err: errors.New("exited with code 127")},
		{Tool: mustFind(t, "ruby"), Path: "/bin/ruby", Version: "ruby 3.3.0"},
	}
	var buf bytes.Buffer
	problems := Report(&buf, sts)
	out := buf.String()
	if problems != 2 {
		t.Errorf("problems = %d, want 2 (rspec, rubocop)", problems)
	}
	for _, w := range []string{
		"rust  cargo          ok        cargo 1.89.0",
		"cargo-nextest  degraded  -             rust tests fall back to `cargo test`; install with `mage install cargo-nextest` or `cargo install cargo-nextest --locked`",
		"cargo-audit    optional",
		"ruby  rspec          missing   -             install with `",
		"gem install rspec --version ~> 3.12`",
		"(exited with code 127)",
		"\n2 ok, 2 missing, 1 degraded, 1 optional not installed\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("report lacks %q:\n%s", w, out)
		}
	}
	// Grouped: the area label appears once, on its first tool.
	for _, area := range []string{"rust", "ruby"} {
		if n := strings.Count(out, "\n"+area+"  "); n != 1 {
			t.Errorf("area %s labelled %d times:\n%s", area, n, out)
		}
	}
	if strings.Contains(out, " \n") {
		t.Errorf("trailing spaces:\n%q", out)
	}
}

func runner() *run.Runner { return run.New(run.Options{Stdout: io.Discard, Stderr: io.Discard}) }

func mustFind(t *testing.T, name string) Tool {
	t.Helper()
	tool, ok := Find(name)
	if !ok {
		t.Fatalf("no tool %q", name)
	}
	return tool
}

func statusOf(sts []Status, name string) Status {
	for _, st := range sts {
		if st.Tool.Name == name {
			return st
		}
	}
	return Status{}
}
