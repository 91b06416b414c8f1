// Package sqlxmig applies a migrations directory in sqlx's layout the way
// sqlx does, so that `sqlx migrate run` and `sqlx::migrate!` afterwards find
// nothing pending and no checksum mismatch:
//   - table _sqlx_migrations (version, description, installed_on, success,
//     checksum, execution_time) with sqlx's exact DDL;
//   - checksum = SHA-384 of the file's bytes; description = the name tail with
//     '_' → ' ' (for reversible migrations, from the .up.sql file);
//   - each file runs in a transaction together with its row (success = true,
//     execution_time = -1, then updated to the nanoseconds it took), unless it
//     starts with "-- no-transaction";
//   - sqlx's advisory lock (0x3d32ad9e * crc32(current_database())), taken
//     with a timeout, so we and sqlx exclude each other.
//
// Before applying, applied rows are checked like sqlx does: a failed row
// (success = false), an applied version with no file, or a changed file
// (drift) stop the run with a report.
package sqlxmig

import (
	"bytes"
	"context"
	"crypto/sha512"
	"errors"
	"fmt"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/migrator"
	"hash/crc32"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/source"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// Table is sqlx's bookkeeping table.
const Table = "_sqlx_migrations"

// CreateTable is sqlx's DDL for Table (sqlx-postgres/src/migrate.rs), which
// sqlx runs unqualified; the build system runs it for a qualified name
// (createTable).
const CreateTable = `
CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
);`

func createTable(h migrator.History) string {
	return strings.Replace(CreateTable, Table, h.Name(), 1)
}

// Checksum is sqlx's checksum of a migration file.
func Checksum(b []byte) []byte { s := sha512.Sum384(b); return s[:] }

// LockKey is sqlx's advisory lock id for a database.
func LockKey(database string) int64 {
	return 0x3d32ad9e * int64(crc32.ChecksumIEEE([]byte(database)))
}

// Migrator applies Dir to the database at URL.
type Migrator struct{ migrator.Options }

// Row is one _sqlx_migrations row.
type Row struct {
	Version       int64
	Description   string
	Success       bool
	Checksum      []byte
	ExecutionTime int64
}

// Rows reads the history table h (nil when it does not exist).
func Rows(ctx context.Context, conn *pgx.Conn, h migrator.History) ([]Row, error) {
	if !h.Exists {
		return nil, nil
	}
	rows, err := conn.Query(ctx, `SELECT version, description, success, checksum, execution_time FROM `+h.Name()+` ORDER BY version`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Row, error) {
		var x Row
		err := r.Scan(&x.Version, &x.Description, &x.Success, &x.Checksum, &x.ExecutionTime)
		return x, err
	})
}

// Status compares the directory with the database, checksums included.
func (m *Migrator) Status(ctx context.Context, conn *pgx.Conn) (source.Status, error) {
	return m.Compare(ctx, conn, tool, source.SQLx, func(h migrator.History) (source.Status, map[int64]string, error) {
		return m.status(ctx, conn, h)
	})
}

// status compares the directory with the history h; elsewhere are the
// pending versions other copies of the table record as applied.
func (m *Migrator) status(ctx context.Context, conn *pgx.Conn, h migrator.History) (st source.Status, elsewhere map[int64]string, err error) {
	st = source.Status{Layout: source.SQLx, Version: -1, Table: h.Name(), Warnings: h.StatusWarnings(tool.Name, m.URL.Addr())}
	rows, err := Rows(ctx, conn, h)
	if err != nil {
		return st, nil, err
	}
	applied := map[int64]Row{}
	for _, r := range rows {
		applied[r.Version] = r
		if !r.Success {
			st.Dirty = true
			st.Failed = append(st.Failed, r.Version)
		}
		if _, ok := m.Dir.Find(r.Version); !ok {
			st.Missing = append(st.Missing, source.Recorded{Version: r.Version, Description: r.Description})
		}
		if r.Success {
			st.Version = max(st.Version, r.Version)
		}
	}
	for _, x := range m.Dir.Migrations {
		r, ok := applied[x.Version]
		if !ok || !r.Success {
			st.Pending = append(st.Pending, x)
			continue
		}
		st.Applied = append(st.Applied, x)
		body, err := m.Dir.Read(x.Up)
		if err != nil {
			return st, nil, err
		}
		if !bytes.Equal(Checksum(body), r.Checksum) {
			st.Drift = append(st.Drift, x)
		}
	}
	elsewhere = map[int64]string{}
	for _, schema := range h.Copies {
		rows, err := conn.Query(ctx, `SELECT version FROM `+h.In(schema)+` WHERE success`)
		if err != nil {
			return st, nil, err
		}
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return st, nil, err
		}
		for _, v := range versions {
			if r, ok := applied[v]; !ok || !r.Success {
				if _, seen := elsewhere[v]; !seen {
					elsewhere[v] = schema
				}
			}
		}
	}
	return st, elsewhere, nil
}

