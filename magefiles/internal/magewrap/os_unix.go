//go:build unix

package magewrap

import (
	"fmt"
	"os"
	"syscall"
)

// run replaces this process with the compiled magefiles, so signals and the
// exit code are exactly theirs.
func run(bin string, args, env []string, workDir string) int {
	if workDir != "" {
		if err := os.Chdir(workDir); err != nil {
			return failed(err)
		}
	}
	err := syscall.Exec(bin, append([]string{bin}, args...), env)
	fmt.Fprintln(os.Stderr, "failed to run compiled magefile:", err)
	return 1
}
