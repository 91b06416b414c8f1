package cli

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/dbtest"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// dbServer starts a throwaway PostgreSQL for one test (stopped when it
// ends), skipping without the server binaries outside CI.
func dbServer(t *testing.T) *dbtest.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := dbtest.Start(ctx)
	if err != nil {
		testkit.Missing(t, "no PostgreSQL for the test", err.Error())
	}
	t.Cleanup(s.Stop)
	return s
}

// dbRoot is a throwaway repository root whose db targets act on a new
// database of s with the given migrations, and never on the repository's
// own cluster (TASKER_PG_DIR points at an empty directory). It returns the
// root, the environment for invoke and the database's URL.
func dbRoot(t *testing.T, s *dbtest.Server, migrations map[string]string) (string, []string, pgurl.URL) {
	t.Helper()
	dir := fakeRoot(t, "")
	u := s.NewDB(t)
	migDir := filepath.Join(dir, "db", "migrations")
	if err := os.MkdirAll(migDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range migrations {
		if err := os.WriteFile(filepath.Join(migDir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, []string{"TASKER_ROOT=" + dir, "DATABASE_URL=" + u.String(), "TASKER_PG_DIR=" + filepath.Join(dir, "pg"), "TASKER_DB_LOCK_TIMEOUT=5s"}, u
}