// moveRows is the fix for versions recorded only in other copies of h.
func moveRows(h migrator.History, elsewhere map[int64]string) string {
	var fix []string
	for _, schema := range h.Copies {
		fix = append(fix, fmt.Sprintf("INSERT INTO %s SELECT * FROM %s WHERE success AND version NOT IN (SELECT version FROM %s); DROP TABLE %s;",
			h.Name(), h.In(schema), h.Name(), h.In(schema)))
	}
	return "move their rows into " + h.Name() + " and drop the copies: " + strings.Join(fix, " ")
}

// DirtyAdvice is what to do about rows marked failed (sqlx before 0.7 wrote
// them; sqlx refuses to go on while one is there).
func (m *Migrator) DirtyAdvice(st source.Status) string {
	v := int64(-1)
	if len(st.Failed) > 0 {
		v = st.Failed[0]
	}
	return fmt.Sprintf("%s has version %d marked failed in %s (success = false): undo whatever of it was applied, then run DELETE FROM %s WHERE version = %d; and %s",
		m.URL.Addr(), v, st.Table, st.Table, v, m.Command("db:migrate"))
}

// check reports what sqlx itself would refuse: failed rows, applied
// versions without a file, changed files.
func (m *Migrator) check(st source.Status) error {
	if st.Dirty {
		return fail.New(fail.Failed, "%s", m.DirtyAdvice(st))
	}
	return m.Drift(st, "sqlx refuses to migrate too: VersionMissing, VersionMismatch")
}

// tool is sqlx: its table, and the lock `sqlx migrate run` takes.
var tool = migrator.Tool{Name: "sqlx-cli and sqlx::migrate!", Table: Table, Marker: "checksum",
	Lock: "sqlx migration lock", Key: func(db, _ string) int64 { return LockKey(db) }}

// Up applies every pending migration, in order, and returns those applied.
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
	if err := m.check(st); err != nil {
		return nil, err
	}
	if err := m.RecordedElsewhere(h, elsewhere, moveRows(h, elsewhere)); err != nil {
		return nil, err
	}
	if len(st.Pending) == 0 {
		m.Warn(h.CopyWarnings(m.URL.Addr())) // the search_path trap was told when files ran
		return nil, nil
	}
	var files []string
	for _, x := range st.Pending {
		files = append(files, x.Up)
	}
	if err := m.CheckFiles(files...); err != nil {
		return nil, err
	}
	if err := m.CheckExtensions(ctx, conn, files...); err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, createTable(h)); err != nil {
		return nil, m.URL.ScrubErr(err)
	}
	h.Exists = true
	var applied []source.Migration
	for _, x := range st.Pending {
		if err := ctx.Err(); err != nil {
			return applied, err
		}
		if err := m.apply(ctx, conn, h, x); err != nil {
			return applied, err
		}
		m.Log("applied %s", x.Up)
		applied = append(applied, x)
	}
	// the files may have created the schema that traps other tools
	if after, err := migrator.FindHistory(context.WithoutCancel(ctx), conn, tool); err == nil {
		m.Warn(after.Warnings(tool.Name, m.URL.Addr()))
	}
	return applied, nil
}

