//go:build windows

package magewrap

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
)

// run starts the compiled magefiles as a child (Windows has no exec) and
// passes its exit code on. Ctrl-C reaches both processes: like mage, this one
// catches it and waits for the child to finish.
func run(bin string, args, env []string, workDir string) int {
	c := exec.Command(bin, args...)
	c.Dir, c.Env = workDir, env
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	signal.Notify(make(chan os.Signal, 1), os.Interrupt)
	err := c.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "failed to run compiled magefile:", err)
		return 1
	}
	return 0
}
