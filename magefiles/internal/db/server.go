package db

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// embedded points u at the local cluster listening on port.
func (c *Config) embedded(u pgurl.URL, port int) pgurl.URL {
	if u.Socket() {
		return u.WithParam("host", c.Cluster.SocketDir()).WithParam("port", strconv.Itoa(port))
	}
	host := u.Host()
	if host != "localhost" && host != "127.0.0.1" {
		host = "127.0.0.1" // the cluster listens on 127.0.0.1 only
	}
	return u.WithHostPort(host, port)
}

// Effective is the URL this run uses: DATABASE_URL, pointed at the local
// cluster when that is running (it may have moved to a free port) and
// DATABASE_URL is local. It starts nothing.
func (c *Config) Effective() pgurl.URL {
	if c.Cluster != nil && c.URL.Local() {
		if port, ok := c.Cluster.Running(); ok {
			return c.embedded(c.URL, port)
		}
	}
	return c.URL
}

// unreachable is the one-line error for a server we cannot use. It keeps
// the driver's error for errors.Is/As but prints only the line.
func (c *Config) unreachable(u pgurl.URL, err error) error {
	cause := u.Scrub(pg.Cause(err, c.connectTimeout()))
	var msg string
	code := fail.Failed
	switch kind := pg.Classify(err); {
	case kind == pg.NotPostgres:
		msg = fmt.Sprintf("%s answered, but not as PostgreSQL (an HTTP server?); point %s at PostgreSQL's port", u.Server(), u.Variable())
		code = fail.Config
	case kind == pg.Rejected:
		msg = fmt.Sprintf("PostgreSQL at %s refused the login (%s); check the user and password in %s, or run `mage db:up` to start the local cluster (on a free port if this one is taken)", u.Addr(), cause, u.Variable())
	case kind == pg.NoDatabase:
		msg = fmt.Sprintf("database %s does not exist on %s; run `mage db:setup` to create and migrate it", u.Database(), u.Server())
	case !u.Local():
		msg = fmt.Sprintf("cannot reach PostgreSQL at %s (%s); check that the server is up and %s is right (the local cluster serves only localhost URLs)", u.Addr(), cause, u.Variable())
	default:
		msg = fmt.Sprintf("cannot reach PostgreSQL at %s (%s); run `mage db:up` to start the local cluster", u.Addr(), cause)
	}
	return &lineError{msg: msg, err: err, code: code}
}

// lineError prints one line and keeps the cause for errors.Is/As.
type lineError struct {
	msg  string
	err  error
	code int
}

func (e *lineError) Error() string   { return e.msg }
func (e *lineError) Unwrap() error   { return e.err }
func (e *lineError) ExitStatus() int { return e.code }

// probe connects to u's database: nil, or an error classified by pg.Classify
// (NoDatabase means the server is fine).
func (c *Config) probe(ctx context.Context, u pgurl.URL) error {
	conn, err := pg.Connect(ctx, u, c.connectTimeout())
	if err != nil {
		return err
	}
	conn.Close(ctx)
	return nil
}

// server returns a URL whose server accepts us, starting the local
// cluster if DATABASE_URL is local, nothing answers and start is set.
func (c *Config) server(ctx context.Context, start bool) (pgurl.URL, error) {
	if err := c.restartReplaced(ctx); err != nil {
		return c.URL, err
	}
	u := c.Effective()
	err := c.probe(ctx, u)
	if err == nil || pg.Classify(err) == pg.NoDatabase {
		return u, nil
	}
	if start && c.Cluster != nil && u.Local() && pg.Classify(err) == pg.NoServer {
		c.infof("no PostgreSQL at %s; starting the local cluster", u.Addr())
		return c.Up(ctx)
	}
	return u, c.unreachable(u, err)
}

// restartReplaced restarts the running local cluster when its binary was
// replaced on disk (Cluster.Up does, and says so): after a package upgrade
// the old server fails loading the new libraries.
func (c *Config) restartReplaced(ctx context.Context) error {
	if c.Cluster == nil || !c.URL.Local() {
		return nil
	}
	if _, replaced := c.Cluster.Replaced(); !replaced {
		return nil
	}
	_, err := c.Cluster.Up(ctx, c.URL.Port())
	return err
}

// warnReplaced is restartReplaced for the targets that change nothing.
func (c *Config) warnReplaced() {
	if c.Cluster == nil || !c.URL.Local() || c.part == "queue" { // said once, for main
		return
	}
	if why, replaced := c.Cluster.Replaced(); replaced {
		c.warnf("the local PostgreSQL is stale: %s; `mage db:up` restarts it", why)
	}
}

