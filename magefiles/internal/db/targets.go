package db

import (
	"context"
	"fmt"
	"github.com/jackc/pgx/v5"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/guard"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/migrator"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/source"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/template"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// guard applies the destructive-operation rules to u (database db, or u's)
// and prints the resolved target before anything happens.
func (c *Config) guard(op string, u pgurl.URL, db string) error {
	why, err := guard.Check(guard.Request{Op: op, URL: u, Database: db, TaskerEnv: c.TaskerEnv, Allow: c.Allow})
	if err != nil {
		return err
	}
	if why != "" {
		c.warnf("%s=1 overrides a refusal: %s", guard.Override, why)
	}
	target := u
	if db != "" && db != u.Database() {
		target = u.WithDatabase(db)
	}
	// Addr, not the URL's text: a host parameter overrides the URL's host
	c.infof("about to %s %s as %s (TASKER_ENV=%s)", op, target.Addr(), target.User(), c.TaskerEnv)
	return nil
}

// Check connects with a short timeout and prints the server version, the
// database, the migration version and the pending count. It starts nothing.
func (c *Config) checkOne(ctx context.Context) error {
	c.warnReplaced()
	u := c.Effective()
	conn, err := pg.Connect(ctx, u, c.connectTimeout())
	if err != nil {
		return c.unreachable(u, err)
	}
	defer conn.Close(ctx)
	ver, err := pg.ServerVersion(ctx, conn)
	if err != nil {
		return u.ScrubErr(err)
	}
	st, d, _, err := c.status(ctx, u, conn)
	if err != nil {
		return err
	}
	w := c.out()
	fmt.Fprintf(w, "server     PostgreSQL %s at %s\n", ver, u.Addr())
	fmt.Fprintf(w, "database   %s\n", u.Database())
	fmt.Fprintf(w, "migrations %s (%s layout)\n", describeVersion(st), st.Layout)
	fmt.Fprintf(w, "pending    %d\n", len(st.Pending))
	if st.Dirty {
		return fail.New(fail.Failed, "the database is dirty: a migration failed; `mage db:status` shows which, and the fix")
	}
	return migrator.DriftError(st, u.Addr(), c.show(d.Path), func(n string) string { return c.show(d.File(n)) }, "mage db:reset", "")
}

// status reads the migration state of the database conn is connected to.
func (c *Config) status(ctx context.Context, u pgurl.URL, conn *pgx.Conn) (source.Status, *source.Dir, applier, error) {
	m, d, err := c.migrator(u)
	if err != nil {
		return source.Status{}, nil, nil, err
	}
	st, err := m.Status(ctx, conn)
	for _, w := range st.Warnings {
		c.warnf("%s", u.Scrub(w))
	}
	return st, d, m, u.ScrubErr(err)
}

func describeVersion(st source.Status) string {
	s := "none applied"
	if st.Version >= 0 {
		s = "version " + strconv.FormatInt(st.Version, 10)
	}
	if st.Dirty {
		s += ", DIRTY"
	}
	return s
}

// Create creates DATABASE_URL's database if it is missing.
func (c *Config) createOne(ctx context.Context) (pgurl.URL, error) {
	if c.DryRun {
		return c.URL, dryRunf(c.out(), "would create database %s", c.URL.Addr())
	}
	u, err := c.server(ctx, true)
	if err != nil {
		return u, err
	}
	conn, err := c.maintenance(ctx, u)
	if err != nil {
		return u, err
	}
	defer conn.Close(ctx)
	created, err := c.createDB(ctx, conn, u)
	if err != nil {
		return u, err
	}
	if created {
		c.infof("created database %s", u.Addr())
	} else {
		c.infof("database %s exists", u.Addr())
	}
	return u, nil
}

// Drop drops DATABASE_URL's database (WITH (FORCE): open connections end).
func (c *Config) dropOne(ctx context.Context) error {
	u, proceed, err := c.destructive("drop", "would drop database %s")
	if !proceed {
		return err
	}
	lock, ctx, err := c.lockDatabase(ctx, u)
	if err != nil {
		return err
	}
	defer lock.Release(context.WithoutCancel(ctx))
	conn, err := c.maintenance(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	exists, err := pg.DatabaseExists(ctx, conn, u.Database())
	if err != nil {
		return u.ScrubErr(err)
	}
	if !exists {
		c.infof("database %s does not exist", u.Addr())
		return nil
	}
	if err := c.dropDatabase(ctx, conn, u); err != nil {
		return u.ScrubErr(fail.Wrap(fail.Failed, err, "dropping %s", u.Addr()))
	}
	c.infof("dropped database %s", u.Addr())
	return nil
}

// dropDatabase drops u's database WITH (FORCE), saying how many sessions
// that ended.
func (c *Config) dropDatabase(ctx context.Context, conn *pgx.Conn, u pgurl.URL) error {
	n, err := pg.Sessions(ctx, conn, u.Database())
	if err != nil {
		return err
	}
	if err := pg.DropDatabase(ctx, conn, u.Database()); err != nil {
		return err
	}
	switch {
	case n == 1:
		c.infof("ended 1 open session on %s", u.Addr())
	case n > 1:
		c.infof("ended %d open sessions on %s", n, u.Addr())
	}
	return nil
}

// Reset drops the database (ending open connections), creates it and
// migrates it: never a silent no-op.
func (c *Config) resetOne(ctx context.Context) (pgurl.URL, error) {
	u, proceed, err := c.destructive("reset", "would drop, create and migrate %s")
	if !proceed {
		return u, err
	}
	if _, err := c.migrations(); err != nil { // before anything is dropped
		return u, err
	}
	u, err = c.server(ctx, true)
	if err != nil {
		return u, err
	}
	// the database's one lock: a running migrate (or reset) finishes first;
	// the migrate below runs under it
	lock, ctx, err := c.lockDatabase(ctx, u)
	if err != nil {
		return u, err
	}
	defer lock.Release(context.WithoutCancel(ctx))
	conn, err := c.maintenance(ctx, u)
	if err != nil {
		return u, err
	}
	defer conn.Close(ctx)
	start := time.Now()
	err = c.dropDatabase(ctx, conn, u)
	if err == nil {
		_, err = c.createDB(ctx, conn, u)
	}
	if err != nil {
		return u, u.ScrubErr(err)
	}
	if _, err := c.migrate(ctx, u); err != nil {
		return u, err
	}
	c.infof("reset %s (%s)", u.Addr(), time.Since(start).Round(time.Millisecond))
	return u, nil
}

// lockDatabase takes the lock every change to u's database takes.
func (c *Config) lockDatabase(ctx context.Context, u pgurl.URL) (*pg.Lock, context.Context, error) {
	lock, ctx, err := pg.LockDatabase(ctx, u, u.Database(), c.lockTimeout(), func(h pg.Holder) {
		c.infof("waiting up to %s for the lock on %s, held by %s", c.lockTimeout(), u.Addr(), h)
	})
	return lock, ctx, u.ScrubErr(err)
}

// migrate applies pending migrations to u (whose database exists).
func (c *Config) migrate(ctx context.Context, u pgurl.URL) ([]source.Migration, error) {
	m, d, err := c.migrator(u)
	if err != nil {
		return nil, err
	}
	applied, err := m.Up(ctx)
	if err != nil {
		return applied, err
	}
	if len(applied) == 0 {
		c.infof("%s is up to date (%d migrations in %s)", u.Addr(), len(d.Migrations), c.show(d.Path))
	}
	return applied, nil
}

// Migrate applies pending migrations, creating a missing local database.
func (c *Config) migrateOne(ctx context.Context) error {
	if c.DryRun {
		return dryRunf(c.out(), "would migrate %s from %s", c.URL.Addr(), c.show(c.MigrationsDir))
	}
	if _, err := c.migrations(); err != nil { // before anything is created
		return err
	}
	u, err := c.ready(ctx)
	if err != nil {
		return err
	}
	_, err = c.migrate(ctx, u)
	return err
}

// ready is a reachable server (started if local) with u's database present
// (created if local).
func (c *Config) ready(ctx context.Context) (pgurl.URL, error) {
	u, err := c.server(ctx, true)
	if err != nil {
		return u, err
	}
	if err := c.probe(ctx, u); err == nil {
		return u, nil
	} else if pg.Classify(err) != pg.NoDatabase {
		return u, c.unreachable(u, err)
	} else if !u.Local() {
		return u, c.unreachable(u, err)
	}
	conn, err := c.maintenance(ctx, u)
	if err != nil {
		return u, err
	}
	defer conn.Close(ctx)
	created, err := c.createDB(ctx, conn, u)
	if created {
		c.infof("created database %s", u.Addr())
	}
	return u, err
}

// Ensure returns the URL of a reachable, existing, fully migrated database:
// it starts the local cluster for a local DATABASE_URL with nothing
// listening, creates the database and applies pending migrations.
func (c *Config) ensureOne(ctx context.Context) (pgurl.URL, error) {
	if _, err := c.migrations(); err != nil { // before anything is created
		return c.URL, err
	}
	u, err := c.ready(ctx)
	if err != nil {
		return u, err
	}
	_, err = c.migrate(ctx, u)
	return u, err
}

// Rollback reverts the latest migration (refused without a down file).
func (c *Config) rollbackOne(ctx context.Context) error {
	m, _, err := c.guardedMigrator(ctx, "roll back", "would roll back the latest migration of %s")
	if m == nil {
		return err
	}
	_, _, err = m.Rollback(ctx)
	return err
}

// destructive applies the safety rules to op and, in dry-run mode, prints
// would (formatted with the target's address) instead of proceeding.
func (c *Config) destructive(op, would string) (u pgurl.URL, proceed bool, err error) {
	u = c.Effective()
	if err := c.guard(op, u, ""); err != nil {
		return u, false, err
	}
	if c.DryRun {
		return u, false, dryRunf(c.out(), would, u.Addr())
	}
	return u, true, nil
}

// guardedMigrator is destructive plus a running server and the migrator for
// its layout; a nil applier means stop and return err.
func (c *Config) guardedMigrator(ctx context.Context, op, would string) (applier, pgurl.URL, error) {
	u, proceed, err := c.destructive(op, would)
	if !proceed {
		return nil, u, err
	}
	if u, err = c.server(ctx, true); err != nil {
		return nil, u, err
	}
	m, _, err := c.migrator(u)
	if err != nil {
		return nil, u, err
	}
	return m, u, nil
}

// ParseVersion reads db:force's argument: a version, or -1/none for "no
// migration applied".
func ParseVersion(s string) (int64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "-1", "none", "nil":
		return -1, nil
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || v < 0 {
		return 0, fail.New(fail.Config, "db:force takes a migration version (e.g. 2 or 20250810140001) or none; got %q", s)
	}
	return v, nil
}

// forceOne records version v (clean) without running anything, to recover
// from a failed migration.
func (c *Config) forceOne(ctx context.Context, v int64) error {
	m, u, err := c.guardedMigrator(ctx, "force the migration version of", "would set the migration version of %s to "+strconv.FormatInt(v, 10))
	if m == nil {
		return err
	}
	if err := m.Force(ctx, v); err != nil {
		return err
	}
	at := "no version (empty version table)"
	if v >= 0 {
		at = fmt.Sprintf("version %d (clean)", v)
	}
	c.infof("%s is now at %s; run `mage db:migrate` to apply the rest", u.Addr(), at)
	return nil
}

// Status lists applied and pending migrations, the dirty flag and drift.
// It only reads: a missing server or database is reported with the target
// that makes it.
func (c *Config) statusOne(ctx context.Context) error {
	c.warnReplaced()
	u := c.Effective()
	conn, err := pg.Connect(ctx, u, c.connectTimeout())
	if err != nil {
		return c.unreachable(u, err)
	}
	defer conn.Close(ctx)
	st, d, m, err := c.status(ctx, u, conn)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(c.out(), 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "%s: %s, %d pending (%s, %s layout)\n", u.Addr(), describeVersion(st), len(st.Pending), c.show(d.Path), st.Layout)
	// one list in version order: applied (changed or not), missing, pending
	type row struct {
		v    int64
		text string
	}
	var rows []row
	drift := map[int64]bool{}
	for _, x := range st.Drift {
		drift[x.Version] = true
	}
	for _, x := range st.Applied {
		state := "applied"
		if drift[x.Version] {
			state = "applied, CHANGED since"
		}
		rows = append(rows, row{x.Version, fmt.Sprintf("  %d\t%s\t%s\t%s\n", x.Version, x.Name, state, downNote(x))})
	}
	for _, r := range st.Missing {
		rows = append(rows, row{r.Version, fmt.Sprintf("  %d\t(no file)\tapplied, file missing\t%s\n", r.Version, r.Description)})
	}
	for _, x := range st.Pending {
		state := "pending"
		if st.Dirty && x.Version == st.Version {
			state = "FAILED (dirty)"
		}
		rows = append(rows, row{x.Version, fmt.Sprintf("  %d\t%s\t%s\t%s\n", x.Version, x.Name, state, downNote(x))})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].v < rows[j].v })
	for _, r := range rows {
		fmt.Fprint(w, r.text)
	}
	w.Flush()
	if st.Dirty {
		fmt.Fprintln(c.out(), "dirty: "+m.DirtyAdvice(st))
	}
	if migrator.Drifted(st) {
		fmt.Fprintf(c.out(), "drift: %s; fix: %s\n", migrator.DriftSummary(st), migrator.DriftFix(c.show(d.Path), "mage db:reset"))
	}
	return nil
}

