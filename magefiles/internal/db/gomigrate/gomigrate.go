// Package gomigrate applies a golang-migrate directory (NNNN_name.up.sql /
// .down.sql) with golang-migrate's pgx/v5 driver, and designs around its
// pitfalls:
//   - its advisory lock waits forever, also inside WithInstance: we first take
//     our own lock with a timeout, and check its lock is free;
//   - the URL entry point and WithInstance derive different lock ids: we only
//     use WithInstance on a *sql.DB from the pgx stdlib driver;
//   - a rollback without a down file silently moves the version: refused;
//   - errors embed the whole file: we report the file, the server's message,
//     a short excerpt, the dirty state and the recovery command;
//   - x-multi-statement breaks dollar quoting: never enabled.
package gomigrate

import (
	"context"
	"errors"
	"fmt"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/migrator"
	"os"
	"strconv"
	"time"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	pgx5 "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/source"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// Schema and Table locate golang-migrate's version table. The schema is
// pinned: golang-migrate defaults to current_schema(), which moves once a
// migration creates a schema named like the role ("$user" comes first in
// the search_path): the next run would not find its table and re-apply
// everything.
const (
	Schema = "public"
	Table  = "schema_migrations"
)

// LockName names our migration lock in messages.
const LockName = "migration"

// Migrator applies Dir to the database at URL.
type Migrator struct{ migrator.Options }

// session is one locked golang-migrate instance.
type session struct {
	lockConn *pgx.Conn
	lock     *pg.Lock
	mig      *migrate.Migrate
}

func (s *session) close(ctx context.Context) {
	if s.mig != nil {
		s.mig.Close()
	}
	if s.lockConn != nil {
		_ = s.lock.Release(ctx)
		s.lockConn.Close(ctx)
	}
}

// open takes our lock (bounded wait), checks golang-migrate's own lock is
// free, then opens golang-migrate on a *sql.DB from pgx's stdlib driver.
func (m *Migrator) open(ctx context.Context) (*session, error) {
	timeout := m.LockTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	conn, err := pg.Connect(ctx, m.URL, 10*time.Second)
	if err != nil {
		return nil, err
	}
	s := &session{lockConn: conn}
	s.lock, err = pg.Acquire(ctx, conn, LockName, pg.KeyFor("migrate"), timeout, func(h pg.Holder) {
		m.Log("waiting up to %s for the migration lock on %s, held by %s", timeout, m.URL.Addr(), h)
	})
	if err != nil {
		conn.Close(ctx)
		return nil, err
	}
	var dbName string
	if err := conn.QueryRow(ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		s.close(ctx)
		return nil, err
	}
	theirs, _ := database.GenerateAdvisoryLockId(dbName, Schema, Table)
	key, _ := strconv.ParseInt(theirs, 10, 64)
	if h, held, err := pg.Probe(ctx, conn, key); err != nil || held {
		s.close(ctx)
		if err != nil {
			return nil, err
		}
		return nil, fail.New(fail.Failed, "golang-migrate's own lock on %s is held by %s (a migrate run outside mage?); wait for it to finish, or end it with SELECT pg_terminate_backend(%d)", m.URL.Addr(), h, h.PID)
	}
	cfg, err := pg.ConnConfig(m.URL, 10*time.Second)
	if err != nil {
		s.close(ctx)
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(2)
	drv, err := pgx5.WithInstance(db, &pgx5.Config{DatabaseName: dbName, SchemaName: Schema, MigrationsTable: Table})
	if err != nil {
		db.Close()
		s.close(ctx)
		return nil, m.URL.ScrubErr(err)
	}
	src, err := iofs.New(os.DirFS(m.Dir.Path), ".")
	if err != nil {
		drv.Close()
		s.close(ctx)
		return nil, err
	}
	s.mig, err = migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		drv.Close()
		s.close(ctx)
		return nil, m.URL.ScrubErr(err)
	}
	return s, nil
}

// stopOnCancel asks golang-migrate to stop between files when ctx ends (it
// cannot interrupt a running file).
func stopOnCancel(ctx context.Context, mig *migrate.Migrate) func() {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			select {
			case mig.GracefulStop <- true:
			default:
			}
		case <-done:
		}
	}()
	return func() { close(done) }
}

