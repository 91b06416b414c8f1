//go:build mage

package main

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// DB manages the PostgreSQL database in DATABASE_URL (and the queue's in PGMQ_DATABASE_URL when it names another) and the local cluster in .tasker/postgres.
type DB mg.Namespace

// Check connects (3 s timeout) and prints the server version, database, migration version and pending count.
// It starts nothing; if the server is unreachable it says so in one line and names the target to run.
func (DB) Check(ctx context.Context) error { return do(ctx, db.Check) }

// Status lists applied and pending migrations, the dirty flag and changed (drifted) files.
// It only reads: it starts and creates nothing, and names the target that makes a missing server or database.
func (DB) Status(ctx context.Context) error { return do(ctx, db.Status) }

// Migrate applies pending migrations from db/migrations (TASKER_MIGRATIONS_DIR), each file in one
// transaction with its version row: a failure or Ctrl-C leaves the previous version, clean.
// It waits at most TASKER_DB_LOCK_TIMEOUT (30s) for another run's migration lock. A failed file is
// reported with the server's message, an excerpt, the state it left and the fix.
func (DB) Migrate(ctx context.Context) error { return do(ctx, db.Migrate) }

// Setup makes the database usable: starts the local cluster if needed, creates the database, migrates it.
func (DB) Setup(ctx context.Context) error { return do(ctx, db.Setup) }

// Create creates DATABASE_URL's database if it does not exist.
func (DB) Create(ctx context.Context) error { return do(ctx, db.Create) }

// Drop drops DATABASE_URL's database, ending its open connections (guarded).
// Refused (exit 4) unless the host is loopback or a unix socket, TASKER_ENV is not
// production/staging and the database is not postgres/template0/template1;
// TASKER_ALLOW_DESTRUCTIVE=1 overrides.
func (DB) Drop(ctx context.Context) error { return do(ctx, db.Drop) }

// Reset drops, recreates and migrates the database, ending open connections (guarded like drop).
// It runs DROP DATABASE ... WITH (FORCE), so an open session cannot keep the old data alive, and says
// how many sessions that ended. It waits for a running migrate of the database (one lock per database).
// Refused (exit 4) on non-local hosts, TASKER_ENV production/staging and postgres/template0/template1;
// TASKER_ALLOW_DESTRUCTIVE=1 overrides.
func (DB) Reset(ctx context.Context) error { return do(ctx, db.Reset) }

// Rollback reverts the latest migration with its down file (guarded like drop).
// It refuses (exit 4) when the down file is missing: golang-migrate would only move the version.
func (DB) Rollback(ctx context.Context) error { return do(ctx, db.Rollback) }

// Force records a migration version as applied and clean without running anything (guarded like drop).
// Use it when a version is marked dirty (by golang-migrate's own CLI, or a killed -- no-transaction
// file): db:status prints the exact command. Files run by mage never leave a dirty version.
func (DB) Force(ctx context.Context, version string) error {
	return do(ctx, func(ctx context.Context, s *session.S) error { return db.Force(ctx, s, version) })
}

// New writes the next migration pair for a name: NNNN_<name>.up.sql and NNNN_<name>.down.sql.
// Example: mage db:new add_task_index. An sqlx directory of simple files gets one <timestamp>_<name>.sql.
// A name takes letters, digits, '_', '-' and spaces (the last two become '_'), at most 100 characters.
func (DB) New(ctx context.Context, name string) error {
	return do(ctx, func(ctx context.Context, s *session.S) error { return db.New(ctx, s, name) })
}

// Up starts the local PostgreSQL cluster in .tasker/postgres (initialising it on first use).
// It listens on 127.0.0.1 at DATABASE_URL's port (a free port if that one is taken; targets follow it),
// creates DATABASE_URL's role (superuser) and database. A throwaway dev/test cluster: fsync,
// synchronous_commit and full_page_writes are off. Needs PostgreSQL's server binaries; as root it
// runs them as the postgres user. Closed to other OS users: 0700 directories, peer logins over the
// socket for the server's OS user and the build's, TCP logins only with DATABASE_URL's password.
// A running cluster whose postgres binary was replaced on disk (a package upgrade) is restarted.
func (DB) Up(ctx context.Context) error { return do(ctx, db.Up) }

// Down stops the local PostgreSQL cluster and keeps its data.
func (DB) Down(ctx context.Context) error { return do(ctx, db.Down) }

// Destroy stops the local PostgreSQL cluster and deletes .tasker/postgres (guarded like drop).
func (DB) Destroy(ctx context.Context) error { return do(ctx, db.Destroy) }

// Template builds or refreshes the template database tests clone from, and prints its name and hash.
// It is named tasker_tpl_<hash of the migrations>; templates for older migrations are dropped.
func (DB) Template(ctx context.Context) error { return do(ctx, db.Template) }

// Prepare regenerates the sqlx offline query cache (.sqlx/, committed) with sqlx-cli's
// `cargo sqlx prepare --workspace` against a fresh clone of the migrated template, dropped
// afterwards (also on Ctrl-C). Builds read the cache (SQLX_OFFLINE=true) and need no database.
// Needs sqlx-cli: `mage install sqlx-cli` compiles it (CI=true or TASKER_INSTALL=1 do so here).
func (DB) Prepare(ctx context.Context) error { return do(ctx, db.Prepare) }

// PrepareCheck fails (exit 1) when .sqlx/ is stale: sqlx-cli's `prepare --check` on a fresh clone
// of the migrated template, naming each missing, changed or unused query with its SQL and where the
// code has it; the fix is `mage db:prepare`. Part of ci:codeQuality.
func (DB) PrepareCheck(ctx context.Context) error { return do(ctx, db.PrepareCheck) }
