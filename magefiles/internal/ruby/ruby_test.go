package ruby

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/kit"
)

func TestMissingRubyIsExit3(t *testing.T) {
	s, _ := kit.TestSession(t, t.TempDir(), "PATH=/nonexistent")
	err := Worker{}.Build(s)[0].Do(context.Background(), s.Run)
	if fail.Code(err) != fail.MissingTool || !strings.Contains(err.Error(), "missing tool ruby: install with") {
		t.Fatalf("err = %v", err)
	}
}

// A Ruby whose headers are not installed (ruby without ruby-dev): the
// build stops before cargo with the package to install. The stand-in
// `ruby` reports a header directory that does not exist, as such a Ruby does.
func TestMissingRubyHeadersIsExit3(t *testing.T) {
	cargo, err := exec.LookPath("cargo")
	if err != nil {
		t.Skip("cargo not installed")
	}
	bin := t.TempDir()
	script := "#!/bin/sh\nprintf '%s' /nonexistent/include/ruby-3.1.0/ruby.h\n"
	if err := os.WriteFile(filepath.Join(bin, "ruby"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
		t.Fatal(err)
	}
	s, out := kit.TestSession(t, root, "PATH="+bin+":"+filepath.Dir(cargo))
	err = Worker{}.Build(s)[0].Do(context.Background(), s.Run)
	if fail.Code(err) != fail.MissingTool || !strings.Contains(err.Error(), "missing Ruby headers") || !strings.Contains(err.Error(), "apt install ruby-dev") {
		t.Fatalf("err = %v\n%s", err, out)
	}
	if strings.Contains(out.String(), "cargo build") {
		t.Fatalf("cargo ran although the headers are missing:\n%s", out)
	}
}

// Without rubocop, setup installs it from RubyGems; where that fails
// (RubyGems unreachable) the error names the apt package.
func TestMissingRubocopIsInstalledOrNamed(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "gem"), []byte("#!/bin/sh\necho 'Could not find a valid gem' >&2\nexit 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
		t.Fatal(err)
	}
	s, out := kit.TestSession(t, root, "PATH="+bin)
	err := rubocop(context.Background(), s.Run, s)
	if fail.Code(err) != fail.MissingTool || !strings.Contains(err.Error(), "sudo apt install rubocop") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(out.String(), "gem install rubocop --version "+rubocopVersion) {
		t.Fatalf("no install attempted:\n%s", out)
	}
	if err := os.WriteFile(filepath.Join(bin, "rubocop"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := rubocop(context.Background(), s.Run, s); err != nil {
		t.Fatalf("an installed rubocop: %v", err)
	}
}
