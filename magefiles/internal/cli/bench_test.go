package cli

import (
	"os"
	"os/exec"
	"testing"
)

// Start-up overhead, side by side: `go tool mage` (parses, checks the cached
// build) against the binary compiled once, for listing and for a trivial
// target. Run: go test -bench Startup -run ^$ ./magefiles/internal/cli/
func BenchmarkStartup(b *testing.B) {
	cases := []struct {
		name string
		argv []string
	}{
		{"go-tool-mage/list", []string{"go", "tool", "mage", "-l"}},
		{"go-tool-mage/env", []string{"go", "tool", "mage", "env"}},
		{"compiled/list", []string{mage, "-l"}},
		{"compiled/env", []string{mage, "env"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				cmd := exec.Command(c.argv[0], c.argv[1:]...)
				cmd.Dir = root
				cmd.Env = os.Environ()
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v: %v\n%s", c.argv, err, out)
				}
			}
		})
	}
}
