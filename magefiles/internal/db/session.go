package db

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
)

// The functions below are what magefiles/db.go and other targets call.

func with(s *session.S, fn func(c *Config) error) error {
	c, err := FromSession(s)
	if err != nil {
		return err
	}
	return fn(c)
}

// Ensure returns the URL of a reachable, existing, migrated database,
// starting the local cluster for a local DATABASE_URL if nothing answers.
// The URL carries the password: export it to children, never print it.
func Ensure(ctx context.Context, s *session.S) (url string, err error) {
	err = with(s, func(c *Config) error {
		u, err := c.Ensure(ctx)
		url = u.String()
		return err
	})
	return url, err
}

// Clone creates database name from the template of the current migrations
// (built once, reused while the migrations are unchanged) and returns its
// URL, password included.
func Clone(ctx context.Context, s *session.S, name string) (url string, err error) {
	err = with(s, func(c *Config) error {
		u, err := c.Clone(ctx, name)
		if err == nil {
			url = u.String()
		}
		return err
	})
	return url, err
}

// DropClone drops a database made by Clone.
func DropClone(ctx context.Context, s *session.S, name string) error {
	return with(s, func(c *Config) error { return c.DropClone(ctx, name) })
}

// EnsureTemplate builds the template database if needed and returns its name.
func EnsureTemplate(ctx context.Context, s *session.S) (name string, err error) {
	err = with(s, func(c *Config) error {
		info, err := c.Template(ctx)
		name = info.Name
		return err
	})
	return name, err
}

// Check is db:check.
func Check(ctx context.Context, s *session.S) error {
	return with(s, func(c *Config) error { return c.Check(ctx) })
}

// Create is db:create.
func Create(ctx context.Context, s *session.S) error {
	return with(s, func(c *Config) error { _, err := c.Create(ctx); return err })
}

// Drop is db:drop.
func Drop(ctx context.Context, s *session.S) error {
	return with(s, func(c *Config) error { return c.Drop(ctx) })
}

// Reset is db:reset.
func Reset(ctx context.Context, s *session.S) error {
	return with(s, func(c *Config) error { _, err := c.Reset(ctx); return err })
}

// Migrate is db:migrate.
func Migrate(ctx context.Context, s *session.S) error {
	return with(s, func(c *Config) error { return c.Migrate(ctx) })
}

// Rollback is db:rollback.
func Rollback(ctx context.Context, s *session.S) error {
	return with(s, func(c *Config) error { return c.Rollback(ctx) })
}

// Status is db:status.
func Status(ctx context.Context, s *session.S) error {
	return with(s, func(c *Config) error { return c.Status(ctx) })
}

// Force is db:force <version>.
func Force(ctx context.Context, s *session.S, version string) error {
	return with(s, func(c *Config) error { return c.Force(ctx, version) })
}

// New is db:new <name>.
func New(_ context.Context, s *session.S, name string) error {
	return with(s, func(c *Config) error { return c.New(name) })
}

// InstallServer is the setup step that installs the PostgreSQL server
// where it is missing: the local cluster runs initdb, pg_ctl and postgres.
func InstallServer(s *session.S) run.Step {
	return run.Step{Name: "db:install", Do: func(ctx context.Context, r *run.Runner) error {
		return s.Install(ctx, r, "", toolchain.InArea("db")...)
	}}
}

// Setup is db:setup.
func Setup(ctx context.Context, s *session.S) error {
	_, err := Ready(ctx, s)
	return err
}

// SetupStep is db:setup as a step of a larger plan: it starts the local
// cluster when DATABASE_URL is local and nothing answers, then creates and
// migrates the database. The URL it left ready (with the port the cluster
// really listens on) goes into *url unless url is nil.
func SetupStep(s *session.S, url *string) run.Step {
	return run.Step{Name: "db:setup", Do: func(ctx context.Context, r *run.Runner) error {
		ready, err := Ready(ctx, s.On(r))
		if url != nil {
			*url = ready
		}
		return err
	}}
}