func version(mig *migrate.Migrate) (int64, bool, error) {
	v, dirty, err := mig.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return -1, false, nil
	}
	return int64(v), dirty, err
}

// Up applies every pending migration and returns those it applied.
func (m *Migrator) Up(ctx context.Context) ([]source.Migration, error) {
	s, err := m.open(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close(ctx)
	before, dirty, err := version(s.mig)
	if err != nil {
		return nil, m.URL.ScrubErr(err)
	}
	if dirty {
		return nil, m.dirtyError(before)
	}
	defer stopOnCancel(ctx, s.mig)()
	err = s.mig.Up()
	after, _, verr := version(s.mig)
	applied := m.between(before, after)
	if verr == nil && err != nil && !errors.Is(err, migrate.ErrNoChange) {
		// the failed file is the dirty version; the ones before it were applied
		applied = m.between(before, m.Dir.Previous(after))
	}
	for _, a := range applied {
		m.Log("applied %s", a.Up)
	}
	switch {
	case err == nil, errors.Is(err, migrate.ErrNoChange):
		if ctx.Err() != nil && after < m.Dir.Latest() {
			return applied, ctx.Err()
		}
		return applied, nil
	case verr != nil:
		return applied, m.URL.ScrubErr(err)
	}
	return applied, m.failure(err, after, true)
}

// between lists the directory's migrations in (from, to].
func (m *Migrator) between(from, to int64) []source.Migration {
	var out []source.Migration
	for _, x := range m.Dir.Migrations {
		if x.Version > from && x.Version <= to {
			out = append(out, x)
		}
	}
	return out
}

// failure turns golang-migrate's error for the file at version v into a
// report. up says whether it was the up or the down file.
func (m *Migrator) failure(err error, v int64, up bool) error {
	var me migrate.MultiError
	if errors.As(err, &me) && len(me.Errs) > 0 {
		err = me.Errs[0]
	}
	cause := err
	var de database.Error
	var dep *database.Error
	switch {
	case errors.As(err, &de):
		cause = de.OrigErr
	case errors.As(err, &dep):
		cause = dep.OrigErr
	}
	// Up marks the target version dirty before running it; Down marks the
	// version below. Either way the schema is where it was before the attempt.
	mig, ok := m.Dir.Find(v)
	file, really := "", v
	if up {
		really = m.Dir.Previous(v)
		if ok {
			file = mig.Up
		}
	} else {
		for _, x := range m.Dir.Migrations {
			if x.Version > v {
				mig, ok, file, really = x, true, x.Down, x.Version
				break
			}
		}
	}
	if !ok || file == "" {
		return m.URL.ScrubErr(fmt.Errorf("migration failed with the database dirty at version %d: %w", v, unwrapLong(cause)))
	}
	body, _ := m.Dir.Read(file)
	state := fmt.Sprintf("the database is marked dirty at version %d; PostgreSQL ran the file as one transaction and rolled it back, so nothing from it was applied", v)
	if pg.HasOwnTransaction(body) {
		state = fmt.Sprintf("the database is marked dirty at version %d; the file ends its own transaction, so statements before the failure may have been applied: check them before forcing", v)
	}
	retry := m.Command("db:migrate")
	if !up {
		retry = m.Command("db:rollback")
	}
	return m.URL.ScrubErr(&pg.Failure{
		File:  m.File(file),
		SQL:   body,
		Err:   cause,
		State: state,
		Fix:   fmt.Sprintf("%s, then correct %s and run %s", m.Command("db:force "+forceArg(really)), m.File(file), retry),
	})
}

// unwrapLong drops golang-migrate's message, which embeds the whole file.
func unwrapLong(err error) error {
	var de database.Error
	if errors.As(err, &de) && de.OrigErr != nil {
		return de.OrigErr
	}
	return err
}

func forceArg(v int64) string { return strconv.FormatInt(v, 10) }

func (m *Migrator) dirtyError(v int64) error {
	prev := m.Dir.Previous(v)
	name := strconv.FormatInt(v, 10)
	if x, ok := m.Dir.Find(v); ok {
		name = x.Up
	}
	return fail.New(fail.Failed, "%s is dirty at version %d (%s failed earlier; on PostgreSQL nothing from it was applied unless it commits itself); run %s, correct the file, then %s",
		m.URL.Addr(), v, name, m.Command("db:force "+forceArg(prev)), m.Command("db:migrate"))
}

// Rollback reverts the latest applied migration. It refuses (exit 4) when
// that migration has no down file: golang-migrate would only move the
// version and leave the schema as it is.
func (m *Migrator) Rollback(ctx context.Context) (from, to int64, err error) {
	s, err := m.open(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer s.close(ctx)
	from, dirty, err := version(s.mig)
	if err != nil {
		return 0, 0, m.URL.ScrubErr(err)
	}
	if dirty {
		return from, from, m.dirtyError(from)
	}
	if from < 0 {
		return from, from, fail.New(fail.Failed, "nothing to roll back: no migration is applied to %s", m.URL.Addr())
	}
	x, ok := m.Dir.Find(from)
	if !ok {
		return from, from, fail.New(fail.Config, "version %d is applied to %s but has no file in %s", from, m.URL.Addr(), m.Dir.Path)
	}
	if x.Down == "" {
		return from, from, fail.New(fail.Refused, "refusing to roll back %s: there is no %s.down.sql, and golang-migrate would only move the version and leave the schema; write the down file first", x.Up, x.Name)
	}
	if err := s.mig.Steps(-1); err != nil {
		after, _, _ := version(s.mig)
		return from, after, m.failure(err, after, false)
	}
	to, _, err = version(s.mig)
	m.Log("rolled back %s (version %d → %d)", x.Down, from, to)
	return from, to, m.URL.ScrubErr(err)
}

// Force sets the version (clean) without running anything; -1 empties the
// version table. v must be -1 or a version in the directory.
func (m *Migrator) Force(ctx context.Context, v int64) error {
	if _, ok := m.Dir.Find(v); !ok && v != -1 {
		return fail.New(fail.Config, "version %d is not in %s; use one of its versions, or -1 for none", v, m.Dir.Path)
	}
	s, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer s.close(ctx)
	if err := s.mig.Force(int(v)); err != nil {
		return m.URL.ScrubErr(err)
	}
	return nil
}

// State reads the version table directly (no locks, so it never waits).
func State(ctx context.Context, conn *pgx.Conn) (version int64, dirty bool, err error) {
	var exists bool
	qualified := pgx.Identifier{Schema, Table}.Sanitize()
	err = conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, qualified).Scan(&exists)
	if err != nil || !exists {
		return -1, false, err
	}
	err = conn.QueryRow(ctx, `SELECT version, dirty FROM `+qualified+` LIMIT 1`).Scan(&version, &dirty)
	if errors.Is(err, pgx.ErrNoRows) {
		return -1, false, nil
	}
	return version, dirty, err
}

// Status compares the directory with the database.
func (m *Migrator) Status(ctx context.Context, conn *pgx.Conn) (source.Status, error) {
	st := source.Status{Layout: source.Migrate}
	var err error
	st.Version, st.Dirty, err = State(ctx, conn)
	if err != nil {
		return st, err
	}
	for _, x := range m.Dir.Migrations {
		if x.Version <= st.Version && !(st.Dirty && x.Version == st.Version) {
			st.Applied = append(st.Applied, x)
		} else {
			st.Pending = append(st.Pending, x)
		}
	}
	if _, ok := m.Dir.Find(st.Version); st.Version >= 0 && !ok {
		st.Missing = append(st.Missing, st.Version)
	}
	return st, nil
}
