package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/dbtest"
	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// repoCluster is the repository's own cluster, as the targets resolve it
// (TASKER_PG_DIR, else .tasker/postgres), and restoreRepoCluster what puts
// it back as the test binary found it: noted at start-up, before any test.
var repoCluster, restoreRepoCluster = func() (string, func() (bool, error)) {
	root, err := workspace.FindRoot(".")
	if err != nil {
		panic(err)
	}
	dir := workspace.Paths{Root: root}.State("postgres")
	if e, err := env.Load(root, os.Environ()); err == nil && e.Get("TASKER_PG_DIR") != "" {
		if dir = e.Get("TASKER_PG_DIR"); !filepath.IsAbs(dir) {
			dir = filepath.Join(root, dir)
		}
	}
	return dir, dbtest.LeaveAsFound(dir)
}()

// Targets other tests run (services:start and the db:setup it implies, on
// the default DATABASE_URL) start the repository's cluster when it is not
// running. Being parallel, this test runs after every sequential test of
// the package, and stops the cluster again unless it ran before the tests:
// `go test ./...` leaves nothing running (a server left behind outlives
// package upgrades and then fails every migration).
func TestRepositoryClusterIsLeftAsFound(t *testing.T) {
	t.Parallel()
	stopped, err := restoreRepoCluster()
	if err != nil {
		t.Fatalf("stopping the cluster the tests started in %s: %v", repoCluster, err)
	}
	if stopped {
		t.Logf("stopped the cluster the tests started in %s", repoCluster)
	}
}
