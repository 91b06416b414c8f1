package pg

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// contrib is PostgreSQL's own contrib modules, shipped with the server
// packages.
var contrib = []string{"adminpack", "amcheck", "autoinc", "bloom", "btree_gin", "btree_gist", "citext", "cube",
	"dblink", "dict_int", "dict_xsyn", "earthdistance", "file_fdw", "fuzzystrmatch", "hstore", "insert_username",
	"intagg", "intarray", "isn", "lo", "ltree", "moddatetime", "pageinspect", "pg_buffercache", "pg_freespacemap",
	"pg_prewarm", "pg_stat_statements", "pg_surgery", "pg_trgm", "pg_visibility", "pg_walinspect", "pgcrypto",
	"pgrowlocks", "pgstattuple", "postgres_fdw", "refint", "seg", "sslinfo", "tablefunc", "tcn", "tsm_system_rows",
	"tsm_system_time", "unaccent", "uuid-ossp", "xml2"}

// installHints says how to get an extension onto a server of major version
// v (%[1]s in the text): the one table of such hints.
var installHints = map[string]string{
	"pgmq": "pgmq is pure SQL, and Debian's archive has no package for it: build it with `git clone https://github.com/pgmq/pgmq && cd pgmq/pgmq-extension && make && sudo make install` " +
		"(it installs into the server found by pg_config on PATH; Debian/Ubuntu need postgresql-server-dev-%[1]s), or `pgxn install pgmq`; " +
		"packaged as postgresql-%[1]s-pgmq (Debian/Ubuntu) and pgmq_%[1]s (RHEL) in the Pigsty repository; pgmq's images ghcr.io/pgmq/pg17-pgmq and pg18-pgmq have it",
	"pg_uuidv7": "PostgreSQL 18 has uuidv7() built in; pg_uuidv7 is packaged as postgresql-18-pg-uuidv7 (Debian forky/sid, Ubuntu 26.04); " +
		"for PostgreSQL %[1]s build it with `git clone https://github.com/fboulnois/pg_uuidv7 && cd pg_uuidv7 && make && sudo make install` " +
		"(needs postgresql-server-dev-%[1]s on Debian/Ubuntu), or `pgxn install pg_uuidv7`",
	"vector":  "install postgresql-%[1]s-pgvector (Debian/Ubuntu) or pgvector (Homebrew)",
	"postgis": "install postgresql-%[1]s-postgis-3 (Debian/Ubuntu) or postgis (Homebrew)",
}

// InstallHint says how to get extension ext for PostgreSQL major version
// v (0 when unknown).
func InstallHint(ext string, v int) string {
	major := "<major>"
	if v > 0 {
		major = fmt.Sprint(v)
	}
	hint, ok := installHints[ext]
	switch {
	case ok:
		return fmt.Sprintf(hint, major)
	case slices.Contains(contrib, ext):
		return fmt.Sprintf("it is one of PostgreSQL's contrib modules: install postgresql-%[1]s (Debian/Ubuntu, which include them), postgresql%[1]s-contrib (RHEL) or postgresql@%[1]s (Homebrew)", major)
	}
	return fmt.Sprintf("install the package that provides it for PostgreSQL %[1]s (Debian/Ubuntu: apt-cache search postgresql-%[1]s); its files go into the server's `pg_config --sharedir`/extension", major)
}

// MissingExtensions returns those of names the server conn is connected
// to can neither create (pg_available_extensions lists its control files)
// nor already has in the database, and the server's major version.
func MissingExtensions(ctx context.Context, conn *pgx.Conn, names []string) (missing []string, major int, err error) {
	if len(names) == 0 {
		return nil, 0, nil
	}
	rows, err := conn.Query(ctx, `
		SELECT n FROM unnest($1::text[]) AS n
		WHERE NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = n)
		  AND NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = n)`, names)
	if err != nil {
		return nil, 0, err
	}
	if missing, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, 0, err
	}
	err = conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int / 10000`).Scan(&major)
	return missing, major, err
}
