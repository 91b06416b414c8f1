// Package db implements the mage db:* targets and the database services
// other targets use: Ensure (a reachable, existing, migrated database),
// Clone/DropClone (per-test databases from a template). The pieces live in
// subpackages, one concern each: pgurl (parsing and redaction), guard
// (refusing destructive operations), pg (connections, locks, reports),
// cluster (the local PostgreSQL), source (the migrations directory),
// gomigrate and sqlxmig (the two layouts), template (template databases).
//
// Every exported function taking a *session.S has a Config method twin
// that tests drive with plain inputs.
package db

import (
	"context"
	"fmt"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/migrator"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/cluster"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/gomigrate"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/source"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/sqlxmig"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/template"
	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
)

// Variables the db targets read (besides DATABASE_URL, TASKER_ENV and
// TASKER_ALLOW_DESTRUCTIVE).
const (
	EnvMigrationsDir    = "TASKER_MIGRATIONS_DIR"    // default db/migrations
	EnvMigrationsLayout = "TASKER_MIGRATIONS_LAYOUT" // migrate | sqlx | auto (default)
	EnvLockTimeout      = "TASKER_DB_LOCK_TIMEOUT"   // default 30s
	// EnvClusterDir moves the local cluster (default .tasker/postgres). On a
	// tmpfs such as /dev/shm/tasker-pg, CREATE/DROP DATABASE (reset, clones)
	// are several times faster; the data is lost on reboot (db:setup
	// rebuilds it). Useful on CI machines.
	EnvClusterDir = "TASKER_PG_DIR"
	// EnvQueueURL gives the queue its own database (tasker-core's split
	// mode) when it names another database than DATABASE_URL.
	EnvQueueURL = "PGMQ_DATABASE_URL"
	// EnvQueuePattern picks the queue's migrations by file name (a regular
	// expression, default DefaultQueuePattern), as tasker-core's
	// run_migrations() does with "pgmq".
	EnvQueuePattern     = "TASKER_PGMQ_MIGRATIONS_PATTERN"
	DefaultQueuePattern = "pgmq"
)

// Logger prints progress lines (*run.Runner is one).
type Logger interface {
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
}

// Config is what the db targets act on.
type Config struct {
	URL pgurl.URL // DATABASE_URL as configured
	// Queue is PGMQ_DATABASE_URL when it names another database (split
	// mode): the migrations QueuePattern matches go there, the others to
	// URL, each database with its own history and lock. nil: one database.
	Queue          *pgurl.URL
	QueuePattern   *regexp.Regexp   // nil: DefaultQueuePattern
	TaskerEnv      string           // TASKER_ENV
	Allow          bool             // TASKER_ALLOW_DESTRUCTIVE
	MigrationsDir  string           // absolute
	Layout         string           // TASKER_MIGRATIONS_LAYOUT ("" = auto)
	Cluster        *cluster.Cluster // the local cluster (nil: never start one)
	LockTimeout    time.Duration    // migration lock wait (default 30s)
	ConnectTimeout time.Duration    // reachability probe (default 3s)
	Root           string           // repository root, for showing paths
	DryRun         bool             // print what mutating targets would do
	Log            Logger
	Out            io.Writer // reports (default os.Stdout)

	warned bool    // about ignored migration files
	part   string  // "main" or "queue": one database of a split Config (parts)
	whole  *Config // the split Config a part was made from
}

// FromSession resolves the Config from the session's environment.
func FromSession(s *session.S) (*Config, error) {
	u, err := pgurl.Parse(s.Env.Get("DATABASE_URL"))
	if err != nil {
		return nil, err
	}
	dir := s.Env.Get(EnvMigrationsDir)
	if dir == "" {
		dir = filepath.Join("db", "migrations")
	}
	if !filepath.IsAbs(dir) {
		dir = s.Paths.Abs(dir)
	}
	lt, err := duration(s.Env.Get(EnvLockTimeout), 30*time.Second)
	if err != nil {
		return nil, err
	}
	queue, pattern, err := queueFrom(s.Env.Get(EnvQueueURL), s.Env.Get(EnvQueuePattern), u)
	if err != nil {
		return nil, err
	}
	clusterDir := s.Env.Get(EnvClusterDir)
	if clusterDir == "" {
		clusterDir = s.Paths.State("postgres")
	} else if !filepath.IsAbs(clusterDir) {
		clusterDir = s.Paths.Abs(clusterDir)
	}
	return &Config{
		URL:           u,
		Queue:         queue,
		QueuePattern:  pattern,
		TaskerEnv:     s.Env.Get("TASKER_ENV"),
		Allow:         env.Bool(s.Env, "TASKER_ALLOW_DESTRUCTIVE"),
		MigrationsDir: dir,
		Layout:        s.Env.Get(EnvMigrationsLayout),
		Cluster:       &cluster.Cluster{Dir: clusterDir, PathEnv: s.PATH(), Run: s.Run, Role: u.User()},
		LockTimeout:   lt,
		Root:          s.Paths.Root,
		DryRun:        s.Run.DryRun(),
		Log:           s.Run,
		Out:           s.Run.Stdout(),
	}, nil
}

