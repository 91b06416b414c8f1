package pg

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

const file = `-- header
CREATE TABLE a (id int);
CREATE TABLE b (id int);
INSERT INTO missing VALUES (1);
CREATE TABLE c (id int);
DO $$
BEGIN
  UPDATE ghost SET x = 1;
END;
$$;
-- tail`

func TestDescribeFindsTheLine(t *testing.T) {
	pos := strings.Index(file, "INSERT") + 13 // characters, 1-based
	cases := []struct {
		name string
		err  error
		line int
	}{
		{"position", &pgconn.PgError{Severity: "ERROR", Code: "42P01", Message: `relation "missing" does not exist`, Position: int32(pos)}, 4},
		{"internal query", &pgconn.PgError{Severity: "ERROR", Code: "42P01", Message: `relation "ghost" does not exist`, InternalQuery: "UPDATE ghost SET x = 1"}, 8},
		{"quoted name, skipping comments", &pgconn.PgError{Severity: "ERROR", Code: "42P07", Message: `relation "c" already exists`}, 5},
		{"nothing to go on", &pgconn.PgError{Severity: "ERROR", Code: "XX000", Message: "internal"}, 0},
		{"not a server error", errors.New("conn closed"), 0},
	}
	for _, c := range cases {
		_, line := Describe(fmt.Errorf("wrapped: %w", c.err), []byte(file))
		if line != c.line {
			t.Errorf("%s: line %d, want %d", c.name, line, c.line)
		}
	}
}

func TestExcerptAndFailure(t *testing.T) {
	ex := Excerpt([]byte(file), 4, 1)
	want := "    3 | CREATE TABLE b (id int);\n  > 4 | INSERT INTO missing VALUES (1);\n    5 | CREATE TABLE c (id int);"
	if ex != want {
		t.Errorf("excerpt:\n%s\nwant:\n%s", ex, want)
	}
	if Excerpt([]byte(file), 0, 2) != "" {
		t.Error("excerpt for an unknown line")
	}
	f := &Failure{File: "db/migrations/0002_x.up.sql", SQL: []byte(file),
		Err:   &pgconn.PgError{Severity: "ERROR", Code: "42P01", Message: `relation "missing" does not exist`, Hint: "create it"},
		State: "dirty at version 2", Fix: "mage db:force 1"}
	msg := f.Error()
	for _, w := range []string{"migration db/migrations/0002_x.up.sql failed: ERROR: relation \"missing\" does not exist (SQLSTATE 42P01); hint: create it (line 4)", "> 4 |", "state: dirty", "fix:   mage db:force 1"} {
		if !strings.Contains(msg, w) {
			t.Errorf("lacks %q:\n%s", w, msg)
		}
	}
	if strings.Contains(msg, "-- tail") {
		t.Error("excerpt shows the whole file")
	}
}

func TestKeyForIsStable(t *testing.T) {
	if KeyFor("migrate") == KeyFor("template") || KeyFor("migrate") != KeyFor("migrate") {
		t.Error("keys collide or drift")
	}
}
