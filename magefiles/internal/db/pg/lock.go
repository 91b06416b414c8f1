package pg

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// Lock is a session-level advisory lock held on its own connection.
type Lock struct {
	Name  string // for messages: "migration lock", "lock on database x"
	Key   int64
	conn  *pgx.Conn
	owned bool // Release closes conn too
}

// KeyFor derives a stable advisory-lock key from a name, so the build
// system's locks do not collide with golang-migrate's or sqlx's.
func KeyFor(name string) int64 {
	return int64(crc32.ChecksumIEEE([]byte("tasker-build:"+name)))<<16 | 0x7a5c
}

// Holder describes the session holding an advisory lock.
type Holder struct {
	PID     int
	App     string
	State   string
	Since   time.Duration // how long that session has been connected
	Address string
}

func (h Holder) String() string {
	s := fmt.Sprintf("pid %d", h.PID)
	if h.App != "" {
		s += ", " + h.App
	}
	if h.Address != "" {
		s += " from " + h.Address
	}
	if h.State != "" {
		s += ", " + h.State
	}
	return s + fmt.Sprintf(", connected %s ago", h.Since.Round(time.Second))
}

// HolderOf looks up who holds advisory lock key in conn's database.
func HolderOf(ctx context.Context, conn *pgx.Conn, key int64) (Holder, bool) {
	var h Holder
	var secs float64
	err := conn.QueryRow(ctx, `
		SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.state, ''),
		       coalesce(extract(epoch FROM now() - a.backend_start), 0)::float8,
		       coalesce(host(a.client_addr), '')
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		  AND l.classid::int8 = $1 AND l.objid::int8 = $2
		  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		LIMIT 1`, uint32(uint64(key)>>32), uint32(uint64(key))).Scan(&h.PID, &h.App, &h.State, &secs, &h.Address)
	if err != nil {
		return Holder{}, false
	}
	h.Since = time.Duration(secs * float64(time.Second))
	return h, true
}

// Acquire takes advisory lock key on conn (which the lock then owns until
// Release), waiting at most timeout. wait, if not nil, is told once when
// another session holds the lock. On timeout the error names the lock, the
// holder and how to end it.
func Acquire(ctx context.Context, conn *pgx.Conn, name string, key int64, timeout time.Duration, wait func(Holder)) (*Lock, error) {
	l := &Lock{Name: name, Key: key, conn: conn}
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
		return nil, err
	}
	if got {
		return l, nil
	}
	holder, known := HolderOf(ctx, conn, key)
	if wait != nil && known {
		wait(holder)
	}
	// lock_timeout bounds the wait inside the server, so nothing is left
	// queued behind the holder when we give up.
	if _, err := conn.Exec(ctx, fmt.Sprintf("SET lock_timeout = %d", max(timeout.Milliseconds(), 1))); err != nil {
		return nil, err
	}
	_, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key)
	if _, rerr := conn.Exec(context.WithoutCancel(ctx), `RESET lock_timeout`); err == nil {
		err = rerr
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "55P03" { // lock_not_available
		if h, ok := HolderOf(ctx, conn, key); ok {
			holder, known = h, true
		}
		msg := fmt.Sprintf("gave up after %s waiting for the %s (advisory lock %d)", timeout, name, key)
		if known {
			return nil, fail.New(fail.Failed, "%s held by %s; wait for it to finish, or end it with SELECT pg_terminate_backend(%d)", msg, holder, holder.PID)
		}
		return nil, fail.New(fail.Failed, "%s; another run holds it: wait for it to finish and retry", msg)
	}
	if err != nil && ctx.Err() != nil { // Ctrl-C: the wait was cancelled on the server
		return nil, fail.Wrap(fail.Failed, ctx.Err(), "interrupted while waiting for the %s; nothing was changed", name)
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Release unlocks. Closing the connection releases it too.
func (l *Lock) Release(ctx context.Context) error {
	if l == nil || l.conn == nil {
		return nil
	}
	_, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, l.Key)
	if l.owned {
		l.conn.Close(ctx)
	}
	return err
}

// Probe reports who holds key without taking it (for locks owned by other
// tools, such as golang-migrate's own, which waits forever).
func Probe(ctx context.Context, conn *pgx.Conn, key int64) (Holder, bool, error) {
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
		return Holder{}, false, err
	}
	if got {
		_, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, key)
		return Holder{}, false, err
	}
	h, _ := HolderOf(ctx, conn, key)
	return h, true, nil
}

// DatabaseKey is the advisory lock key of database db.
func DatabaseKey(db string) int64 { return KeyFor("database " + db) }

// MaintenanceDB holds the database locks: it survives the drop of the
// database a lock is about.
const MaintenanceDB = "postgres"

// heldLock marks, in a context, a database lock its caller holds.
type heldLock struct {
	server string
	key    int64
}

// LockDatabase takes the build system's one lock on database db of u's
// server, which every change to db takes (migrate, rollback, force,
// reset, drop, template builds): an advisory lock in the maintenance
// database, so a drop cannot release it. It waits at most timeout (wait
// is told about the holder) and returns the lock, on its own connection,
// and ctx marked as holding it: a nested LockDatabase for db under that
// ctx (a reset's migrate) returns at once without taking it again.
func LockDatabase(ctx context.Context, u pgurl.URL, db string, timeout time.Duration, wait func(Holder)) (*Lock, context.Context, error) {
	mark := heldLock{server: strings.Join(u.Hosts(), ",") + ":" + strconv.Itoa(u.Port()), key: DatabaseKey(db)}
	if ctx.Value(mark) != nil {
		return nil, ctx, nil
	}
	conn, err := Connect(ctx, u.WithDatabase(MaintenanceDB), 10*time.Second)
	if p := Classify(err); p == Rejected || p == NoDatabase {
		// a server whose maintenance database we may not use: lock in db
		// itself (runs that drop db need the maintenance database anyway)
		conn, err = Connect(ctx, u.WithDatabase(db), 10*time.Second)
	}
	if err != nil {
		return nil, ctx, err
	}
	lock, err := Acquire(ctx, conn, "lock on database "+db, mark.key, timeout, wait)
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, ctx, err
	}
	lock.owned = true
	return lock, context.WithValue(ctx, mark, true), nil
}
