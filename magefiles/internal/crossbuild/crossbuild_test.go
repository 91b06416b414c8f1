package crossbuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// platforms are the GOOS/GOARCH pairs the build system supports.
var platforms = []string{"linux/amd64", "linux/arm64", "darwin/arm64", "darwin/amd64", "windows/amd64"}

// gaps are packages known not to type-check on a platform yet, with what
// stands in the way. The test fails once one does, so that its entry goes:
// the list only shrinks.
var gaps = map[string]map[string]string{}

// TestEveryPlatformTypeChecks runs `go vet -tags mage` (the magefiles' own
// build tag) on every package for each platform: vet type-checks each
// package with its test files, what `go test -c` compiles, without linking.
func TestEveryPlatformTypeChecks(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to cross-compile with:", err)
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	known, err := exec.Command(goBin, "tool", "dist", "list").Output()
	if err != nil {
		t.Skip("the Go toolchain does not list its platforms (go tool dist list):", err)
	}
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			if !slices.Contains(strings.Fields(string(known)), platform) {
				t.Skipf("this Go toolchain cannot build for %s", platform)
			}
			goos, goarch, _ := strings.Cut(platform, "/")
			vet := func(pkgs ...string) (string, error) {
				cmd := exec.Command(goBin, append([]string{"vet", "-tags", "mage"}, pkgs...)...)
				cmd.Dir = root
				cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch)
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			if out, err := vet(everyPackageBut(t, goBin, root, goos, goarch, gaps[platform])...); err != nil {
				t.Errorf("GOOS=%s GOARCH=%s go vet -tags mage: %v\n%s", goos, goarch, err, out)
			}
			for gap, why := range gaps[platform] {
				if _, err := vet(gap); err == nil {
					t.Errorf("%s now type-checks for %s (it was listed because %s): remove it from gaps", gap, platform, why)
				}
			}
		})
	}
}

// everyPackageBut lists the module's packages for goos/goarch (with the
// mage tag), as directories relative to root, leaving out skip.
func everyPackageBut(t *testing.T, goBin, root, goos, goarch string, skip map[string]string) []string {
	t.Helper()
	cmd := exec.Command(goBin, "list", "-e", "-tags", "mage", "-f", "{{.Dir}}", "./...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []string
	for _, dir := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		if pkg := "./" + filepath.ToSlash(rel); skip[pkg] == "" {
			pkgs = append(pkgs, pkg)
		}
	}
	return pkgs
}
