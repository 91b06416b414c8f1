package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/guard"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/source"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/template"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// Split databases, as tasker-core runs them: when PGMQ_DATABASE_URL names
// another database than DATABASE_URL, the migrations whose file name
// matches TASKER_PGMQ_MIGRATIONS_PATTERN (default "pgmq") go to that queue
// database and the others to the main one, each database with its own
// history table and lock. Every target then acts on both, one after the
// other (main first), as two Configs (parts) whose lines start with
// "[main] " or "[queue] ". Unset, or naming DATABASE_URL's database: one
// database, as before.

// queueFrom reads PGMQ_DATABASE_URL and the pattern: nil when the queue
// shares main's database.
func queueFrom(raw, pattern string, main pgurl.URL) (*pgurl.URL, *regexp.Regexp, error) {
	if pattern == "" {
		pattern = DefaultQueuePattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, nil, fail.New(fail.Config, "%s=%q is not a regular expression: %v", EnvQueuePattern, pattern, err)
	}
	if raw == "" {
		return nil, re, nil
	}
	q, err := pgurl.ParseVar(EnvQueueURL, raw)
	if err != nil {
		return nil, nil, err
	}
	if q.Addr() == main.Addr() { // the same database: tasker-core's single mode too
		return nil, re, nil
	}
	return &q, re, nil
}

var defaultPattern = regexp.MustCompile(DefaultQueuePattern)

func (c *Config) pattern() *regexp.Regexp {
	if c.QueuePattern != nil {
		return c.QueuePattern
	}
	return defaultPattern
}

// ours keeps the part's migrations of d: the queue's those whose name
// matches the pattern, main's the others. A part left with none is a
// configuration error: the split would be a mistake.
func (c *Config) ours(d *source.Dir) (*source.Dir, error) {
	mine := *d
	mine.Migrations = nil
	for _, m := range d.Migrations {
		if c.pattern().MatchString(m.Name) == (c.part == "queue") {
			mine.Migrations = append(mine.Migrations, m)
		}
	}
	if len(mine.Migrations) > 0 {
		return &mine, nil
	}
	if c.part == "queue" {
		return nil, fail.New(fail.Config, "%s gives the queue its own database, but no migration in %s matches %s=%s; rename the queue's migrations, set the pattern, or unset %s",
			EnvQueueURL, c.show(d.Path), EnvQueuePattern, c.pattern(), EnvQueueURL)
	}
	return nil, fail.New(fail.Config, "every migration in %s matches %s=%s, so all would go to the queue database (%s) and none to DATABASE_URL's; set the pattern, or unset %s",
		c.show(d.Path), EnvQueuePattern, c.pattern(), EnvQueueURL, EnvQueueURL)
}

// Split reports whether the queue has its own database.
func (c *Config) Split() bool { return c.Queue != nil && c.part == "" }

// parts are the databases the targets act on: c itself, or, split, main's
// and the queue's, made from c as it is now.
func (c *Config) parts() []*Config {
	if !c.Split() {
		return []*Config{c}
	}
	main, queue := *c, *c
	main.whole, queue.whole = c, c
	main.part, queue.part = "main", "queue"
	queue.URL = *c.Queue
	if !c.servesQueue() {
		queue.Cluster = nil // never started for it
	}
	for _, p := range []*Config{&main, &queue} {
		prefix := "[" + p.part + "] "
		if c.Log != nil {
			p.Log = prefixed{c.Log, prefix}
		}
		p.Out = &prefixWriter{w: c.out(), prefix: prefix}
	}
	return []*Config{&main, &queue}
}

// servesQueue reports whether the local cluster serving DATABASE_URL
// serves PGMQ_DATABASE_URL too.
func (c *Config) servesQueue() bool { return c.Queue != nil && sameLocalServer(c.URL, *c.Queue) }

// sameLocalServer reports whether a and b are both local and at the same
// port (the local cluster serves both).
func sameLocalServer(a, b pgurl.URL) bool {
	return a.Local() && b.Local() && a.Port() == b.Port() && a.Socket() == b.Socket()
}

// each runs fn on every part, stopping at the first error.
func (c *Config) each(fn func(p *Config) error) error {
	for _, p := range c.parts() {
		if err := fn(p); err != nil {
			return p.tag(err)
		}
	}
	return nil
}