func downNote(x source.Migration) string {
	if x.Down == "" {
		return "(no down file)"
	}
	return ""
}

// New writes the next migration file(s) for name.
func (c *Config) New(name string) error {
	layout, err := source.Detect(c.MigrationsDir, c.Layout)
	if err != nil && c.Layout == "" {
		layout, err = source.Migrate, nil // a new directory
	}
	if err != nil {
		return err
	}
	if c.DryRun {
		return dryRunf(c.out(), "would write migration %q in %s", name, c.show(c.MigrationsDir))
	}
	files, err := source.New(c.MigrationsDir, layout, name, time.Now())
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintln(c.out(), c.show(f))
	}
	return nil
}

// TemplateInfo describes the template database for the current migrations.
type TemplateInfo struct {
	Part  string // "", or split: "main" or "queue"
	Name  string // tasker_tpl_<12 hex>
	Hash  string // full SHA-256 of the migrations
	Built bool   // this call built it
	Admin pgurl.URL
}

// templateOne builds the template database for the current migrations if
// it is missing (dropping stale ones, but not those named in keep) on the
// server, started if needed.
func (c *Config) templateOne(ctx context.Context, keep []string) (TemplateInfo, error) {
	var info TemplateInfo
	d, err := c.migrations()
	if err != nil {
		return info, err
	}
	u, err := c.server(ctx, true)
	if err != nil {
		return info, err
	}
	if info.Hash, err = d.Hash(); err != nil {
		return info, err
	}
	info.Admin = u
	info.Name, info.Built, err = template.Ensure(ctx, u, info.Hash, func(ctx context.Context, t pgurl.URL) error {
		_, err := c.migrate(ctx, t)
		return err
	}, template.Options{Logf: c.infof, LockTimeout: c.lockTimeout(), Keep: keep})
	return info, err
}

// cloneOne creates database name from the template (built if needed) and
// returns its URL (password included: pass it to children, never print it).
func (c *Config) cloneOne(ctx context.Context, name string, keep []string) (pgurl.URL, error) {
	if name == c.URL.Database() {
		return pgurl.URL{}, fail.New(fail.Config, "clone name %q is %s's own database; pick another name", name, c.URL.Variable())
	}
	info, err := c.templateOne(ctx, keep)
	if err != nil {
		return pgurl.URL{}, err
	}
	return template.Clone(ctx, info.Admin, info.Name, name)
}

// dropCloneOne drops a database made by cloneOne.
func (c *Config) dropCloneOne(ctx context.Context, name string) error {
	if name == c.URL.Database() {
		return fail.New(fail.Config, "refusing to drop %q as a clone: it is %s's own database", name, c.URL.Variable())
	}
	u := c.Effective()
	if err := template.CheckName(name); err != nil {
		return err
	}
	if _, err := guard.Check(guard.Request{Op: "drop clone", URL: u, Database: name, TaskerEnv: c.TaskerEnv, Allow: c.Allow}); err != nil {
		return err
	}
	return template.DropClone(ctx, u, name)
}
