package ruby

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/kit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
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
	if fail.Code(err) != fail.MissingTool || !strings.Contains(err.Error(), "missing tool ruby-headers: install with") || !strings.Contains(err.Error(), "apt-get install -y ruby-dev") {
		t.Fatalf("err = %v\n%s", err, out)
	}
	if strings.Contains(out.String(), "cargo build") {
		t.Fatalf("cargo ran although the headers are missing:\n%s", out)
	}
}

// The committed Gemfile.lock must resolve offline (bundle install --local)
// on this machine's Ruby: every gem version it names is installed. A lock
// written on a machine with newer gems (rexml 3.3.9 where Debian 12 ships
// 3.2.5) fails here before it fails a fresh machine's ruby:setup.
func TestCommittedGemfileLockResolvesOffline(t *testing.T) {
	ruby := testkit.NeedTool(t, "ruby")
	root, err := workspace.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	lock, err := exec.Command("git", "-C", root, "show", "HEAD:"+dir+"/Gemfile.lock").Output()
	if err != nil {
		t.Skipf("no committed Gemfile.lock: %v", err)
	}
	specs := lockedGems(string(lock))
	if len(specs) == 0 {
		t.Fatal("no gems in the committed Gemfile.lock")
	}
	// Prints "name version" for each locked gem the installed gems lack.
	script := `ARGV.each_slice(2) { |n, v| puts "#{n} #{v}" unless Gem::Specification.any? { |s| s.name == n && s.version.to_s == v } }`
	out, err := exec.Command(ruby, append([]string{"-e", script}, specs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if missing := strings.TrimSpace(string(out)); missing != "" {
		t.Errorf("the committed %s/Gemfile.lock names gems this Ruby cannot provide offline:\n%s\n"+
			"lock what the distribution ships (`bundle lock --local --update` in %s) and commit it", dir, missing, dir)
	}
	if strings.Contains(string(lock), "BUNDLED WITH") {
		t.Errorf("the committed Gemfile.lock pins bundler (BUNDLED WITH); distributions ship different ones")
	}
}

// lockedGems lists name, version pairs of the GEM section's specs (the
// lines indented by exactly four spaces; deeper ones are their dependencies).
func lockedGems(lock string) []string {
	var out []string
	section := ""
	for _, line := range strings.Split(lock, "\n") {
		if line != "" && !strings.HasPrefix(line, " ") {
			section = line
			continue
		}
		spec, ok := strings.CutPrefix(line, "    ")
		if section != "GEM" || !ok || strings.HasPrefix(spec, " ") {
			continue
		}
		if name, ver, ok := strings.Cut(spec, " ("); ok {
			out = append(out, name, strings.TrimSuffix(ver, ")"))
		}
	}
	return out
}

// `require` finds an extension by Ruby's DLEXT: on macOS a .so is never
// loaded, so the build installs a .bundle there.
func TestExtensionFileIsWhatRubyRequires(t *testing.T) {
	if got := extensionFile("darwin"); got != "tasker_worker_rb.bundle" {
		t.Errorf("darwin: %s", got)
	}
	if got := extensionFile("linux"); got != "tasker_worker_rb.so" {
		t.Errorf("linux: %s", got)
	}
	ruby, err := exec.LookPath("ruby")
	if err != nil {
		t.Skip("no ruby here to ask for its DLEXT")
	}
	out, err := exec.Command(ruby, "-rrbconfig", "-e", `print RbConfig::CONFIG["DLEXT"]`).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "tasker_worker_rb." + string(out); extensionFile(runtime.GOOS) != want || filepath.Base(installed) != want {
		t.Errorf("installs %s, Ruby requires %s", installed, want)
	}
}
