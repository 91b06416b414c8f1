package annotate

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/gha"

	"github.com/tasker-systems/tasker-build/magefiles/internal/junit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// A real clippy message (trimmed) as cargo prints it with --message-format=json.
const clippy = `{"reason":"compiler-message","package_id":"x","manifest_path":"/r/crates/tasker-shared/Cargo.toml","target":{"name":"tasker_shared"},"message":{"rendered":"warning: unused variable: ` + "`x`" + `\n --> crates/tasker-shared/src/lib.rs:30:9\n","children":[],"code":{"code":"unused_variables","explanation":null},"level":"warning","message":"unused variable: ` + "`x`" + `","spans":[{"byte_end":1,"byte_start":0,"column_end":10,"column_start":9,"file_name":"crates/tasker-shared/src/lib.rs","is_primary":true,"line_end":30,"line_start":30,"text":[]}]}}`

func TestFromCargo(t *testing.T) {
	show, a := FromCargo(clippy)
	if !strings.HasPrefix(show, "warning: unused variable") || a == nil {
		t.Fatalf("show=%q a=%v", show, a)
	}
	want := "::warning file=crates/tasker-shared/src/lib.rs,line=30,col=9,title=unused_variables::unused variable: `x`"
	if a.String() != want {
		t.Fatalf("annotation\n got %s\nwant %s", a, want)
	}
	if show, a := FromCargo(`{"reason":"compiler-artifact","target":{}}`); show != "" || a != nil {
		t.Fatalf("artifact message shown: %q %v", show, a)
	}
	if show, a := FromCargo("   Compiling tasker-shared"); show != "   Compiling tasker-shared" || a != nil {
		t.Fatal("plain lines must pass through")
	}
	note := `{"reason":"compiler-message","message":{"rendered":"note: x","level":"note","message":"x","spans":[]}}`
	if show, a := FromCargo(note); show != "note: x" || a != nil {
		t.Fatalf("a note is not annotated: %q %v", show, a)
	}
}

func TestEscaping(t *testing.T) {
	a := gha.Annotation{Level: "error", File: "a,b:c.rs", Line: 1, Message: "100% bad\nsecond line"}
	if got := a.String(); got != "::error file=a%2Cb%3Ac.rs,line=1::100%25 bad%0Asecond line" {
		t.Fatal(got)
	}
}

func TestCargoWriterStreamsLines(t *testing.T) {
	var out bytes.Buffer
	w := Cargo(&out)
	// Split a message across writes and leave the last line unterminated.
	w.Write([]byte(clippy[:40]))
	w.Write([]byte(clippy[40:] + "\n{\"reason\":\"build-finished\",\"success\":false}\nerror: could not compile"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"warning: unused variable", "::warning file=crates/tasker-shared/src/lib.rs,line=30", "error: could not compile"} {
		if !strings.Contains(got, want) {
			t.Fatalf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "build-finished") {
		t.Fatal("bookkeeping JSON leaked into the output")
	}
}

func TestTests(t *testing.T) {
	cases := []junit.Case{
		{Name: "test_sum", Classname: "tests.test_handlers", File: "tests/test_handlers.py", Line: 12, Failure: &junit.Problem{Message: "assert 3 == 4"}},
		{Name: "passes", File: "tests/ok.py"},
		{Name: "claims", File: "/repo/workers/typescript/test/ffi.test.ts", Error: &junit.Problem{}},
		{Name: "elsewhere", File: "/tmp/x.ts", Failure: &junit.Problem{}},
	}
	got := Tests(cases, "/repo", "workers/python", false)
	if len(got) != 3 {
		t.Fatalf("want 3 annotations, got %v", got)
	}
	if s := got[0].String(); s != "::error file=workers/python/tests/test_handlers.py,line=12,title=test failed::tests.test_handlers::test_sum failed: assert 3 == 4" {
		t.Fatal(s)
	}
	if got[1].File != "workers/typescript/test/ffi.test.ts" || got[2].File != "" {
		t.Fatalf("paths: %q %q", got[1].File, got[2].File)
	}
	// pytest counts lines from 0: its line 0 is the file's first line.
	zero := []junit.Case{{Name: "t", File: "tests/t.py", Line: 0, Failure: &junit.Problem{}}}
	if a := Tests(zero, "/repo", "workers/python", true); a[0].Line != 1 {
		t.Fatalf("0-based line 0 became %d", a[0].Line)
	}
}

func TestCargoCmdOnlyInGitHub(t *testing.T) {
	c := run.Cmd{Argv: []string{"cargo", "clippy", "--workspace"}, Dir: "/r"}
	if got := CargoCmd(c, false); got.Filter != nil || len(got.Argv) != 3 {
		t.Fatalf("outside GitHub the command must not change: %v", got.Argv)
	}
	got := CargoCmd(c, true)
	if strings.Join(got.Argv, " ") != "cargo clippy --message-format=json-diagnostic-rendered-ansi --workspace" || got.Filter == nil {
		t.Fatalf("in GitHub: %v", got.Argv)
	}
	if c.Argv[2] != "--workspace" {
		t.Fatal("the original argv was modified")
	}
}
