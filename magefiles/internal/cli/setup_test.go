package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// The three documented ways to run mage (`go tool mage`, which puts
// $GOROOT/bin first on PATH; an installed mage; the compiled binary) see
// the same setup stamps: after the first setup, alternating them never
// runs pip, bundle install or npm ci again (npm ci deletes node_modules).
func TestSetupIsSkippedWhicheverWayMageRuns(t *testing.T) {
	testkit.NeedTool(t, "cargo")
	targets := []string{"python:setup", "typescript:setup"}
	if _, err := exec.LookPath("ruby"); err == nil {
		targets = append(targets, "ruby:setup")
	}
	installed := filepath.Join(t.TempDir(), "mage")
	build := exec.Command("go", "build", "-o", installed, "github.com/magefile/mage")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building an installed mage: %v\n%s", err, out)
	}
	// Another shell's PATH: an extra directory in front.
	shellPATH := "PATH=" + t.TempDir() + string(os.PathListSeparator) + os.Getenv("PATH")
	ways := []struct {
		name string
		argv []string
		env  []string
	}{
		{"compiled", []string{mage}, nil},
		{"go tool", []string{"go", "tool", "mage"}, nil},
		{"installed", []string{installed}, []string{shellPATH}},
	}
	run := func(argv, env []string) string {
		t.Helper()
		cmd := exec.Command(argv[0], append(argv[1:], targets...)...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %s: %v\n%s", strings.Join(argv, " "), strings.Join(targets, " "), err, out.String())
		}
		return out.String()
	}
	run(ways[0].argv, nil) // whatever the checkout had, it is set up now
	for round := 0; round < 2; round++ {
		for _, w := range ways {
			out := run(w.argv, w.env)
			if strings.Contains(out, "▶") {
				t.Errorf("%s (round %d) ran setup commands again:\n%s", w.name, round+1, out)
			}
			if n := strings.Count(out, "up to date"); n != len(targets) {
				t.Errorf("%s (round %d): %d of %d setups reported up to date:\n%s", w.name, round+1, n, len(targets), out)
			}
		}
	}
}
