// Package gomigrate applies a golang-migrate directory (NNNN_name.up.sql /
// .down.sql) to PostgreSQL and keeps golang-migrate's version table
// (schema_migrations: version, dirty), so the migrate CLI and this package
// agree on the state. It runs the files itself, because golang-migrate
// cannot give what the build system needs:
//   - each file runs in one transaction together with its version row, so a
//     failure or a Ctrl-C leaves the previous version, clean. golang-migrate
//     marks the version dirty, runs the file, then marks it clean, and cannot
//     cancel a running file: an interrupt that outlasted mage's 5 s cleanup
//     limit left the file committed by the server and the version dirty;
//   - a file whose first line is "-- no-transaction" (sqlx's marker) runs
//     alone, between a dirty mark and its clean version, for the statements
//     PostgreSQL refuses in a transaction block;
//   - golang-migrate's advisory lock waits forever: it is taken with a
//     timeout, so a migrate CLI run and this package exclude each other;
//   - a rollback without a down file is refused (golang-migrate would only
//     move the version);
//   - a failure reports the file, the server's message, a short excerpt, the
//     state left behind and the recovery.
package gomigrate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4/database"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/migrator"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/source"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// Table is golang-migrate's version table. Its schema is found, not
// assumed (migrator.FindHistory): golang-migrate's CLI uses
// current_schema(), which moves once a migration creates a schema named
// like the role ("$user" comes first in the search_path), so the build
// system keeps the one table where it was first created (public by
// default) and names it schema-qualified.
const Table = "schema_migrations"

// Migrator applies Dir to the database at URL.
type Migrator struct{ migrator.Options }

// tool is golang-migrate: its table, and its lock id for the database and
// the table's schema.
var tool = migrator.Tool{Name: "golang-migrate's CLI", Table: Table, Marker: "dirty", Lock: "golang-migrate lock",
	Key: func(db, schema string) int64 { return LockKey(db, schema) }}

// LockKey is golang-migrate's advisory lock id for its table in schema of
// database db.
func LockKey(db, schema string) int64 {
	id, _ := database.GenerateAdvisoryLockId(db, schema, Table)
	key, _ := strconv.ParseInt(id, 10, 64)
	return key
}

// Up applies every pending migration and returns those it applied.
func (m *Migrator) Up(ctx context.Context) ([]source.Migration, error) {
	conn, h, done, err := m.Open(ctx, tool)
	if err != nil {
		return nil, err
	}
	defer done()
	st, elsewhere, err := m.status(ctx, conn, h)
	if err != nil {
		return nil, m.URL.ScrubErr(err)
	}
	at := st.Version
	if st.Dirty {
		return nil, m.dirtyError(at)
	}
	if err := m.Drift(st, "golang-migrate refuses to migrate too"); err != nil {
		return nil, err
	}
	if err := m.RecordedElsewhere(h, elsewhere, m.forceFix(h, elsewhere)); err != nil {
		return nil, err
	}
	pending := st.Pending
	if len(pending) == 0 {
		m.Warn(h.CopyWarnings(m.URL.Addr())) // the search_path trap was told when files ran
		return nil, nil
	}
	var files []string
	for _, x := range pending {
		files = append(files, x.Up)
	}
	if err := m.CheckFiles(files...); err != nil {
		return nil, err
	}
	if err := m.CheckExtensions(ctx, conn, files...); err != nil {
		return nil, err
	}
	if err := ensureTable(ctx, conn, h); err != nil {
		return nil, m.URL.ScrubErr(err)
	}
	var applied []source.Migration
	for _, x := range pending {
		body, err := m.Dir.Read(x.Up)
		if err != nil {
			return applied, err
		}
		prev := at
		err = migrator.Apply(ctx, conn, migrator.Step{
			SQL:    body,
			NoTx:   source.NoTransaction(body),
			Record: func(ctx context.Context, q pg.Querier) error { return setVersion(ctx, q, h, x.Version, false) },
			Mark:   func(ctx context.Context, q pg.Querier) error { return setVersion(ctx, q, h, x.Version, true) },
			Unmark: func(ctx context.Context, q pg.Querier) error { return setVersion(ctx, q, h, prev, false) },
		})
		if err != nil {
			return applied, m.failure(x.Up, body, err, at, m.Command("db:migrate"))
		}
		m.Log("applied %s", x.Up)
		applied = append(applied, x)
		at = x.Version
	}
	// the files may have created the schema that traps other tools
	if after, err := migrator.FindHistory(context.WithoutCancel(ctx), conn, tool); err == nil {
		m.Warn(after.Warnings(tool.Name, m.URL.Addr()))
	}
	return applied, nil
}

