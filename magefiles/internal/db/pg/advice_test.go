package pg

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestFixFor(t *testing.T) {
	cases := []struct {
		code, msg, want string
	}{
		{"42883", "function uuid_generate_v4() does not exist", `uuid_generate_v4 comes from the extension uuid-ossp: add CREATE EXTENSION IF NOT EXISTS "uuid-ossp";`},
		{"42883", "function pgmq.create(unknown) does not exist", `pgmq.create comes from the extension pgmq: add CREATE EXTENSION IF NOT EXISTS "pgmq";`},
		{"3F000", `schema "pgmq" does not exist`, `pgmq comes from the extension pgmq`},
		{"42704", `type "citext" does not exist`, `citext comes from the extension citext`},
		{"42704", `operator class "gin_trgm_ops" does not exist for access method "gin"`, `gin_trgm_ops comes from the extension pg_trgm`},
		{"42883", "function my_helper(integer) does not exist", "function my_helper(integer) does not exist: create it in an earlier migration (or earlier in this file), or, if an extension provides it, add CREATE EXTENSION IF NOT EXISTS <extension>;"},
		{"42P01", `relation "missing" does not exist`, "correct f.sql, then run mage db:migrate"},
		{"0A000", `extension "pgmq" is not available`, "the server does not have the extension pgmq: pgmq is pure SQL"},
		{"42883", "function uuidv7() does not exist", "uuidv7() is built into PostgreSQL 18; older servers need the extension pg_uuidv7"},
		{"42883", "function uuid_generate_v7() does not exist", "uuid_generate_v7 comes from the extension pg_uuidv7"},
	}
	for _, c := range cases {
		got := FixFor(&pgconn.PgError{Code: c.code, Message: c.msg}, "f.sql", "mage db:migrate")
		if !strings.Contains(got, c.want) || !strings.Contains(got, "mage db:migrate") {
			t.Errorf("%s: %s", c.msg, got)
		}
	}
	if got := FixFor(errors.New("conn closed"), "f.sql", "mage db:migrate"); got != "correct f.sql, then run mage db:migrate" {
		t.Errorf("not a server error: %s", got)
	}
}

// Every hint names the server's major version where it matters.
func TestInstallHint(t *testing.T) {
	for ext, want := range map[string]string{
		"pgmq":       "postgresql-server-dev-15",
		"pg_uuidv7":  "PostgreSQL 18 has uuidv7() built in",
		"uuid-ossp":  "contrib modules: install postgresql-15",
		"vector":     "postgresql-15-pgvector",
		"no_such_xt": "apt-cache search postgresql-15",
	} {
		if got := InstallHint(ext, 15); !strings.Contains(got, want) || strings.Contains(got, "%!") {
			t.Errorf("%s: %s", ext, got)
		}
	}
}