func (m *Migrator) apply(ctx context.Context, conn *pgx.Conn, h migrator.History, x source.Migration) error {
	body, err := m.Dir.Read(x.Up)
	if err != nil {
		return err
	}
	noTx := source.NoTransaction(body)
	start := time.Now()
	err = migrator.Apply(ctx, conn, migrator.Step{SQL: body, NoTx: noTx,
		Record: func(ctx context.Context, q pg.Querier) error { return insert(ctx, q, h, x, body) }})
	switch {
	case errors.Is(err, migrator.ErrInterrupted):
		return fail.New(fail.Failed, "interrupted: %s was cancelled and rolled back, no row was written; run %s to apply it", m.File(x.Up), m.Command("db:migrate"))
	case err != nil:
		state := "sqlx runs each file in a transaction: it was rolled back, nothing from it was applied and no row was written"
		if noTx {
			state = "the file ran outside a transaction (-- no-transaction) and failed as a whole: nothing from it was applied and no row was written"
		}
		return m.URL.ScrubErr(&pg.Failure{File: m.File(x.Up), SQL: body, Err: err, State: state,
			Fix: pg.FixFor(err, m.File(x.Up), m.Command("db:migrate"))})
	}
	// as sqlx does: the row says -1 until the file has committed
	settle := context.WithoutCancel(ctx)
	_, err = conn.Exec(settle, `UPDATE `+h.Name()+` SET execution_time = $1 WHERE version = $2`, time.Since(start).Nanoseconds(), x.Version)
	return m.URL.ScrubErr(err)
}

func insert(ctx context.Context, q pg.Querier, h migrator.History, x source.Migration, body []byte) error {
	_, err := q.Exec(ctx, `INSERT INTO `+h.Name()+` (version, description, success, checksum, execution_time) VALUES ($1, $2, TRUE, $3, -1)`,
		x.Version, x.Description, Checksum(body))
	return err
}

// Rollback reverts the latest applied migration with its .down.sql, like
// `sqlx migrate revert`. It refuses (exit 4) for a simple migration (no down file).
func (m *Migrator) Rollback(ctx context.Context) (from, to int64, err error) {
	conn, h, done, err := m.Open(ctx, tool)
	if err != nil {
		return 0, 0, err
	}
	defer done()
	st, _, err := m.status(ctx, conn, h)
	if err != nil {
		return 0, 0, m.URL.ScrubErr(err)
	}
	if err := m.check(st); err != nil {
		return st.Version, st.Version, err
	}
	if st.Version < 0 {
		return -1, -1, fail.New(fail.Failed, "nothing to roll back: no migration is applied to %s", m.URL.Addr())
	}
	x, _ := m.Dir.Find(st.Version)
	if x.Down == "" {
		return st.Version, st.Version, fail.New(fail.Refused, "refusing to roll back %s: it has no %s.down.sql (a simple sqlx migration cannot be reverted); write a new migration that undoes it", x.Up, x.Name)
	}
	if err := m.CheckFiles(x.Down); err != nil {
		return st.Version, st.Version, err
	}
	body, err := m.Dir.Read(x.Down)
	if err != nil {
		return st.Version, st.Version, err
	}
	err = migrator.Apply(ctx, conn, migrator.Step{SQL: body, NoTx: source.NoTransaction(body), Record: func(ctx context.Context, q pg.Querier) error {
		_, err := q.Exec(ctx, `DELETE FROM `+h.Name()+` WHERE version = $1`, x.Version)
		return err
	}})
	if errors.Is(err, migrator.ErrInterrupted) {
		return st.Version, st.Version, fail.New(fail.Failed, "interrupted: %s was cancelled and rolled back; nothing changed", m.File(x.Down))
	}
	if err != nil {
		return st.Version, st.Version, m.URL.ScrubErr(&pg.Failure{File: m.File(x.Down), SQL: body, Err: err,
			State: "the down file ran in a transaction and was rolled back: nothing changed",
			Fix:   pg.FixFor(err, m.File(x.Down), m.Command("db:rollback"))})
	}
	to = m.Dir.Previous(x.Version)
	m.Log("rolled back %s (version %d → %d)", x.Down, x.Version, to)
	return x.Version, to, nil
}

var errNoForce = errors.New("sqlx never leaves a dirty version")

// Force is not meaningful for sqlx: each file and its row commit together.
func (m *Migrator) Force(context.Context, int64) error {
	return fail.Wrap(fail.Config, errNoForce, "db:force is for the golang-migrate layout; with sqlx a failed file leaves no row behind: correct it and run %s", m.Command("db:migrate"))
}