// forceFix is the fix for versions only other copies of h record: the
// build system's table takes the highest of them.
func (m *Migrator) forceFix(h migrator.History, elsewhere map[int64]string) string {
	top := int64(-1)
	for v := range elsewhere {
		top = max(top, v)
	}
	var drop []string
	for _, s := range h.Copies {
		drop = append(drop, "DROP TABLE "+h.In(s)+";")
	}
	return fmt.Sprintf("record them in %s with %s and drop the copies (%s)", h.Name(), m.Command("db:force "+forceArg(top)), strings.Join(drop, " "))
}

// failure reports a file that did not run to the end; the database is at
// version at (clean).
func (m *Migrator) failure(file string, body []byte, err error, at int64, retry string) error {
	version := describe(at)
	if errors.Is(err, migrator.ErrInterrupted) {
		return fail.New(fail.Failed, "interrupted: %s was cancelled and rolled back; %s stays at %s, clean; run %s to apply it",
			m.File(file), m.URL.Addr(), version, retry)
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) { // the connection failed, not the file
		return m.URL.ScrubErr(fail.Wrap(fail.Failed, err, "running %s on %s (its transaction did not commit unless %s says so)", m.File(file), m.URL.Addr(), m.Command("db:status")))
	}
	state := fmt.Sprintf("PostgreSQL ran the file in one transaction and rolled it back: nothing from it was applied; %s stays at %s, clean", m.URL.Addr(), version)
	if source.NoTransaction(body) {
		state = fmt.Sprintf("the file ran outside a transaction (-- no-transaction) and failed as a whole: nothing from it was applied (a failed CREATE INDEX CONCURRENTLY leaves an INVALID index: drop it before retrying); %s stays at %s, clean", m.URL.Addr(), version)
	}
	return m.URL.ScrubErr(&pg.Failure{
		File:  m.File(file),
		SQL:   body,
		Err:   err,
		State: state,
		Fix:   pg.FixFor(err, m.File(file), retry),
	})
}

func describe(v int64) string {
	if v < 0 {
		return "no version"
	}
	return "version " + strconv.FormatInt(v, 10)
}

// dirtyError explains a version left dirty: by golang-migrate itself (a
// failed file, rolled back by PostgreSQL), or by a -- no-transaction file
// whose run was killed (its statement may or may not have committed).
func (m *Migrator) dirtyError(v int64) error {
	return fail.New(fail.Failed, "%s", m.dirtyAdvice(v))
}

// DirtyAdvice is what to do about a dirty version, with the exact commands.
func (m *Migrator) DirtyAdvice(st source.Status) string { return m.dirtyAdvice(st.Version) }

func (m *Migrator) dirtyAdvice(v int64) string {
	prev := m.Dir.Previous(v)
	x, ok := m.Dir.Find(v)
	if !ok {
		return fmt.Sprintf("%s is dirty at version %d, which has no file in %s; restore the file, or run %s on a dev database", m.URL.Addr(), v, m.Dir.Path, m.Command("db:reset"))
	}
	body, _ := m.Dir.Read(x.Up)
	if source.NoTransaction(body) {
		return fmt.Sprintf("%s is dirty at version %d: a run of %s (-- no-transaction) did not finish, so its statement may or may not have taken effect; if it did, run %s, otherwise %s; then %s",
			m.URL.Addr(), v, m.File(x.Up), m.Command("db:force "+forceArg(v)), m.Command("db:force "+forceArg(prev)), m.Command("db:migrate"))
	}
	return fmt.Sprintf("%s is dirty at version %d: %s failed in an earlier run (PostgreSQL rolled it back, nothing from it was applied); run %s, correct the file if it needs it, then %s",
		m.URL.Addr(), v, m.File(x.Up), m.Command("db:force "+forceArg(prev)), m.Command("db:migrate"))
}

func forceArg(v int64) string { return strconv.FormatInt(v, 10) }

