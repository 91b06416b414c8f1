//go:build windows

package run

import (
	"os"
	"syscall"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// Windows has no process groups to signal nor sessions to detach into:
// commands run as plain children, cancellation kills the child itself (not
// what it started), and whatever needs more refuses with RequireGroups.

const pathSeparators = `/\`

func ownGroup() *syscall.SysProcAttr   { return nil }
func newSession() *syscall.SysProcAttr { return nil }

// signalTree kills p: Windows cannot deliver SIGINT or SIGTERM to it.
func signalTree(p *os.Process, _ syscall.Signal) { _ = p.Kill() }

// RequireGroups is the exit-3 error for what needs process groups or
// sessions (background services, the local PostgreSQL cluster).
func RequireGroups(what string) error {
	return fail.New(fail.MissingTool, "%s: not supported on Windows: use WSL2", what)
}

func SignalGroup(int, syscall.Signal) error { return RequireGroups("signalling a process group") }

// exists and groupExists cannot tell on Windows: nothing is taken for alive.
func exists(int) bool      { return false }
func groupExists(int) bool { return false }

// executable finds p as given or with one of PATHEXT's extensions.
func executable(p string) (string, bool) {
	for _, c := range withPathExt(p, os.Getenv("PATHEXT")) {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, true
		}
	}
	return "", false
}

// KeepInheritedFilesFromChildren: Windows children inherit only the
// handles a command names.
func KeepInheritedFilesFromChildren() {}
