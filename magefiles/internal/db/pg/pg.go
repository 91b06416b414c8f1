// Package pg holds the small PostgreSQL operations the db targets share:
// connecting with a timeout, telling "no server" from "server said no",
// creating and dropping databases and roles, and advisory locks that give up
// with a useful message instead of waiting forever.
package pg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
)

// AppName starts the application_name of every connection the build
// system opens, followed by the process id, so pg_stat_activity (and a lock
// timeout) shows which run holds a lock.
const AppName = "tasker-build"

// ConnConfig is u's pgx config (the one its hosts were judged by), with
// application_name set and the connect timeout applied.
func ConnConfig(u pgurl.URL, timeout time.Duration) (*pgx.ConnConfig, error) {
	cfg, err := u.Config()
	if err != nil {
		return nil, err
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = fmt.Sprintf("%s (pid %d)", AppName, os.Getpid())
	}
	if timeout > 0 {
		cfg.ConnectTimeout = timeout
	}
	// A cancelled context (Ctrl-C) cancels the running statement on the
	// server. pgx's default only closes the socket: the server would go on
	// and, for a simple query of several statements, commit it.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: CancelGrace}
	}
	return cfg, nil
}

// CancelGrace is how long a cancelled statement gets to end on the server
// before the connection is dropped.
const CancelGrace = 2 * time.Second

// Querier is a *pgx.Conn or a pgx.Tx: statements, and a transaction of
// their own (a savepoint inside a transaction).
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Connect opens one connection to u, giving up after timeout (0: pgx's
// default, no limit). Errors are scrubbed of the password.
func Connect(ctx context.Context, u pgurl.URL, timeout time.Duration) (*pgx.Conn, error) {
	cfg, err := ConnConfig(u, timeout)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, u.ScrubErr(err)
	}
	return conn, nil
}

// Problem classifies a connection failure.
type Problem int

const (
	NoServer    Problem = iota + 1 // nothing listens there (refused, no socket file, host unknown)
	Timeout                        // no answer in time
	Rejected                       // the server refused the login (password, role, pg_hba)
	NoDatabase                     // the server is up but the database does not exist
	NotPostgres                    // something answered, not in PostgreSQL's protocol (an HTTP server)
	Other
)

// Classify tells why err (from Connect) happened.
func Classify(err error) Problem {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "3D000":
			return NoDatabase
		case strings.HasPrefix(pe.Code, "28"):
			return Rejected
		case pe.Code == "57P03": // the database system is starting up / shutting down
			return NoServer
		}
		return Other
	}
	// an HTTP server's "HTTP/1.1 400" read as a message header is a
	// 1.4 GB message; any other protocol's greeting fares the same
	var tooLong *pgproto3.ExceededMaxBodyLenErr
	if errors.As(err, &tooLong) {
		return NotPostgres
	}
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT), errors.Is(err, os.ErrNotExist),
		errors.As(err, &dns):
		return NoServer
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return Timeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Timeout
	}
	return Other
}

// Cause is a short lower-case reason for a connection failure, for one-line
// messages: "connection refused", "password authentication failed for user
// \"tasker\"", "timed out after 3s".
func Cause(err error, timeout time.Duration) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Message
	}
	switch Classify(err) {
	case NoServer:
		var dns *net.DNSError
		if errors.As(err, &dns) {
			return "host " + dns.Name + " not found"
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return "connection refused"
		}
		return "no server socket"
	case NotPostgres:
		return "it answered, but not as PostgreSQL"
	case Timeout:
		if timeout > 0 {
			return fmt.Sprintf("no answer within %s", timeout)
		}
		return "timed out"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// Ident quotes an identifier for DDL (which takes no bind parameters).
func Ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// Literal quotes a string literal for DDL (standard_conforming_strings is on
// since 9.1, so only quotes need doubling).
func Literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// DatabaseExists reports whether name exists on the server conn is connected to.
func DatabaseExists(ctx context.Context, conn *pgx.Conn, name string) (bool, error) {
	var ok bool
	err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&ok)
	return ok, err
}

// CreateDatabase creates name (owned by owner unless "", copied from
// template unless ""). It does not check for existence first.
func CreateDatabase(ctx context.Context, conn *pgx.Conn, name, owner, template, strategy string) error {
	q := "CREATE DATABASE " + Ident(name)
	if owner != "" {
		q += " OWNER " + Ident(owner)
	}
	if template != "" {
		q += " TEMPLATE " + Ident(template)
	}
	if strategy != "" {
		q += " STRATEGY " + strategy
	}
	_, err := conn.Exec(ctx, q)
	return err
}

// Sessions counts the sessions connected to database name (other than
// conn's own).
func Sessions(ctx context.Context, conn *pgx.Conn, name string) (int, error) {
	var n int
	err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name).Scan(&n)
	return n, err
}

// DropDatabase drops name if it exists, terminating its connections
// (WITH (FORCE), PostgreSQL 13+). A template is unmarked first.
func DropDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	var isTemplate bool
	err := conn.QueryRow(ctx, `SELECT datistemplate FROM pg_database WHERE datname = $1`, name).Scan(&isTemplate)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if isTemplate {
		if _, err := conn.Exec(ctx, "ALTER DATABASE "+Ident(name)+" IS_TEMPLATE false"); err != nil {
			return err
		}
	}
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+Ident(name)+" WITH (FORCE)")
	return err
}

// EnsureRole creates user as a LOGIN SUPERUSER (tasker's migrations create
// an event trigger) with password, or resets the password of an existing
// role. The password goes in the statement text: this is for the local
// throwaway cluster only.
func EnsureRole(ctx context.Context, conn *pgx.Conn, user, password string) error {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, user).Scan(&exists); err != nil {
		return err
	}
	verb := "CREATE"
	if exists {
		verb = "ALTER"
	}
	q := verb + " ROLE " + Ident(user) + " LOGIN SUPERUSER"
	if password != "" {
		q += " PASSWORD " + Literal(password)
	}
	_, err := conn.Exec(ctx, q)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42710" || pe.Code == "23505") { // created concurrently: set the password
		_, err = conn.Exec(ctx, "ALTER"+strings.TrimPrefix(q, "CREATE"))
	}
	if err != nil {
		return errors.New(pgurl.ScrubSecret(err.Error(), password))
	}
	return nil
}

// ServerVersion is the server's version string (e.g. "15.18").
func ServerVersion(ctx context.Context, conn *pgx.Conn) (string, error) {
	var v string
	err := conn.QueryRow(ctx, `SHOW server_version`).Scan(&v)
	if i := strings.IndexByte(v, ' '); i > 0 {
		v = v[:i]
	}
	return v, err
}
