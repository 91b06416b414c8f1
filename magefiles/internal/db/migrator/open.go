package migrator

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
)

// Tool is the migration tool whose bookkeeping a layout keeps and whose
// own advisory lock it also takes, so that tool run by hand and the build
// system exclude each other.
type Tool struct {
	Name   string                        // in messages: "sqlx-cli and sqlx::migrate!"
	Table  string                        // its bookkeeping table, unqualified
	Marker string                        // a column only its table has
	Lock   string                        // its lock's name in messages: "golang-migrate lock"
	Key    func(db, schema string) int64 // its lock key for a database and the table's schema
}

// Open takes the build system's lock on the database (pg.LockDatabase),
// connects to it, finds tool's history table and takes tool's lock there,
// each waiting at most LockTimeout; done releases them and closes the
// connection.
func (o Options) Open(ctx context.Context, tool Tool) (conn *pgx.Conn, h History, done func(), err error) {
	timeout := o.LockTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ours, ctx, err := pg.LockDatabase(ctx, o.URL, o.URL.Database(), timeout, func(h pg.Holder) {
		o.Log("waiting up to %s for the lock on %s, held by %s", timeout, o.URL.Addr(), h)
	})
	if err != nil {
		return nil, h, nil, o.URL.ScrubErr(err)
	}
	settle := context.WithoutCancel(ctx)
	abort := func(err error) (*pgx.Conn, History, func(), error) {
		if conn != nil {
			conn.Close(settle)
		}
		_ = ours.Release(settle)
		return nil, h, nil, o.URL.ScrubErr(err)
	}
	if conn, err = pg.Connect(ctx, o.URL, 10*time.Second); err != nil {
		return abort(err)
	}
	var db string
	if err := conn.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		return abort(err)
	}
	if h, err = FindHistory(ctx, conn, tool); err != nil {
		return abort(err)
	}
	theirs, err := pg.Acquire(ctx, conn, tool.Lock, tool.Key(db, h.Schema), timeout, func(h pg.Holder) {
		o.Log("waiting up to %s for the %s on %s (a run outside mage?), held by %s", timeout, tool.Lock, o.URL.Addr(), h)
	})
	if err != nil {
		return abort(err)
	}
	return conn, h, func() {
		_ = theirs.Release(settle)
		conn.Close(settle)
		_ = ours.Release(settle)
	}, nil
}
