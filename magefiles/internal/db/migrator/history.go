package migrator

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/source"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// History is where a layout's bookkeeping table lives in one database.
//
// The build system names it schema-qualified everywhere. The plain name is
// a trap: PostgreSQL's default search_path is "$user", public, so once a
// migration creates a schema named like the login role (tasker-core's
// create schema tasker, and tasker is the default role), a new session
// resolves an unqualified CREATE TABLE IF NOT EXISTS _sqlx_migrations to
// that schema: sqlx-cli then finds an empty history and runs every file
// again, and golang-migrate's CLI (which uses current_schema()) does the
// same with schema_migrations.
type History struct {
	Table  string   // unqualified: _sqlx_migrations, schema_migrations
	Schema string   // the schema the build system reads and writes
	Exists bool     // the table is there (else it is created in Schema)
	Copies []string // other schemas with a table of that name, oldest first

	// What a new session of the same login sees, for other tools.
	User       string // the login role
	SearchPath string // its search_path
	Creates    string // where an unqualified CREATE TABLE goes: current_schema() ("" when no schema of the path exists)
}

// Name is the qualified table name, quoted for SQL.
func (h History) Name() string { return h.In(h.Schema) }

// In is the table's qualified name in another schema.
func (h History) In(schema string) string { return pgx.Identifier{schema, h.Table}.Sanitize() }

// FindHistory locates tool's table in conn's database: the copy created
// first (lowest oid) when there are several, else public (or, where the
// role may not create in public, current_schema()). Only tables with
// tool.Marker count, so another framework's table of the same name
// (Rails' schema_migrations) is not taken for the tool's.
//
// It resets conn's search_path first (migrations may SET it), so that
// Creates is what a new session gets.
func FindHistory(ctx context.Context, conn *pgx.Conn, tool Tool) (History, error) {
	h := History{Table: tool.Table}
	if _, err := conn.Exec(ctx, `RESET search_path`); err != nil {
		return h, err
	}
	rows, err := conn.Query(ctx, `
		SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relname = $1 AND c.relkind IN ('r', 'p')
		  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = $2 AND NOT a.attisdropped)
		ORDER BY c.oid`, tool.Table, tool.Marker)
	if err != nil {
		return h, err
	}
	schemas, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return h, err
	}
	if len(schemas) > 0 {
		h.Schema, h.Exists, h.Copies = schemas[0], true, schemas[1:]
	}
	var fallback string
	err = conn.QueryRow(ctx, `
		SELECT current_user, current_setting('search_path'), coalesce(current_schema(), ''),
		       coalesce((SELECT 'public' FROM pg_namespace WHERE nspname = 'public' AND has_schema_privilege(oid, 'CREATE')), current_schema(), 'public')`).
		Scan(&h.User, &h.SearchPath, &h.Creates, &fallback)
	if !h.Exists {
		h.Schema = fallback
	}
	return h, err
}

// Trapped reports whether other tools, connecting as the same role, would
// not use the build system's table.
func (h History) Trapped() bool { return h.Creates != h.Schema }

// Warnings explain what other tools connecting as the same role would get
// wrong, and what to do about it: CopyWarnings, then TrapWarnings.
func (h History) Warnings(tool, addr string) []string {
	return append(h.CopyWarnings(addr), h.TrapWarnings(tool, addr)...)
}

// CopyWarnings name the other copies of the table, which the build system
// ignores (addr is the database).
func (h History) CopyWarnings(addr string) []string {
	if len(h.Copies) == 0 {
		return nil
	}
	var names []string
	for _, s := range h.Copies {
		names = append(names, h.In(s))
	}
	return []string{fmt.Sprintf("%s has %d more %s table(s): %s; the build system keeps its history in %s (the first one created) and ignores the others (a tool whose search_path put another schema first created them); once nothing uses them, drop them (DROP TABLE %s;)",
		addr, len(h.Copies), h.Table, strings.Join(names, ", "), h.Name(), strings.Join(names, ", "))}
}

