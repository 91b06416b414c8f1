package svc

import (
	"os/exec"
	"testing"
)

// startBystander: Windows has no process groups to start one in (the
// supervisor refuses there, see run.RequireGroups).
func startBystander(t *testing.T) (*exec.Cmd, uint64) {
	t.Skip("process groups are Unix only")
	return nil, 0
}
