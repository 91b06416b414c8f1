package cli

import (
	"os"
	"path/filepath"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/dbtest"
	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// leaveRepoClusterAsFound notes whether the repository's own cluster (as
// the targets resolve it: TASKER_PG_DIR, else .tasker/postgres) runs, and
// returns what puts it back that way after the tests: targets the tests run
// (services:start and the db:setup it implies, on the default DATABASE_URL)
// start it when it is not running, and `go test ./...` must leave nothing
// running (a server left behind outlives package upgrades and then fails
// every migration).
func leaveRepoClusterAsFound(root string) func() error {
	dir := workspace.Paths{Root: root}.State("postgres")
	if e, err := env.Load(root, os.Environ()); err == nil && e.Get("TASKER_PG_DIR") != "" {
		if dir = e.Get("TASKER_PG_DIR"); !filepath.IsAbs(dir) {
			dir = filepath.Join(root, dir)
		}
	}
	restore := dbtest.LeaveAsFound(dir)
	return func() error {
		_, err := restore()
		return err
	}
}
