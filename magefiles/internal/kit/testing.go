package kit

import (
	"bytes"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// TestSession is a session rooted at root whose environment is exactly
// vars (PATH included), printing into the returned buffer. For the
// worker packages' tests.
func TestSession(t testing.TB, root string, vars ...string) (*session.S, *bytes.Buffer) {
	t.Helper()
	e, err := env.Load(t.TempDir(), vars)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r := run.New(run.Options{Stdout: &out, Stderr: &out, Env: e.Environ()})
	return &session.S{Paths: workspace.Paths{Root: root}, Env: e, Run: r}, &out
}