// eachReport runs fn on every part, also after an error (a report on one
// database does not hide the other's), and returns the first error; the
// others are printed.
func (c *Config) eachReport(fn func(p *Config) error) error {
	var first error
	for _, p := range c.parts() {
		err := fn(p)
		switch {
		case err == nil:
		case first == nil:
			first = p.tag(err)
		default:
			p.warnf("%v", err)
		}
	}
	return first
}

// tag starts a split part's error with the part's name.
func (c *Config) tag(err error) error {
	if c.part == "" || err == nil {
		return err
	}
	return &partError{part: c.part, err: err}
}

// partError is an error about one database of a split Config.
type partError struct {
	part string
	err  error
}

func (e *partError) Error() string   { return "[" + e.part + "] " + e.err.Error() }
func (e *partError) Unwrap() error   { return e.err }
func (e *partError) ExitStatus() int { return fail.Code(e.err) }

// guardAll applies the destructive-operation rules to every part before
// any is changed, so a refusal for one leaves both as they were.
func (c *Config) guardAll(op string) error {
	if !c.Split() {
		return nil // the operation guards its one database itself
	}
	for _, p := range c.parts() {
		if _, err := guard.Check(guard.Request{Op: op, URL: p.Effective(), TaskerEnv: c.TaskerEnv, Allow: c.Allow}); err != nil {
			return err
		}
	}
	return nil
}

// prefixed is a Logger whose lines start with prefix.
type prefixed struct {
	Logger
	prefix string
}

func (l prefixed) Infof(format string, a ...any) {
	l.Logger.Infof("%s", l.prefix+fmt.Sprintf(format, a...))
}
func (l prefixed) Warnf(format string, a ...any) {
	l.Logger.Warnf("%s", l.prefix+fmt.Sprintf(format, a...))
}

// prefixWriter starts every line written through it with prefix.
type prefixWriter struct {
	w      io.Writer
	prefix string
	mid    bool // inside a line
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !p.mid {
			out.WriteString(p.prefix)
		}
		out.Write(line)
		p.mid = line[len(line)-1] != '\n'
	}
	if _, err := p.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// The targets. Each acts on DATABASE_URL's database, and, split, on the
// queue's too.

// Check connects with a short timeout and prints the server version, the
// database, the migration version and the pending count. It starts nothing.
func (c *Config) Check(ctx context.Context) error {
	return c.eachReport(func(p *Config) error { return p.checkOne(ctx) })
}

// Status lists applied and pending migrations, the dirty flag and drift.
// It only reads: a missing server or database is reported with the target
// that makes it.
func (c *Config) Status(ctx context.Context) error {
	return c.eachReport(func(p *Config) error { return p.statusOne(ctx) })
}

// Create creates the databases that are missing and returns DATABASE_URL's.
func (c *Config) Create(ctx context.Context) (pgurl.URL, error) {
	main, _, err := c.eachURL(func(p *Config) (pgurl.URL, error) { return p.createOne(ctx) })
	return main, err
}

// eachURL runs fn on every part (each), keeping the URL each returns:
// main's, and the queue's when split.
func (c *Config) eachURL(fn func(p *Config) (pgurl.URL, error)) (main pgurl.URL, queue *pgurl.URL, err error) {
	main = c.URL
	err = c.each(func(p *Config) error {
		u, err := fn(p)
		if p.part == "queue" {
			queue = &u
		} else {
			main = u
		}
		return err
	})
	return main, queue, err
}

// Drop drops the databases (WITH (FORCE): open connections end).
func (c *Config) Drop(ctx context.Context) error {
	if err := c.guardAll("drop"); err != nil {
		return err
	}
	return c.each(func(p *Config) error { return p.dropOne(ctx) })
}

// Reset drops the databases (ending open connections), creates and
// migrates them: never a silent no-op. It returns DATABASE_URL's.
func (c *Config) Reset(ctx context.Context) (pgurl.URL, error) {
	if err := c.guardAll("reset"); err != nil {
		return c.URL, err
	}
	if c.Split() { // both parts' migrations, before anything is dropped
		if err := c.checkParts(); err != nil {
			return c.URL, err
		}
	}
	main, _, err := c.eachURL(func(p *Config) (pgurl.URL, error) { return p.resetOne(ctx) })
	return main, err
}