// Rollback reverts the latest applied migration with its down file, in one
// transaction with the version. It refuses (exit 4) when that migration
// has no down file.
func (m *Migrator) Rollback(ctx context.Context) (from, to int64, err error) {
	conn, h, done, err := m.Open(ctx, tool)
	if err != nil {
		return 0, 0, err
	}
	defer done()
	from, dirty, err := State(ctx, conn, h)
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
	if err := m.CheckFiles(x.Down); err != nil {
		return from, from, err
	}
	body, err := m.Dir.Read(x.Down)
	if err != nil {
		return from, from, err
	}
	to = m.Dir.Previous(from)
	err = migrator.Apply(ctx, conn, migrator.Step{
		SQL:    body,
		NoTx:   source.NoTransaction(body),
		Record: func(ctx context.Context, q pg.Querier) error { return setVersion(ctx, q, h, to, false) },
		Mark:   func(ctx context.Context, q pg.Querier) error { return setVersion(ctx, q, h, to, true) },
		Unmark: func(ctx context.Context, q pg.Querier) error { return setVersion(ctx, q, h, from, false) },
	})
	if err != nil {
		return from, from, m.failure(x.Down, body, err, from, m.Command("db:rollback"))
	}
	m.Log("rolled back %s (version %d → %d)", x.Down, from, to)
	return from, to, nil
}

// Force sets the version (clean) without running anything; -1 empties the
// version table. v must be -1 or a version in the directory.
func (m *Migrator) Force(ctx context.Context, v int64) error {
	if _, ok := m.Dir.Find(v); !ok && v != -1 {
		return fail.New(fail.Config, "version %d is not in %s; use one of its versions, or -1 for none", v, m.Dir.Path)
	}
	conn, h, done, err := m.Open(ctx, tool)
	if err != nil {
		return err
	}
	defer done()
	if err := ensureTable(ctx, conn, h); err != nil {
		return m.URL.ScrubErr(err)
	}
	return m.URL.ScrubErr(setVersion(ctx, conn, h, v, false))
}

// ensureTable creates the version table as golang-migrate does.
func ensureTable(ctx context.Context, conn *pgx.Conn, h migrator.History) error {
	_, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+h.Name()+` (version bigint not null primary key, dirty boolean not null)`)
	return err
}

// setVersion replaces the version row as golang-migrate does (a dirty -1
// is kept, an empty table means no version), atomically: inside the
// caller's transaction it is a savepoint.
func setVersion(ctx context.Context, q pg.Querier, h migrator.History, v int64, dirty bool) error {
	return pgx.BeginFunc(ctx, q, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `TRUNCATE `+h.Name()); err != nil {
			return err
		}
		if v < 0 && !dirty {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO `+h.Name()+` (version, dirty) VALUES ($1, $2)`, v, dirty)
		return err
	})
}

// State reads the version table h directly (no locks, so it never waits).
func State(ctx context.Context, conn *pgx.Conn, h migrator.History) (version int64, dirty bool, err error) {
	return stateOf(ctx, conn, h.Exists, h.Name())
}

func stateOf(ctx context.Context, conn *pgx.Conn, exists bool, table string) (version int64, dirty bool, err error) {
	if !exists {
		return -1, false, nil
	}
	err = conn.QueryRow(ctx, `SELECT version, dirty FROM `+table+` LIMIT 1`).Scan(&version, &dirty)
	if errors.Is(err, pgx.ErrNoRows) {
		return -1, false, nil
	}
	return version, dirty, err
}

// Status compares the directory with the database.
func (m *Migrator) Status(ctx context.Context, conn *pgx.Conn) (source.Status, error) {
	return m.Compare(ctx, conn, tool, source.Migrate, func(h migrator.History) (source.Status, map[int64]string, error) {
		return m.status(ctx, conn, h)
	})
}

// status compares the directory with the version table h; elsewhere are
// the pending versions another copy of the table records as applied.
func (m *Migrator) status(ctx context.Context, conn *pgx.Conn, h migrator.History) (st source.Status, elsewhere map[int64]string, err error) {
	st = source.Status{Layout: source.Migrate, Table: h.Name(), Warnings: h.StatusWarnings(tool.Name, m.URL.Addr())}
	st.Version, st.Dirty, err = State(ctx, conn, h)
	if err != nil {
		return st, nil, err
	}
	for _, x := range m.Dir.Migrations {
		if x.Version <= st.Version && !(st.Dirty && x.Version == st.Version) {
			st.Applied = append(st.Applied, x)
		} else {
			st.Pending = append(st.Pending, x)
		}
	}
	if _, ok := m.Dir.Find(st.Version); st.Version >= 0 && !ok {
		st.Missing = append(st.Missing, source.Recorded{Version: st.Version})
	}
	elsewhere = map[int64]string{}
	for _, schema := range h.Copies {
		v, dirty, err := stateOf(ctx, conn, true, h.In(schema))
		if err != nil {
			return st, nil, err
		}
		for _, x := range st.Pending {
			if _, seen := elsewhere[x.Version]; !seen && (x.Version < v || (x.Version == v && !dirty)) {
				elsewhere[x.Version] = schema
			}
		}
	}
	return st, elsewhere, nil
}