// SetupAllStep is SetupStep leaving every database's URL in *urls (split:
// the queue's too), for children that need both (urls.Env()).
func SetupAllStep(s *session.S, urls *URLs) run.Step {
	return run.Step{Name: "db:setup", Do: func(ctx context.Context, r *run.Runner) error {
		return with(s.On(r), func(c *Config) error {
			ready, err := c.SetupAll(ctx)
			*urls = ready
			return err
		})
	}}
}

// Ready is db:setup returning the URL it left ready: the port the local
// cluster really listens on (not DATABASE_URL's when that was taken). The
// URL carries the password: export it to children, never print it.
func Ready(ctx context.Context, s *session.S) (url string, err error) {
	err = with(s, func(c *Config) error {
		u, err := c.Setup(ctx)
		url = u.String()
		return err
	})
	return url, err
}

// Up is db:up.
func Up(ctx context.Context, s *session.S) error {
	return with(s, func(c *Config) error { _, err := c.Up(ctx); return err })
}

// Down is db:down.
func Down(ctx context.Context, s *session.S) error {
	return with(s, func(c *Config) error { return c.Down(ctx) })
}

// Destroy is db:destroy.
func Destroy(ctx context.Context, s *session.S) error {
	return with(s, func(c *Config) error { return c.Destroy(ctx) })
}

// Template is db:template: it prints the template's name and hash (split:
// each database's).
func Template(ctx context.Context, s *session.S) error {
	return with(s, func(c *Config) error {
		infos, err := c.Templates(ctx)
		if err != nil {
			return err
		}
		for _, info := range infos {
			verb := "up to date"
			if info.Built {
				verb = "built"
			}
			part := ""
			if info.Part != "" {
				part = "[" + info.Part + "] "
			}
			fmt.Fprintf(c.out(), "%s%s (%s; migrations hash %s)\n", part, info.Name, verb, info.Hash)
		}
		return nil
	})
}

// WithClone runs fn against a fresh clone of the migrated template, named
// tasker_test_<area>_<pid>, and drops the clone afterwards (also when fn
// fails or is cancelled). Test targets use it to give each runner its own
// database. With split databases the queue database is cloned too: give
// children ChildEnv(url), which names both clones.
func WithClone(ctx context.Context, s *session.S, area string, fn func(url string) error) error {
	return WithClones(ctx, s, area, func(urls URLs) error { return fn(urls.Database) })
}

// clones maps the URL of each live main clone to every database cloned
// with it, for ChildEnv.
var clones sync.Map

// ChildEnv is the environment of a child given databaseURL: DATABASE_URL,
// and PGMQ_DATABASE_URL naming the queue database's clone made with it
// (WithClone, split databases) or else databaseURL itself. A child must
// never get a clone with the configured PGMQ_DATABASE_URL: the queue
// would be another run's (split) or the main database itself, not the
// clone (one database).
func ChildEnv(databaseURL string) []string {
	urls := URLs{Database: databaseURL}
	if made, ok := clones.Load(databaseURL); ok {
		urls = made.(URLs)
	}
	// DATABASE_URL last, so printed commands read "DATABASE_URL=… cargo …"
	return []string{EnvQueueURL + "=" + urls.QueueURL(), "DATABASE_URL=" + urls.Database}
}

// WithClones is WithClone for every database: urls.Database is the clone
// of DATABASE_URL's template and, with split databases, urls.Queue the
// clone (tasker_test_<area>_<pid>_pgmq) of the queue database's; give
// children urls.Env().
func WithClones(ctx context.Context, s *session.S, area string, fn func(urls URLs) error) error {
	name := fmt.Sprintf("tasker_test_%s_%d", area, os.Getpid())
	var urls URLs
	err := with(s, func(c *Config) error {
		main, queue, err := c.Clones(ctx, name)
		if err != nil {
			return err
		}
		urls.Database = main.String()
		if queue != nil {
			urls.Queue = queue.String()
		}
		return nil
	})
	if err != nil {
		return err
	}
	clones.Store(urls.Database, urls)
	defer func() {
		clones.Delete(urls.Database)
		// A cancelled ctx must not leave the clones behind.
		if derr := DropClone(context.WithoutCancel(ctx), s, name); derr != nil {
			s.Run.Warnf("could not drop test database %s: %v", name, derr)
		}
	}()
	return fn(urls)
}