// Migrate applies pending migrations, creating a missing local database.
func (c *Config) Migrate(ctx context.Context) error {
	if c.Split() && !c.DryRun {
		if err := c.checkParts(); err != nil {
			return err
		}
	}
	return c.each(func(p *Config) error { return p.migrateOne(ctx) })
}

// checkParts loads every part's migrations, so that a split with nothing
// for one database stops before anything is created.
func (c *Config) checkParts() error {
	for _, p := range c.parts() {
		if _, err := p.migrations(); err != nil {
			return err
		}
	}
	return nil
}

// URLs are the databases a run uses: Database (DATABASE_URL's) and, split,
// Queue (PGMQ_DATABASE_URL's; "" when the queue shares Database). They
// carry the password: export them to children, never print them.
type URLs struct {
	Database, Queue string
}

// QueueURL is the queue's database: Queue, or Database when it shares it.
func (u URLs) QueueURL() string {
	if u.Queue != "" {
		return u.Queue
	}
	return u.Database
}

// Env is what children get: DATABASE_URL and PGMQ_DATABASE_URL (equal to
// DATABASE_URL when the queue shares it, which tasker-core reads as one
// database).
func (u URLs) Env() []string {
	return []string{"DATABASE_URL=" + u.Database, EnvQueueURL + "=" + u.QueueURL()}
}

// ensure makes every database reachable, existing and fully migrated,
// starting the local cluster if needed; queue is nil unless split.
func (c *Config) ensure(ctx context.Context) (main pgurl.URL, queue *pgurl.URL, err error) {
	if err := c.checkParts(); err != nil {
		return c.URL, nil, err
	}
	return c.eachURL(func(p *Config) (pgurl.URL, error) { return p.ensureOne(ctx) })
}

// Ensure returns the URL of a reachable, existing, fully migrated database
// (DATABASE_URL's; split, the queue's is made ready too): it starts the
// local cluster for a local DATABASE_URL with nothing listening, creates
// the database and applies pending migrations.
func (c *Config) Ensure(ctx context.Context) (pgurl.URL, error) {
	main, _, err := c.ensure(ctx)
	return main, err
}

// Setup makes the databases usable: starts the local cluster if needed,
// creates the databases and migrates them. It returns DATABASE_URL's.
func (c *Config) Setup(ctx context.Context) (pgurl.URL, error) {
	main, _, err := c.setup(ctx)
	return main, err
}

// SetupAll is Setup returning every database's URL.
func (c *Config) SetupAll(ctx context.Context) (URLs, error) {
	main, queue, err := c.setup(ctx)
	urls := URLs{Database: main.String()}
	if queue != nil {
		urls.Queue = queue.String()
	}
	return urls, err
}

func (c *Config) setup(ctx context.Context) (main pgurl.URL, queue *pgurl.URL, err error) {
	if c.DryRun {
		return c.URL, nil, c.each(func(p *Config) error {
			return dryRunf(p.out(), "would start PostgreSQL if needed, create and migrate %s", p.URL.Addr())
		})
	}
	if main, queue, err = c.ensure(ctx); err != nil {
		return main, queue, err
	}
	parts := c.parts()
	parts[0].infof("database ready: %s", main.Redacted())
	if queue != nil {
		parts[1].infof("database ready: %s", queue.Redacted())
	}
	return main, queue, nil
}

// Rollback reverts the latest migration (refused without a down file).
// Split, that is the latest applied in either database: the one a single
// database would revert.
func (c *Config) Rollback(ctx context.Context) error {
	if !c.Split() {
		return c.rollbackOne(ctx)
	}
	var latest *Config
	top := int64(-1)
	for _, p := range c.parts() {
		v, err := p.appliedVersion(ctx)
		if err != nil {
			return err
		}
		if v > top {
			latest, top = p, v
		}
	}
	if latest == nil {
		return fail.New(fail.Failed, "nothing to roll back: no migration is applied to %s or %s", c.URL.Addr(), c.Queue.Addr())
	}
	return latest.rollbackOne(ctx)
}

// appliedVersion is the part's latest applied version (-1 for none); a
// missing database has none.
func (c *Config) appliedVersion(ctx context.Context) (int64, error) {
	u := c.Effective()
	conn, err := pg.Connect(ctx, u, c.connectTimeout())
	if pg.Classify(err) == pg.NoDatabase {
		return -1, nil
	}
	if err != nil {
		return 0, c.unreachable(u, err)
	}
	defer conn.Close(ctx)
	st, _, _, err := c.status(ctx, u, conn)
	return st.Version, err
}

