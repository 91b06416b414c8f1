//go:build windows

package run

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// executable finds p as given or with one of PATHEXT's extensions (cmd,
// rustup's proxies and npm's shims are .exe and .cmd files).
func executable(p string) (string, bool) {
	var exts []string
	for _, e := range strings.Split(strings.ToLower(cmp.Or(os.Getenv("PATHEXT"), ".com;.exe;.bat;.cmd")), ";") {
		if e != "" {
			exts = append(exts, e)
		}
	}
	candidates := []string{p}
	if !slices.Contains(exts, strings.ToLower(filepath.Ext(p))) {
		candidates = candidates[:0]
		for _, e := range exts {
			candidates = append(candidates, p+e)
		}
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, true
		}
	}
	return "", false
}