// Up starts the local cluster (initialising it on first use), creates the
// role (superuser, password from DATABASE_URL) and the database, and
// returns the effective URL. Idempotent.
func (c *Config) Up(ctx context.Context) (pgurl.URL, error) {
	if c.Cluster == nil {
		return c.URL, fail.New(fail.Config, "no local cluster configured")
	}
	if !c.URL.Local() {
		return c.URL, fail.New(fail.Config, "DATABASE_URL points at %s, not this machine; the local cluster serves only localhost URLs (set DATABASE_URL to postgresql://user:pass@localhost:5432/db)", c.URL.Addr())
	}
	if c.DryRun {
		return c.URL, dryRunf(c.out(), "would start the local PostgreSQL cluster in %s on port %d", c.show(c.Cluster.Dir), c.URL.Port())
	}
	if c.URL.Password() == "" && !c.URL.Socket() {
		return c.URL, fail.New(fail.Config, "DATABASE_URL has no password, and the local cluster accepts TCP logins only with one (scram-sha-256); add one, e.g. postgresql://tasker:tasker@localhost:5432/tasker_rust_test")
	}
	_, wasRunning := c.Cluster.Running()
	c.Cluster.Role = c.URL.User()
	start := time.Now()
	port, err := c.Cluster.Up(ctx, c.URL.Port())
	if err != nil {
		return c.URL, err
	}
	u := c.embedded(c.URL, port)
	if err := c.provision(ctx, u, port); err != nil {
		return u, err
	}
	// split databases on this cluster: the queue's role and database too
	if q := c.Queue; q != nil && q.Addr() != c.URL.Addr() && sameLocalServer(c.URL, *q) {
		if err := c.provision(ctx, c.embedded(*q, port), port); err != nil {
			return u, err
		}
	}
	if wasRunning {
		c.infof("the local PostgreSQL is running: %s", u.Redacted())
	} else {
		c.infof("started the local PostgreSQL in %s: %s (%s)", c.show(c.Cluster.Dir), u.Redacted(), time.Since(start).Round(time.Millisecond))
	}
	if port != c.URL.Port() && !c.URL.Socket() {
		c.warnf("the local cluster listens on port %d, not %d: targets use it automatically; other tools need DATABASE_URL=%s", port, c.URL.Port(), u.Redacted())
	}
	return u, nil
}

// provision creates DATABASE_URL's role and database in the local cluster.
func (c *Config) provision(ctx context.Context, u pgurl.URL, port int) error {
	conn, err := pg.Connect(ctx, c.Cluster.AdminURL(port), 10*time.Second)
	if err != nil {
		return fail.Wrap(fail.Failed, err, "cannot connect to the local cluster as its superuser")
	}
	defer conn.Close(ctx)
	// parallel runs would race on CREATE ROLE / CREATE DATABASE
	lock, err := pg.Acquire(ctx, conn, "provisioning lock", pg.KeyFor("provision"), c.lockTimeout(), nil)
	if err != nil {
		return err
	}
	defer lock.Release(context.WithoutCancel(ctx))
	if user := u.User(); user != "" {
		if err := pg.EnsureRole(ctx, conn, user, u.Password()); err != nil {
			return fail.Wrap(fail.Failed, err, "creating role %s", user)
		}
	}
	_, err = c.createDB(ctx, conn, u)
	return err
}

// createDB creates u's database if it is missing (reports whether it did).
func (c *Config) createDB(ctx context.Context, conn *pgx.Conn, u pgurl.URL) (bool, error) {
	name := u.Database()
	if name == "" {
		return false, fail.New(fail.Config, "%s names no database; add one, e.g. …/tasker_rust_test", u.Variable())
	}
	exists, err := pg.DatabaseExists(ctx, conn, name)
	if err != nil || exists {
		return false, u.ScrubErr(err)
	}
	if err := pg.CreateDatabase(ctx, conn, name, u.User(), "", ""); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "42P04" || pe.Code == "23505") { // created concurrently
			return false, nil
		}
		return false, u.ScrubErr(fail.Wrap(fail.Failed, err, "creating database %s", name))
	}
	return true, nil
}

// maintenance connects to the server's postgres database (to create/drop u's).
func (c *Config) maintenance(ctx context.Context, u pgurl.URL) (*pgx.Conn, error) {
	m := u.WithDatabase("postgres")
	if u.Database() == "postgres" {
		m = u.WithDatabase("template1")
	}
	conn, err := pg.Connect(ctx, m, 10*time.Second)
	if err != nil {
		return nil, c.unreachable(m, err)
	}
	return conn, nil
}

// Down stops the local cluster and keeps its data.
func (c *Config) Down(ctx context.Context) error {
	if c.DryRun {
		return dryRunf(c.out(), "would stop the local PostgreSQL in %s", c.show(c.Cluster.Dir))
	}
	was, err := c.Cluster.Down(ctx)
	if err != nil {
		return err
	}
	if was {
		c.infof("stopped the local PostgreSQL (data kept in %s; `mage db:destroy` deletes it)", c.show(c.Cluster.Dir))
	} else {
		c.infof("the local PostgreSQL is not running")
	}
	return nil
}

// Destroy stops the local cluster and deletes its data (guarded like drop).
func (c *Config) Destroy(ctx context.Context) error {
	u := c.URL
	if port, ok := c.Cluster.Running(); ok {
		u = c.embedded(c.URL, port)
	} else if c.URL.Local() {
		u = c.embedded(c.URL, c.URL.Port())
	}
	if err := c.guard("destroy the local cluster holding", u, ""); err != nil {
		return err
	}
	if c.DryRun {
		return dryRunf(c.out(), "would stop the local PostgreSQL and delete %s", c.show(c.Cluster.Dir))
	}
	if err := c.Cluster.Destroy(ctx); err != nil {
		return err
	}
	c.infof("deleted the local PostgreSQL cluster in %s", c.show(c.Cluster.Dir))
	return nil
}
