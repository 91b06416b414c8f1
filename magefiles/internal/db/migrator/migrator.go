// Package migrator holds what the golang-migrate and sqlx migrators share:
// the database and directory they work on, how long they wait for the
// migration lock, and how they report progress and fixes.
package migrator

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/source"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/sqlscan"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// Options configure a migrator. The zero values of the funcs are quiet,
// show paths as they are and spell targets "mage <target>".
type Options struct {
	URL         pgurl.URL
	Dir         *source.Dir
	LockTimeout time.Duration                 // default 30s
	Logf        func(format string, a ...any) // progress lines; nil = quiet
	Warnf       func(format string, a ...any) // warnings; nil = quiet
	Show        func(path string) string      // how file paths appear in messages
	Cmd         func(target string) string    // how a target is spelled in fixes
}

// Log prints a progress line when Logf is set.
func (o Options) Log(format string, a ...any) {
	if o.Logf != nil {
		o.Logf(format, a...)
	}
}

// Warn prints each line as a warning when Warnf is set.
func (o Options) Warn(lines []string) {
	if o.Warnf != nil {
		for _, l := range lines {
			o.Warnf("%s", l)
		}
	}
}

// File is how the migration file name appears in messages.
func (o Options) File(name string) string {
	if o.Show != nil {
		return o.Show(o.Dir.File(name))
	}
	return o.Dir.File(name)
}

// Command spells a target for a fix, e.g. "mage db:force 3".
func (o Options) Command(target string) string {
	if o.Cmd != nil {
		return o.Cmd(target)
	}
	return "mage " + target
}

// CheckFiles reads the files about to run and reports, before any of them
// runs, the statements they cannot contain (their own COMMIT, statements
// PostgreSQL refuses in a transaction block): exit 5, one line each, with
// the file, the line and the fix.
func (o Options) CheckFiles(names ...string) error {
	var problems []string
	for _, n := range names {
		body, err := o.Dir.Read(n)
		if err != nil {
			return err
		}
		for _, p := range sqlscan.Check(string(body), source.NoTransaction(body)) {
			problems = append(problems, fmt.Sprintf("%s:%d: %s", o.File(n), p.Line, p.Fix))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fail.New(fail.Config, "%s", strings.Join(problems, "\n"))
}

// CheckExtensions finds the extensions the files about to run create
// (CREATE EXTENSION outside function bodies) and, before any of them
// runs, stops with exit 3 when the server conn is connected to cannot
// create one: one line each with the file, the line and how to get it.
// Without it the run failed half-way with a SQL error and "correct the
// file".
func (o Options) CheckExtensions(ctx context.Context, conn *pgx.Conn, names ...string) error {
	type use struct {
		file string
		line int
	}
	first := map[string]use{}
	var wanted []string
	for _, n := range names {
		body, err := o.Dir.Read(n)
		if err != nil {
			return err
		}
		for _, e := range sqlscan.Extensions(string(body)) {
			if _, seen := first[e.Name]; !seen {
				first[e.Name] = use{n, e.Line}
				wanted = append(wanted, e.Name)
			}
		}
	}
	missing, major, err := pg.MissingExtensions(ctx, conn, wanted)
	if err != nil || len(missing) == 0 {
		return o.URL.ScrubErr(err)
	}
	var lines []string
	for _, ext := range missing {
		u := first[ext]
		lines = append(lines, fmt.Sprintf("%s:%d creates the extension %s, which PostgreSQL %d at %s does not have; %s",
			o.File(u.file), u.line, ext, major, o.URL.Server(), pg.InstallHint(ext, major)))
	}
	return fail.New(fail.MissingTool, "%s\nnothing was applied; run %s once the server has it", strings.Join(lines, "\n"), o.Command("db:migrate"))
}