// duration parses "30s", "2m" or plain seconds.
func duration(v string, def time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fail.New(fail.Config, "%s=%q is not a duration; use e.g. 30s or 2m", EnvLockTimeout, v)
	}
	return d, nil
}

func (c *Config) out() io.Writer {
	if c.Out != nil {
		return c.Out
	}
	return os.Stdout
}

func (c *Config) infof(format string, a ...any) {
	if c.Log != nil {
		c.Log.Infof(format, a...)
	}
}

func (c *Config) warnf(format string, a ...any) {
	if c.Log != nil {
		c.Log.Warnf(format, a...)
	}
}

func (c *Config) lockTimeout() time.Duration {
	if c.LockTimeout > 0 {
		return c.LockTimeout
	}
	return 30 * time.Second
}

func (c *Config) connectTimeout() time.Duration {
	if c.ConnectTimeout > 0 {
		return c.ConnectTimeout
	}
	return 3 * time.Second
}

// show makes a path relative to the repository root for messages.
func (c *Config) show(p string) string {
	if c.Root != "" {
		if rel, err := filepath.Rel(c.Root, p); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return p
}

// migrations loads the migrations directory, warning once about ignored
// files. A directory with no migration is a configuration error: there is
// nothing to apply, and nothing is created.
func (c *Config) migrations() (*source.Dir, error) {
	layout, err := source.Detect(c.MigrationsDir, c.Layout)
	if err != nil {
		return nil, err
	}
	d, err := source.Load(c.MigrationsDir, layout)
	if err != nil {
		return nil, err
	}
	warned := &c.warned
	if c.whole != nil { // the parts of a split share one directory: told once
		warned = &c.whole.warned
	}
	if !*warned {
		*warned = true
		for _, n := range d.Ignored {
			c.warnf("%s is ignored: its name matches no %s migration pattern", c.show(d.File(n)), layout)
		}
	}
	if c.part != "" && len(d.Migrations) > 0 {
		return c.ours(d)
	}
	if len(d.Migrations) == 0 {
		ignored := ""
		if len(d.Ignored) > 0 {
			ignored = fmt.Sprintf(" (%d .sql file(s) match no %s migration name, e.g. %s: %s)", len(d.Ignored), layout, source.Example(layout), strings.Join(d.Ignored, ", "))
		}
		return nil, fail.New(fail.Config, "there are no migrations in %s%s; add one with `mage db:new <name>` and run `mage db:migrate`, or set %s", c.show(d.Path), ignored, EnvMigrationsDir)
	}
	return d, nil
}

// applier is what both layouts offer.
type applier interface {
	Up(ctx context.Context) ([]source.Migration, error)
	Rollback(ctx context.Context) (from, to int64, err error)
	Force(ctx context.Context, v int64) error
	Status(ctx context.Context, conn *pgx.Conn) (source.Status, error)
	DirtyAdvice(st source.Status) string // what to do, with the commands, when st.Dirty
}

func (c *Config) migrator(u pgurl.URL) (applier, *source.Dir, error) {
	d, err := c.migrations()
	if err != nil {
		return nil, nil, err
	}
	cmd := func(t string) string { return "mage " + t }
	opts := migrator.Options{URL: u, Dir: d, LockTimeout: c.LockTimeout, Logf: c.infof, Warnf: c.warnf, Show: c.show, Cmd: cmd}
	if strings.HasPrefix(u.Database(), template.Prefix) {
		opts.Warnf = nil // a template is cloned, never migrated by other tools
	}
	if d.Layout == source.SQLx {
		return &sqlxmig.Migrator{Options: opts}, d, nil
	}
	return &gomigrate.Migrator{Options: opts}, d, nil
}

func dryRunf(w io.Writer, format string, a ...any) error {
	fmt.Fprintf(w, "[dry-run] "+format+"\n", a...)
	return nil
}
