package migrator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
)

// Step is one migration file to run and the layout's bookkeeping for it.
type Step struct {
	SQL []byte
	// NoTx: the file is marked "-- no-transaction" and runs outside a
	// transaction block (CREATE INDEX CONCURRENTLY and the like).
	NoTx bool
	// Record notes the file as applied: inside the file's transaction, or
	// right after a NoTx file.
	Record func(ctx context.Context, q pg.Querier) error
	// Mark and Unmark bracket a NoTx file (either may be nil): Mark notes it
	// as in progress before it runs, so a run killed half-way leaves a trace;
	// Unmark takes the note back when the file failed, which a single
	// statement (or PostgreSQL's implicit transaction for several) does as a
	// whole.
	Mark, Unmark func(ctx context.Context, q pg.Querier) error
}

// ErrInterrupted wraps the error of a file whose context ended while it
// ran: its statement was cancelled on the server and nothing was recorded.
var ErrInterrupted = errors.New("interrupted")

// settleTimeout bounds the bookkeeping that must finish after an interrupt
// (a rollback, a commit, a mark taken back).
const settleTimeout = 10 * time.Second

// Apply runs s on conn. The file and its Record run in one transaction:
// when ctx ends while the file runs (Ctrl-C), the statement is cancelled on
// the server and the transaction rolled back, so the database stays at the
// version before the file. Once the file has run, the commit goes ahead
// whatever ctx says. It returns nil, the server's error for the file, or an
// error wrapping ErrInterrupted.
func Apply(ctx context.Context, conn *pgx.Conn, s Step) error {
	if s.NoTx {
		return applyAlone(ctx, conn, s)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return interrupted(ctx, err)
	}
	_, err = tx.Exec(ctx, string(s.SQL))
	if err == nil {
		err = s.Record(ctx, tx)
	}
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if err != nil {
		_ = tx.Rollback(settle) // a failed rollback closes the connection, which rolls back too
		return interrupted(ctx, err)
	}
	return tx.Commit(settle)
}

// applyAlone runs a NoTx file between Mark and Record.
func applyAlone(ctx context.Context, conn *pgx.Conn, s Step) error {
	if s.Mark != nil {
		if err := s.Mark(ctx, conn); err != nil {
			return interrupted(ctx, err)
		}
	}
	_, err := conn.Exec(ctx, string(s.SQL))
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if err != nil {
		if s.Unmark != nil {
			if uerr := s.Unmark(settle, conn); uerr != nil {
				return fmt.Errorf("%w (and taking back its in-progress mark failed: %v)", interrupted(ctx, err), uerr)
			}
		}
		return interrupted(ctx, err)
	}
	return s.Record(settle, conn)
}

// interrupted marks err as caused by ctx ending, when it did.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ErrInterrupted, err)
	}
	return err
}
