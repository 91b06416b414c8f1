// Package magewrap is `go tool mage`: mage, made safe to run several times at
// once. Plain mage 1.17 regenerates magefiles/mage_output_file.go and
// recompiles on every run, into a cache path that every checkout of the same
// sources shares, so overlapping runs delete each other's mainfile or
// overwrite each other's binary. Here the compile happens under a lock per
// checkout, into the checkout's own .tasker/bin/mage, and the lock is released
// before the targets run, so long targets still run side by side.
package magewrap

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/gofrs/flock"
	"github.com/magefile/mage/mage"
)

// binDir holds the compiled targets and the compile lock, relative to the root.
const binDir = ".tasker/bin"

// Run does what `mage args...` does in the working directory and returns the
// exit code. On Unix, running targets replaces this process instead.
func Run(args []string) int {
	inv, cmd, err := mage.Parse(os.Stderr, io.Discard, args)
	switch {
	case err == nil && cmd == mage.Version:
		printVersion(os.Stdout)
		return 0
	case err != nil || !isRoot():
		// mage reports bad flags and prints usage; outside the root there
		// are no magefiles of ours to guard.
		return frontEnd(args)
	}
	root, err := os.Getwd()
	if err != nil {
		return failed(err)
	}
	unlock, err := lock(filepath.Join(root, binDir))
	if err != nil {
		return failed(err)
	}
	if !runsTargets(inv, cmd) {
		defer unlock()
		return frontEnd(args)
	}
	bin, err := compile(root, inv)
	unlock()
	if err != nil {
		return failed(err)
	}
	return run(bin, inv.Args, targetEnv(inv), inv.WorkDir)
}

// isRoot reports whether the working directory is a module root with a
// magefiles directory, the only layout this wrapper compiles itself.
func isRoot() bool {
	mod, err := os.Stat("go.mod")
	if err != nil || mod.IsDir() {
		return false
	}
	dir, err := os.Stat(mage.MagefilesDirName)
	return err == nil && dir.IsDir()
}

// runsTargets reports whether mage would compile this directory's magefiles
// and run them. Everything else is left to mage: -l and -h <target> (answered
// from the parsed sources, without compiling), -compile, -clean, -init, -d ...
func runsTargets(inv mage.Invocation, cmd mage.Command) bool {
	return cmd == mage.None && !inv.List && !inv.Help && !inv.Autocomplete && inv.Dir == ""
}

func frontEnd(args []string) int {
	return mage.ParseAndRun(os.Stdout, os.Stderr, os.Stdin, args)
}

// compile builds the magefiles with mage's own generator and go build into
// root/.tasker/bin/build/mage, a path only ever written under the lock: go
// build sees that binary is up to date and skips the link, which keeps a run
// as fast as plain mage. It then publishes the binary as .tasker/bin/mage, a
// hard link put in place by rename, so a run starting it never sees a half
// written file and a running one keeps its own (go build replaces its output
// by rename or remove, never in place).
func compile(root string, inv mage.Invocation) (string, error) {
	name := "mage"
	if runtime.GOOS == "windows" {
		name += ".exe" // Windows will not replace a binary that is running: overlap there only while sources are unchanged
	}
	inv.CompileOut = filepath.Join(root, binDir, "build", name)
	// Always hand the build to go build: with MAGEFILE_HASHFAST mage would
	// otherwise run an existing binary itself, and we would run it again.
	inv.Force = true
	inv.Stdout, inv.Stderr, inv.Stdin = os.Stdout, os.Stderr, os.Stdin
	if mage.Invoke(inv) != 0 {
		return "", errCompile // mage has printed why
	}
	bin := filepath.Join(root, binDir, name)
	if sameFile(bin, inv.CompileOut) {
		return bin, nil
	}
	next := bin + ".new"
	os.Remove(next) // left by a run that died here
	if err := os.Link(inv.CompileOut, next); err != nil {
		return "", err
	}
	return bin, os.Rename(next, bin)
}

func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

var errCompile = fmt.Errorf("compiling the magefiles failed")

// targetEnv is the environment mage's RunCompiled gives compiled magefiles:
// the flags mage parsed reach the binary as MAGEFILE_* variables.
func targetEnv(inv mage.Invocation) []string {
	env := os.Environ()
	if inv.Verbose {
		env = append(env, "MAGEFILE_VERBOSE=1")
	}
	if inv.Debug {
		env = append(env, "MAGEFILE_DEBUG=1")
	}
	if inv.GoCmd != "" {
		env = append(env, "MAGEFILE_GOCMD="+inv.GoCmd)
	}
	if inv.Timeout > 0 {
		env = append(env, "MAGEFILE_TIMEOUT="+inv.Timeout.String())
	}
	return env
}

// printVersion names mage's version; mage's own -version would report this
// module's, since the wrapper is this module's binary.
func printVersion(w io.Writer) {
	version := "(unknown)"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/magefile/mage" {
				version = dep.Version
			}
		}
	}
	fmt.Fprintln(w, "Mage Build Tool", version, "(wrapped by magefiles/cmd/mage)")
	fmt.Fprintln(w, "built with:", runtime.Version())
}

func failed(err error) int {
	if err != errCompile {
		fmt.Fprintln(os.Stderr, "Error:", err)
	}
	return 1
}

// lock takes the checkout's compile lock in dir, waiting while another run
// holds it. The lock is tied to the open file, so it also ends if the holder dies.
func lock(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	l := flock.New(filepath.Join(dir, "mage.lock"))
	if err := l.Lock(); err != nil {
		return nil, fmt.Errorf("locking %s: %w", l.Path(), err)
	}
	return func() { _ = l.Close() }, nil
}
