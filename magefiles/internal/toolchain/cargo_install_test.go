package toolchain

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// A tool PyPI has no build of (sqlx-cli) is offered as `mage install`,
// and cargo's command carries its pinned version and features.
func TestCargoOnlyToolCommands(t *testing.T) {
	tool := mustFind(t, "sqlx-cli")
	want := []string{"mage install sqlx-cli", "cargo install sqlx-cli --locked --version " + tool.Source.CargoVersion + " --no-default-features --features postgres"}
	for _, p := range []Platform{{GOOS: "linux", GOARCH: "amd64", PM: "apt"}, {GOOS: "darwin", GOARCH: "arm64", PM: "brew"}} {
		if got := tool.Source.Commands(tool.Name, p); !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", p.GOOS, got, want)
		}
	}
	if !tool.Optional || slices.Contains(InArea("db"), "sqlx-cli") {
		t.Error("sqlx-cli is optional: db:setup does not install it")
	}
}

// `cargo install` gets the pinned version and the tool's arguments, with
// .tasker/tools as its root; the receipt records the version, so a moved
// pin compiles it again. (cargo here is a script that records its
// arguments and writes the binary.)
func TestCargoOnlyToolInstallsItsPin(t *testing.T) {
	root := t.TempDir()
	fake := filepath.Join(root, "fakebin")
	if err := os.MkdirAll(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	argsFile := filepath.Join(root, "cargo-args")
	script := "#!/bin/sh\necho \"$@\" >> " + argsFile + "\n" +
		"while [ \"$1\" != --root ]; do shift; done\nmkdir -p \"$2/bin\"\n" +
		"printf '#!/bin/sh\\necho fake-cargo-tool\\n' > \"$2/bin/fake-cargo-tool\"\nchmod +x \"$2/bin/fake-cargo-tool\"\n"
	if err := os.WriteFile(filepath.Join(fake, "cargo"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	tool := Tool{Name: "fake-cargo-tool", Bin: "fake-cargo-tool", VersionArgs: version, Area: "db",
		Source: Source{Cargo: "fake-cargo-tool", CargoVersion: "1.0.0", CargoArgs: []string{"--no-default-features", "--features", "pg"}}}
	register(t, tool)
	in := &Installer{Dir: filepath.Join(root, ".tasker", "tools"), Root: root, Platform: here()}
	out := &testkit.SyncBuffer{}
	r := run.New(run.Options{Stdout: out, Stderr: out, Env: []string{"PATH=" + fake + string(os.PathListSeparator) + os.Getenv("PATH")}})
	path := "/nonexistent" + string(os.PathListSeparator) + in.BinDir()
	install := func() {
		t.Helper()
		if err := in.Install(context.Background(), r, path, "fake-cargo-tool"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	install()
	install() // installed at its pin: cargo does not run again
	reg := mustFind(t, "fake-cargo-tool")
	reg.Source.CargoVersion = "1.1.0"
	for i := range Tools {
		if Tools[i].Name == reg.Name {
			Tools[i] = reg
		}
	}
	install()
	b, _ := os.ReadFile(argsFile)
	calls := strings.Split(strings.TrimSpace(string(b)), "\n")
	want := []string{
		"install --locked --root " + in.Dir + " fake-cargo-tool --version 1.0.0 --no-default-features --features pg",
		"install --locked --root " + in.Dir + " fake-cargo-tool --version 1.1.0 --no-default-features --features pg",
	}
	if !slices.Equal(calls, want) {
		t.Errorf("cargo ran with\n%q\nwant\n%q", calls, want)
	}
	if rc := in.receipt(reg); rc.Version != "1.1.0" || !strings.Contains(rc.From, "--features pg") {
		t.Errorf("receipt %+v", rc)
	}
	if !strings.Contains(out.String(), "installing fake-cargo-tool 1.0.0: no prebuilt binary exists, compiling it with cargo into .tasker/tools/bin") {
		t.Errorf("no progress line:\n%s", out)
	}
}
