package kit

import (
	"bytes"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// TestSession is a session rooted at root whose environment is exactly
// vars (PATH included), printing into the returned buffer. For the
// worker packages' tests. It installs nothing: no package manager, no
// reachable package index.
func TestSession(t testing.TB, root string, vars ...string) (*session.S, *bytes.Buffer) {
	t.Helper()
	e, err := env.Load(t.TempDir(), vars)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := session.New(root, e, run.Options{Stdout: &out, Stderr: &out, DryRun: env.Bool(e, "MAGE_DRY_RUN")})
	s.Tools.Platform.PM = ""
	s.Tools.Index = "http://127.0.0.1:1/simple/"
	return s, &out
}