// TrapWarnings say, when a session of the role would not use the build
// system's table, why, what tool would do then, and the fix.
func (h History) TrapWarnings(tool, addr string) []string {
	if !h.Trapped() {
		return nil
	}
	where := "no schema of it exists"
	if h.Creates != "" {
		where = fmt.Sprintf("the plain name %s means %s", h.Table, h.In(h.Creates))
		if h.Creates == h.User {
			where += ` (a schema named like the role exists, and "$user" comes first)`
		}
	}
	return []string{fmt.Sprintf("%s keeps its migration history in %s, but a session as %s has search_path %s, so %s: %s would not find the history there and would run every migration again. The build system reads and writes %s only; for other tools add %s to their DATABASE_URL, or run ALTER ROLE %s SET search_path = %s (for every session of the role)",
		addr, h.Name(), h.User, h.SearchPath, where, tool, h.Name(), SearchPathOption(h.Schema), pgx.Identifier{h.User}.Sanitize(), pgx.Identifier{h.Schema}.Sanitize())}
}

// StatusWarnings are what status and check print on every run: the copies
// of the table, and the search_path trap in one line (db:migrate explains
// it in full when it arises).
func (h History) StatusWarnings(tool, addr string) []string {
	w := h.CopyWarnings(addr)
	if h.Trapped() {
		w = append(w, fmt.Sprintf("%s: history in %s, which sessions as %s do not see by its plain name; for %s, add %s to DATABASE_URL",
			addr, h.Name(), h.User, tool, SearchPathOption(h.Schema)))
	}
	return w
}

// SearchPathOption is the URL parameter that gives a session search_path
// schema (libpq, pgx, sqlx and golang-migrate all pass options on).
func SearchPathOption(schema string) string {
	// %20, not +: libpq decodes only %XX in a URL
	return "options=" + strings.ReplaceAll(url.QueryEscape("-c search_path="+schema), "+", "%20")
}

// RecordedElsewhere refuses to run pending versions that another copy of
// the history records as applied (a tool caught by the search_path trap
// applied them there): running them again would fail half-way, or worse.
// elsewhere maps such versions to the copy's schema; fix says how to move
// the record into h.
func (o Options) RecordedElsewhere(h History, elsewhere map[int64]string, fix string) error {
	if len(elsewhere) == 0 {
		return nil
	}
	var versions []int64
	for v := range elsewhere {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	bySchema := map[string][]string{}
	var schemas []string
	for _, v := range versions {
		s := elsewhere[v]
		if bySchema[s] == nil {
			schemas = append(schemas, s)
		}
		bySchema[s] = append(bySchema[s], fmt.Sprint(v))
	}
	var where []string
	for _, s := range schemas {
		where = append(where, fmt.Sprintf("%s records %s", h.In(s), strings.Join(bySchema[s], ", ")))
	}
	msg := fmt.Sprintf("%s has pending migrations that already ran: %s as applied, but %s, the history the build system keeps, does not (a tool whose search_path put another schema first recorded them there)",
		o.URL.Addr(), strings.Join(where, "; "), h.Name())
	if fix == "" {
		return fail.New(fail.Failed, "%s", msg)
	}
	return fail.New(fail.Failed, "refusing to run them again: %s; %s, then run %s", msg, fix, o.Command("db:migrate"))
}

// Compare is a layout's Status: it finds tool's history in conn's
// database, compares it with the directory (compare returns the pending
// versions other copies of the table record as applied, too), and warns
// about those.
func (o Options) Compare(ctx context.Context, conn *pgx.Conn, tool Tool, layout source.Layout,
	compare func(History) (source.Status, map[int64]string, error)) (source.Status, error) {
	h, err := FindHistory(ctx, conn, tool)
	if err != nil {
		return source.Status{Layout: layout, Version: -1}, err
	}
	st, elsewhere, err := compare(h)
	if err == nil {
		if e := o.RecordedElsewhere(h, elsewhere, ""); e != nil {
			st.Warnings = append(st.Warnings, e.Error())
		}
	}
	return st, err
}