// Force records version (clean) without running anything, to recover from
// a failed migration. Split, it acts on the database whose migration
// version is; "none" empties both version tables.
func (c *Config) Force(ctx context.Context, version string) error {
	v, err := ParseVersion(version)
	if err != nil {
		return err
	}
	if !c.Split() {
		return c.forceOne(ctx, v)
	}
	if v < 0 {
		if err := c.guardAll("force the migration version of"); err != nil {
			return err
		}
		return c.each(func(p *Config) error { return p.forceOne(ctx, v) })
	}
	for _, p := range c.parts() {
		d, err := p.migrations()
		if err != nil {
			return err
		}
		if _, ok := d.Find(v); ok {
			return p.forceOne(ctx, v)
		}
	}
	return c.parts()[0].forceOne(ctx, v) // says the version is not there
}

// Template builds the template database for the current migrations if it
// is missing (dropping stale ones) on the server, started if needed; split,
// the queue database gets its own template. It returns DATABASE_URL's.
func (c *Config) Template(ctx context.Context) (TemplateInfo, error) {
	infos, err := c.Templates(ctx)
	if len(infos) == 0 {
		return TemplateInfo{}, err
	}
	return infos[0], err
}

// Templates is Template returning every database's template, main's first.
func (c *Config) Templates(ctx context.Context) ([]TemplateInfo, error) {
	names, err := c.templateNames()
	if err != nil {
		return nil, err
	}
	var infos []TemplateInfo
	err = c.each(func(p *Config) error {
		info, err := p.templateOne(ctx, names)
		info.Part = p.part
		infos = append(infos, info)
		return err
	})
	return infos, err
}

// templateNames are the current templates of every part: none is stale
// for another part's build.
func (c *Config) templateNames() ([]string, error) {
	var names []string
	for _, p := range c.parts() {
		d, err := p.migrations()
		if err != nil {
			return nil, err
		}
		h, err := d.Hash()
		if err != nil {
			return nil, err
		}
		names = append(names, template.Name(h))
	}
	return names, nil
}

// QueueCloneSuffix ends the name of a queue database's clone.
const QueueCloneSuffix = "_pgmq"

// Clone creates database name from the template (built if needed) and
// returns its URL (password included: pass it to children, never print it).
// Split, the queue database gets a clone too (Clones).
func (c *Config) Clone(ctx context.Context, name string) (pgurl.URL, error) {
	main, _, err := c.Clones(ctx, name)
	return main, err
}

// Clones creates name from main's template and, split, name+"_pgmq" from
// the queue's; queue is nil when the queue shares main's database. A
// failure drops the clones it made.
func (c *Config) Clones(ctx context.Context, name string) (main pgurl.URL, queue *pgurl.URL, err error) {
	if err := c.checkCloneName(name); err != nil {
		return main, nil, err
	}
	names, err := c.templateNames()
	if err != nil {
		return main, nil, err
	}
	for _, p := range c.parts() {
		if p.part == "queue" {
			u, err := p.cloneOne(ctx, name+QueueCloneSuffix, names)
			if err != nil {
				_ = c.DropClone(context.WithoutCancel(ctx), name)
				return main, nil, err
			}
			queue = &u
			continue
		}
		if main, err = p.cloneOne(ctx, name, names); err != nil {
			return main, nil, err
		}
	}
	return main, queue, nil
}

// checkCloneName refuses a clone name that is, or (split) whose queue
// clone would be, one of the configured databases.
func (c *Config) checkCloneName(name string) error {
	for _, p := range c.parts() {
		for _, n := range []string{name, name + QueueCloneSuffix} {
			if n == p.URL.Database() && (n == name || c.Split()) {
				return fail.New(fail.Config, "clone name %q would be %s's own database %s; pick another name", name, p.URL.Variable(), n)
			}
		}
	}
	return nil
}

// DropClone drops the databases made by Clone (no error if they are gone).
func (c *Config) DropClone(ctx context.Context, name string) error {
	if err := c.checkCloneName(name); err != nil {
		return err
	}
	var errs []error
	for _, p := range c.parts() {
		n := name
		if p.part == "queue" {
			n += QueueCloneSuffix
		}
		errs = append(errs, p.dropCloneOne(ctx, n))
	}
	return errors.Join(errs...)
}
