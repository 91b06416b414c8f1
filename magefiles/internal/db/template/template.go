// Package template keeps one migrated template database per schema and
// clones per-test databases from it with CREATE DATABASE ... TEMPLATE, which
// costs milliseconds instead of a full migration run.
//
// The template is named tasker_tpl_<12 hex of the migrations hash>, built
// once under an advisory lock (concurrent test runs wait for the first),
// and marked IS_TEMPLATE true ALLOW_CONNECTIONS false (a template with an
// open connection cannot be copied). Templates for other hashes are stale
// and dropped when a new one is built.
package template

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// Prefix starts every template's name.
const Prefix = "tasker_tpl_"

// Name is the template's name for a migrations hash (hex).
func Name(hash string) string {
	if len(hash) > 12 {
		hash = hash[:12]
	}
	return Prefix + strings.ToLower(hash)
}

// Migrate applies the migrations to the database at u.
type Migrate func(ctx context.Context, u pgurl.URL) error

// Options tune Ensure.
type Options struct {
	LockTimeout time.Duration // default 2m (TASKER_DB_LOCK_TIMEOUT from the targets)
	Logf        func(format string, a ...any)
	// Keep names other current templates on the server, not stale ones:
	// with split databases, the other database's.
	Keep []string
}

// Ensure makes sure the template for hash exists on the server of admin (a
// URL whose role may create databases; its database is not used), building
// it with migrate if needed, and drops stale templates. It returns the
// template's name and whether it built it.
func Ensure(ctx context.Context, admin pgurl.URL, hash string, migrate Migrate, o Options) (name string, built bool, err error) {
	name = Name(hash)
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	timeout := o.LockTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	// the lock on every template at once (Prefix): a build drops the
	// templates of other hashes, which another run may be building
	lock, ctx, err := pg.LockDatabase(ctx, admin, Prefix, timeout, func(h pg.Holder) {
		logf("waiting for another run to build the template database (%s)", h)
	})
	if err != nil {
		return name, false, admin.ScrubErr(err)
	}
	defer lock.Release(context.WithoutCancel(ctx))
	conn, err := pg.Connect(ctx, admin.WithDatabase(pg.MaintenanceDB), 10*time.Second)
	if err != nil {
		return name, false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))

	existing, err := list(ctx, conn)
	if err != nil {
		return name, false, admin.ScrubErr(err)
	}
	for db, isTemplate := range existing {
		if isTemplate && (db == name || slices.Contains(o.Keep, db)) {
			continue
		}
		// a stale hash, or ours half-built by a run that died
		if err := pg.DropDatabase(ctx, conn, db); err != nil {
			return name, false, admin.ScrubErr(fmt.Errorf("dropping stale template %s: %w", db, err))
		}
		if db != name {
			logf("dropped stale template %s", db)
		}
	}
	if isTemplate, ok := existing[name]; ok && isTemplate {
		return name, false, nil
	}
	if err := pg.CreateDatabase(ctx, conn, name, admin.User(), "template0", ""); err != nil {
		return name, false, admin.ScrubErr(fmt.Errorf("creating template %s: %w", name, err))
	}
	if err := migrate(ctx, admin.WithDatabase(name)); err != nil {
		_ = pg.DropDatabase(context.WithoutCancel(ctx), conn, name)
		return name, false, err
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pg.Ident(name)+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
		return name, false, admin.ScrubErr(err)
	}
	return name, true, nil
}

// list returns the template databases on the server: name → marked as template.
func list(ctx context.Context, conn *pgx.Conn) (map[string]bool, error) {
	rows, err := conn.Query(ctx, `SELECT datname, datistemplate FROM pg_database WHERE starts_with(datname, $1)`, Prefix)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	var n string
	var t bool
	_, err = pgx.ForEachRow(rows, []any{&n, &t}, func() error { out[n] = t; return nil })
	return out, err
}

var cloneNameRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// CheckName validates a clone name: lower-case letters, digits and '_',
// at most 63 bytes, and never a template or a system database.
func CheckName(name string) error {
	switch {
	case !cloneNameRe.MatchString(name):
		return fail.New(fail.Config, "clone name %q must match [a-z_][a-z0-9_]{0,62}", name)
	case strings.HasPrefix(name, Prefix), name == "postgres", name == "template0", name == "template1":
		return fail.New(fail.Config, "clone name %q is reserved", name)
	}
	return nil
}

// Clone creates database name from template tpl (dropping a leftover of the
// same name first) and returns admin's URL pointing at it. With fsync off
// (the local cluster) it uses STRATEGY FILE_COPY, which is fastest there.
func Clone(ctx context.Context, admin pgurl.URL, tpl, name string) (pgurl.URL, error) {
	if err := CheckName(name); err != nil {
		return pgurl.URL{}, err
	}
	conn, err := pg.Connect(ctx, admin.WithDatabase("postgres"), 10*time.Second)
	if err != nil {
		return pgurl.URL{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	strategy := ""
	var fsync string
	if err := conn.QueryRow(ctx, `SELECT current_setting('fsync')`).Scan(&fsync); err == nil && fsync == "off" {
		strategy = "FILE_COPY"
	}
	err = pg.CreateDatabase(ctx, conn, name, admin.User(), tpl, strategy)
	if err != nil && isDuplicate(err) { // a leftover from a run that died
		if derr := pg.DropDatabase(ctx, conn, name); derr != nil {
			return pgurl.URL{}, admin.ScrubErr(derr)
		}
		err = pg.CreateDatabase(ctx, conn, name, admin.User(), tpl, strategy)
	}
	if err != nil {
		return pgurl.URL{}, admin.ScrubErr(fmt.Errorf("cloning %s from %s: %w", name, tpl, err))
	}
	return admin.WithDatabase(name), nil
}

// DropClone drops a clone (no error if it is gone), ending its connections.
func DropClone(ctx context.Context, admin pgurl.URL, name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	conn, err := pg.Connect(ctx, admin.WithDatabase("postgres"), 10*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return admin.ScrubErr(pg.DropDatabase(ctx, conn, name))
}

func isDuplicate(err error) bool {
	var pe interface{ SQLState() string }
	return errors.As(err, &pe) && pe.SQLState() == "42P04"
}
